"""A character-level tokenizer: one token id per distinct character of a corpus."""

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
