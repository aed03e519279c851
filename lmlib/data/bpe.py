"""Byte-level byte-pair encoding (BPE): merges learned from bytes, so any UTF-8 text encodes.

Every string is first UTF-8 bytes, ids 0..255; training repeatedly replaces the most frequent
adjacent pair of ids with a new id (256, 257, ...). Text is cut into chunks (a word with its
leading space, a run of digits, a run of punctuation, whitespace) and no merge crosses a chunk
boundary, the pre-tokenization GPT-2 uses. With ``split_digits=True`` every digit is a chunk of
its own, so no token holds two digits.
"""

from __future__ import annotations

import heapq
import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path

import torch

from lmlib.runtime.files import atomic_write

FORMAT = "lmlib-bpe-1"
_LETTERS = r"[^\W\d_]+"  # word characters that are neither digits nor the underscore
_CHUNKS = r"'(?:[sdmt]|ll|ve|re)| ?{letters}| ?{digits}| ?(?:[^\s\w]|_)+|\s+(?!\S)|\s+"
CHUNK = re.compile(_CHUNKS.format(letters=_LETTERS, digits=r"\d+"))
CHUNK_DIGITS = re.compile(_CHUNKS.format(letters=_LETTERS, digits=r"\d"))


def chunks(text: str, split_digits: bool = False) -> list[str]:
    """Cut text into the pieces merges stay inside; the pieces join back into `text`."""
    return (CHUNK_DIGITS if split_digits else CHUNK).findall(text)


def merge(ids: Sequence[int], pair: tuple[int, int], new_id: int) -> list[int]:
    """Replace each occurrence of `pair` in `ids`, scanning left to right, by `new_id`.

    merge([1, 1, 1, 2], (1, 1), 9) -> [9, 1, 2]: occurrences never overlap.
    """
    out, i = [], 0
    while i < len(ids):
        if i + 1 < len(ids) and ids[i] == pair[0] and ids[i + 1] == pair[1]:
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


def encode_chunk(ids: Sequence[int], merges: dict[tuple[int, int], int]) -> list[int]:
    """Apply learned merges to one chunk's byte ids, earliest-learned merge first.

    `merges` maps a pair to the id it became; ids grow in the order merges were learned, so the
    pair present with the smallest new id is the one training merged first.
    """
    ids = list(ids)
    while len(ids) >= 2:
        pair = min(zip(ids, ids[1:]), key=lambda p: merges.get(p, float("inf")))
        if pair not in merges:
            break
        ids = merge(ids, pair, merges[pair])
    return ids


def learn_merges(words: Counter[bytes] | dict[bytes, int], n_merges: int) -> list[tuple[int, int]]:
    """The merges of BPE training on chunks counted with their frequency.

    Each step merges the most frequent adjacent pair (ties: the smallest pair); only the chunks
    holding that pair are recounted, and a heap of (-count, pair) finds the next best pair.
    """
    seqs = [list(w) for w in words]
    freqs = list(words.values())
    counts: Counter[tuple[int, int]] = Counter()
    where: dict[tuple[int, int], set[int]] = defaultdict(set)
    for w, (ids, f) in enumerate(zip(seqs, freqs)):
        for p in zip(ids, ids[1:]):
            counts[p] += f
            where[p].add(w)
    heap = [(-c, p) for p, c in counts.items()]
    heapq.heapify(heap)
    merges: list[tuple[int, int]] = []
    while len(merges) < n_merges and heap:
        neg, best = heapq.heappop(heap)
        if counts.get(best, 0) != -neg:  # a stale entry: the count changed since it was pushed
            continue
        new_id = 256 + len(merges)
        merges.append(best)
        changed = set()
        for w in where.pop(best):
            ids, f = seqs[w], freqs[w]
            for p in zip(ids, ids[1:]):
                counts[p] -= f
                changed.add(p)
            seqs[w] = ids = merge(ids, best, new_id)
            for p in zip(ids, ids[1:]):
                counts[p] += f
                where[p].add(w)
                changed.add(p)
        for p in changed:
            if counts[p] > 0:
                heapq.heappush(heap, (-counts[p], p))
            else:
                del counts[p]
    return merges


class BPETokenizer:
    """Byte-level BPE: 256 byte ids, then one id per learned merge, then the special tokens.

    >>> tok = BPETokenizer().train(text, vocab_size=512, special_tokens=["<|endoftext|>"])
    >>> tok.decode(tok.encode("any UTF-8 text, even 東京")) == "any UTF-8 text, even 東京"
    True
    """

    def __init__(
        self,
        merges: Iterable[tuple[int, int]] = (),
        special_tokens: Iterable[str] = (),
        split_digits: bool = False,
    ):
        self.merges = [tuple(p) for p in merges]
        self.split_digits = bool(split_digits)
        self.vocab = [bytes([b]) for b in range(256)]
        for i, (a, b) in enumerate(self.merges):
            if not (0 <= a < 256 + i and 0 <= b < 256 + i):
                raise ValueError(f"merge {i} {(a, b)} uses an id not made before it")
            self.vocab.append(self.vocab[a] + self.vocab[b])
        self.ranks = {p: 256 + i for i, p in enumerate(self.merges)}
        specials = list(special_tokens)
        for s in specials:
            if not isinstance(s, str) or not s:
                raise ValueError(f"special tokens must be non-empty strings, got {s!r}")
        if len(set(specials)) != len(specials):
            raise ValueError(f"special tokens must be distinct, got {specials}")
        self.special_tokens = {s: len(self.vocab) + i for i, s in enumerate(specials)}
        self.special_ids = {i: s for s, i in self.special_tokens.items()}
        by_length = sorted(specials, key=len, reverse=True)  # the longest special matches first
        self._special = re.compile("|".join(map(re.escape, by_length))) if specials else None
        self._cache: dict[str, list[int]] = {}

    @property
    def vocab_size(self) -> int:
        return len(self.vocab) + len(self.special_tokens)

    def train(
        self,
        text: str,
        vocab_size: int,
        special_tokens: Iterable[str] = (),
        *,
        split_digits: bool | None = None,
    ) -> BPETokenizer:
        """Learn vocab_size - 256 - len(special_tokens) merges from `text`; returns self.

        Special tokens in `text` are cut out before counting, so no merge learns them. Text with
        fewer distinct pairs than merges asked for gives a smaller vocabulary (see vocab_size).
        """
        if not isinstance(text, str):
            raise TypeError(f"train takes a str, got {type(text).__name__}")
        if not text:
            raise ValueError("train needs non-empty text")
        if isinstance(special_tokens, str):
            raise TypeError(
                f"special_tokens takes a list of strings, not the str {special_tokens!r}"
            )
        specials = list(special_tokens)
        if not isinstance(vocab_size, int) or vocab_size < 256 + len(specials):
            raise ValueError(
                f"vocab_size={vocab_size} must be an int >= 256 bytes + {len(specials)} special "
                f"tokens = {256 + len(specials)}"
            )
        split = self.split_digits if split_digits is None else split_digits
        pieces = re.split("|".join(map(re.escape, specials)), text) if specials else [text]
        words = Counter(c.encode("utf-8") for piece in pieces for c in chunks(piece, split))
        merges = learn_merges(words, vocab_size - 256 - len(specials))
        self.__init__(merges, specials, split)
        return self

    def encode(self, text: str) -> list[int]:
        """str -> list of ids; special tokens written in `text` become their own ids."""
        if not isinstance(text, str):
            raise TypeError(f"encode takes a str, got {type(text).__name__}")
        ids: list[int] = []
        start = 0
        for m in self._special.finditer(text) if self._special else ():
            ids += self._encode_ordinary(text[start : m.start()])
            ids.append(self.special_tokens[m.group()])
            start = m.end()
        return ids + self._encode_ordinary(text[start:])

    def _encode_ordinary(self, text: str) -> list[int]:
        ids: list[int] = []
        for c in chunks(text, self.split_digits):
            if c not in self._cache:
                self._cache[c] = encode_chunk(c.encode("utf-8"), self.ranks)
            ids += self._cache[c]
        return ids

    def token_bytes(self, i: int) -> bytes:
        """The bytes token `i` stands for (a special token's UTF-8 bytes)."""
        if not isinstance(i, int) or not 0 <= i < self.vocab_size:
            raise ValueError(f"token id {i!r} is not an int in [0, {self.vocab_size})")
        return self.vocab[i] if i < len(self.vocab) else self.special_ids[i].encode("utf-8")

    def decode(self, ids: Iterable[int] | torch.Tensor) -> str:
        """ids -> str; byte sequences that are not valid UTF-8 decode to U+FFFD."""
        if isinstance(ids, torch.Tensor):
            if ids.dim() != 1:
                raise ValueError(f"decode takes a 1-D tensor of ids, got shape {tuple(ids.shape)}")
            ids = ids.tolist()
        return b"".join(self.token_bytes(i) for i in ids).decode("utf-8", errors="replace")

    def save(self, path: str | Path) -> None:
        """Write merges, special tokens and the digit rule as JSON."""
        state = {
            "format": FORMAT,
            "split_digits": self.split_digits,
            "merges": [list(p) for p in self.merges],
            "special_tokens": list(self.special_tokens),
        }
        with atomic_write(path, "w") as f:
            json.dump(state, f)

    @classmethod
    def load(cls, path: str | Path) -> BPETokenizer:
        """Read a tokenizer written by save; a file of any other kind raises ValueError."""
        try:
            state = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ValueError(f"cannot read a BPE tokenizer from {path}: {e}") from None
        if not isinstance(state, dict) or state.get("format") != FORMAT:
            raise ValueError(f"{path} is not a BPETokenizer file (no format {FORMAT!r})")
        return cls(state["merges"], state["special_tokens"], state["split_digits"])

    def __repr__(self) -> str:
        return (
            f"BPETokenizer(vocab_size={self.vocab_size}, merges={len(self.merges)}, "
            f"special_tokens={list(self.special_tokens)}, split_digits={self.split_digits})"
        )
