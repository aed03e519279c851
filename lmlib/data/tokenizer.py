"""Tokenizers: one id per distinct character (CharTokenizer) or word (WordTokenizer)."""

from __future__ import annotations

from collections.abc import Iterable

import torch


class CharTokenizer:
    """Maps characters to ids 0..V-1 in sorted order of the characters seen in training text."""

    def __init__(self, chars: Iterable[str]):
        self.chars = sorted(set(chars))
        if not self.chars:
            raise ValueError("a tokenizer needs at least one character; got an empty vocabulary")
        if any(len(c) != 1 for c in self.chars):
            raise ValueError("CharTokenizer takes single characters")
        self.stoi = {c: i for i, c in enumerate(self.chars)}

    @classmethod
    def from_text(cls, text: str) -> CharTokenizer:
        return cls(text)

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> torch.Tensor:
        """str -> (N,) int64 ids; raises ValueError naming characters outside the vocabulary."""
        try:
            return torch.tensor([self.stoi[c] for c in text], dtype=torch.long)
        except KeyError:
            unknown = sorted({c for c in text if c not in self.stoi})
            raise ValueError(
                f"characters {unknown!r} are not in the vocabulary of {self.vocab_size} characters"
            ) from None

    def decode(self, ids: torch.Tensor | Iterable[int]) -> str:
        """(N,) ids -> str."""
        if isinstance(ids, torch.Tensor):
            if ids.dim() != 1:
                raise ValueError(f"decode takes a 1-D tensor of ids, got shape {tuple(ids.shape)}")
            ids = ids.tolist()
        try:
            return "".join(self.chars[i] for i in ids)
        except (IndexError, TypeError):
            raise ValueError(f"ids must be ints in [0, {self.vocab_size})") from None


class WordTokenizer:
    """Maps whole words to ids 0..V-1 in the order they are first listed (duplicates ignored)."""

    def __init__(self, words: Iterable[str]):
        self.words = list(dict.fromkeys(words))
        if not self.words:
            raise ValueError("a tokenizer needs at least one word; got an empty vocabulary")
        if any(not isinstance(w, str) or not w for w in self.words):
            raise ValueError("WordTokenizer takes non-empty strings")
        self.stoi = {w: i for i, w in enumerate(self.words)}

    @property
    def vocab_size(self) -> int:
        return len(self.words)

    def encode(self, words: Iterable[str]) -> list[int]:
        """list of words -> list of ids; raises ValueError naming words outside the vocabulary."""
        if isinstance(words, str):
            raise TypeError("encode takes a list of words, not a string; split it first")
        words = list(words)
        try:
            return [self.stoi[w] for w in words]
        except KeyError:
            unknown = sorted({w for w in words if w not in self.stoi})
            raise ValueError(
                f"words {unknown!r} are not in the vocabulary of {self.vocab_size} words"
            ) from None

    def decode(self, ids: torch.Tensor | Iterable[int]) -> list[str]:
        """ids (a list or a 1-D tensor) -> list of words."""
        if isinstance(ids, torch.Tensor):
            if ids.dim() != 1:
                raise ValueError(f"decode takes a 1-D tensor of ids, got shape {tuple(ids.shape)}")
            ids = ids.tolist()
        ids = list(ids)
        if any(not isinstance(i, int) or not 0 <= i < self.vocab_size for i in ids):
            raise ValueError(f"ids must be ints in [0, {self.vocab_size})")
        return [self.words[i] for i in ids]


def check_ids(idx: torch.Tensor, context: int | None = None) -> None:
    """Refuse what no language model here can read: idx must be (B, T) integer token ids, with
    T <= context when a context is given. Every model's forward starts with this check."""
    if idx.dim() != 2:
        raise ValueError(f"idx must be (B, T) token ids, got shape {tuple(idx.shape)}")
    if idx.dtype not in (torch.long, torch.int32):
        raise TypeError(f"idx must hold integer token ids (torch.long), got {idx.dtype}")
    if context is not None and idx.shape[1] > context:
        raise ValueError(
            f"sequence length {idx.shape[1]} exceeds the model's context={context}; "
            f"crop the input to its last {context} tokens"
        )
