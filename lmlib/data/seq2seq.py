"""Two synthetic sequence-to-sequence tasks, generated deterministically, with held-out sets.

- ``fact_lookup``: long input, short target. The input lists facts ``key=value`` (one token
  each) and ends with a question ``? key``; the target is that key's value. Inputs of
  n_facts + 2 tokens, targets of 2 (the value, then end of sequence).
- ``lexicon_translation``: target longer than input. Each source word maps through a fixed
  lexicon to two target symbols and the word order is reversed (a toy translation between
  languages of opposite word order). Inputs of n_words tokens, targets of 2 * n_words + 1.

Token ids 0 and 1 are the decoder's begin-of-sequence and the end-of-sequence marks in both tasks.
Dims: N examples, S input tokens, T target tokens, B batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

BOS, EOS = 0, 1
_MARKS = ("<bos>", "<eos>")


@dataclass(frozen=True)
class Seq2SeqTask:
    """A task's vocabulary and its train and held-out sets: src (N, S), tgt (N, T) token ids.

    The held-out inputs never occur in the training set.
    """

    name: str
    vocab: tuple[str, ...]
    train_src: Tensor
    train_tgt: Tensor
    test_src: Tensor
    test_tgt: Tensor

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    @property
    def src_len(self) -> int:
        return self.train_src.shape[1]

    @property
    def tgt_len(self) -> int:
        return self.train_tgt.shape[1]

    def batch(self, batch_size: int, gen: torch.Generator) -> tuple[Tensor, Tensor]:
        """A random training batch: src (B, S), tgt (B, T)."""
        i = torch.randint(0, self.train_src.shape[0], (batch_size,), generator=gen)
        return self.train_src[i], self.train_tgt[i]

    def decode(self, ids: Tensor) -> str:
        """One row of token ids (S,) or (T,) -> text, tokens separated by spaces."""
        return " ".join(self.vocab[i] for i in ids.tolist())


def decoder_input(tgt: Tensor) -> Tensor:
    """tgt (B, T) -> what the decoder reads (B, T): <bos>, then the target shifted right by one."""
    return torch.cat([torch.full_like(tgt[:, :1], BOS), tgt[:, :-1]], dim=1)


def exact_match(pred: Tensor, tgt: Tensor) -> float:
    """Share of rows of pred (N, T) equal to tgt (N, T) at every position."""
    _check_pair(pred, tgt)
    return (pred == tgt).all(dim=1).float().mean().item()


def token_accuracy(pred: Tensor, tgt: Tensor) -> float:
    """Share of positions of pred (N, T) equal to tgt (N, T)."""
    _check_pair(pred, tgt)
    return (pred == tgt).float().mean().item()


def _check_pair(pred: Tensor, tgt: Tensor) -> None:
    if pred.shape != tgt.shape or pred.dim() != 2:
        raise ValueError(
            f"pred and tgt must both be (N, T) with the same shape, got {tuple(pred.shape)} "
            f"and {tuple(tgt.shape)}; decode exactly tgt.shape[1] tokens"
        )


def _split(
    make, n_train: int, n_test: int, seed: int, max_tries: int = 50
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Draw n_test held-out examples, then n_train training ones whose inputs are not held out."""
    if n_train < 1 or n_test < 1:
        raise ValueError(f"need n_train >= 1 and n_test >= 1, got {n_train} and {n_test}")
    gen = torch.Generator().manual_seed(seed)
    test_src, test_tgt = make(n_test, gen)
    held_out = {tuple(row) for row in test_src.tolist()}
    src_parts, tgt_parts, have = [], [], 0
    for _ in range(max_tries):
        src, tgt = make(n_train, gen)
        keep = torch.tensor([tuple(row) not in held_out for row in src.tolist()])
        src_parts.append(src[keep])
        tgt_parts.append(tgt[keep])
        have += int(keep.sum())
        if have >= n_train:
            return (
                torch.cat(src_parts)[:n_train],
                torch.cat(tgt_parts)[:n_train],
                test_src,
                test_tgt,
            )
    raise ValueError(
        f"could not draw {n_train} training inputs outside the {n_test} held-out ones; "
        "the task's input space is too small: make the inputs longer or the sets smaller"
    )


def fact_lookup(
    n_train: int = 20_000,
    n_test: int = 512,
    n_facts: int = 8,
    n_keys: int = 8,
    n_values: int = 4,
    seed: int = 0,
) -> Seq2SeqTask:
    """Input ``k1=v1 ... k_n=v_n ? k`` (one token per fact, distinct keys), target ``v <eos>``
    where k = k_i: the value the input gives the key asked about."""
    if not 1 <= n_facts <= n_keys or n_values < 1:
        raise ValueError(
            f"need 1 <= n_facts <= n_keys and n_values >= 1, got n_facts={n_facts}, "
            f"n_keys={n_keys}, n_values={n_values}: keys in one input must be distinct"
        )
    vocab = _MARKS + ("?",) + tuple(f"k{i}" for i in range(n_keys))
    vocab += tuple(f"v{i}" for i in range(n_values))
    vocab += tuple(f"k{i}=v{j}" for i in range(n_keys) for j in range(n_values))
    ask, key0, value0, fact0 = 2, 3, 3 + n_keys, 3 + n_keys + n_values

    def make(n: int, gen: torch.Generator) -> tuple[Tensor, Tensor]:
        keys = torch.rand(n, n_keys, generator=gen).argsort(dim=1)[:, :n_facts]  # (N, n_facts)
        values = torch.randint(0, n_values, (n, n_facts), generator=gen)
        which = torch.randint(0, n_facts, (n, 1), generator=gen)
        facts = fact0 + keys * n_values + values  # (N, n_facts)
        question = torch.cat([torch.full_like(which, ask), keys.gather(1, which) + key0], dim=1)
        answer = values.gather(1, which) + value0
        return torch.cat([facts, question], 1), torch.cat([answer, torch.full_like(which, EOS)], 1)

    return Seq2SeqTask("fact_lookup", vocab, *_split(make, n_train, n_test, seed))


def lexicon_translation(
    n_train: int = 20_000,
    n_test: int = 512,
    n_words: int = 6,
    n_source: int = 16,
    n_symbols: int = 8,
    seed: int = 0,
) -> Seq2SeqTask:
    """Input ``w1 ... w_n``, target ``lex(w_n) ... lex(w1) <eos>``, lex(w) a fixed symbol pair."""
    if n_words < 1 or not 1 <= n_source <= n_symbols**2:
        raise ValueError(
            f"need n_words >= 1 and 1 <= n_source <= n_symbols**2 = {n_symbols**2} (each source "
            f"word gets its own pair of symbols), got n_words={n_words}, n_source={n_source}"
        )
    vocab = _MARKS + tuple(f"w{i}" for i in range(n_source))
    vocab += tuple(f"s{i}" for i in range(n_symbols))
    word0, symbol0 = 2, 2 + n_source
    pairs = torch.randperm(n_symbols**2, generator=torch.Generator().manual_seed(10_000 + seed))
    lexicon = torch.stack([pairs[:n_source] // n_symbols, pairs[:n_source] % n_symbols], 1)

    def make(n: int, gen: torch.Generator) -> tuple[Tensor, Tensor]:
        words = torch.randint(0, n_source, (n, n_words), generator=gen)  # (N, S)
        target = (lexicon[words.flip(1)] + symbol0).flatten(1)  # (N, 2 S)
        return words + word0, torch.cat([target, torch.full_like(words[:, :1], EOS)], 1)

    return Seq2SeqTask("lexicon_translation", vocab, *_split(make, n_train, n_test, seed))


TASKS = {"fact_lookup": fact_lookup, "lexicon_translation": lexicon_translation}
