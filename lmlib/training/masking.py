"""BERT's masked language modelling: choose positions, corrupt them 80/10/10, predict them.

Dims: B batch, T tokens, V vocabulary.

Each position is chosen with probability ``rate`` (BERT: 15%). A chosen position becomes the
[MASK] id 80% of the time, a uniformly random token 10% of the time, and stays as it was the
remaining 10%; the loss is taken at the chosen positions only. Labels use -100 ("ignore") at
every other position, the convention of ``torch.nn.functional.cross_entropy``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lmlib.models.encoder import Encoder
from lmlib.models.transformer import TransformerConfig

IGNORE = -100  # label of a position the loss skips


def _check_ids(idx: Tensor, vocab_size: int, mask_id: int) -> None:
    if not isinstance(idx, Tensor) or idx.dtype not in (torch.long, torch.int32):
        raise TypeError(f"idx must be an integer tensor of token ids, got {type(idx).__name__}")
    if vocab_size < 2:
        raise ValueError(f"vocab_size must be >= 2, got {vocab_size}")
    if not 0 <= mask_id < vocab_size:
        raise ValueError(f"mask_id={mask_id} must be a token id in [0, vocab_size={vocab_size})")
    if idx.numel() and (int(idx.min()) < 0 or int(idx.max()) >= vocab_size):
        raise ValueError(
            f"token ids must lie in [0, {vocab_size}); got min {int(idx.min())}, "
            f"max {int(idx.max())}"
        )


def mask_tokens(
    idx: Tensor,
    rate: float,
    mask_id: int,
    vocab_size: int,
    generator: torch.Generator | None = None,
    mask_share: float = 0.8,
    random_share: float = 0.1,
) -> tuple[Tensor, Tensor]:
    """idx (B, T) -> inputs (B, T) and labels (B, T): the original id where chosen, else -100.

    Draws, in this order, from ``generator``: u = rand(idx.shape) chooses (u < rate); a =
    rand(idx.shape) picks the action of a chosen position (a < mask_share: [MASK]; a <
    mask_share + random_share: a random id); r = randint(vocab_size, idx.shape) the random ids.
    A random id may equal the original (as in BERT).
    """
    _check_ids(idx, vocab_size, mask_id)
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"rate must be a probability in [0, 1], got {rate}")
    if mask_share < 0 or random_share < 0 or mask_share + random_share > 1:
        raise ValueError(
            f"mask_share={mask_share} and random_share={random_share} must be >= 0 and sum to "
            "at most 1 (the rest of the chosen positions stay as they are)"
        )
    dev = idx.device  # the draws are made where idx is (a CUDA generator for CUDA ids)
    chosen = torch.rand(idx.shape, generator=generator, device=dev) < rate
    action = torch.rand(idx.shape, generator=generator, device=dev)
    random_ids = torch.randint(vocab_size, idx.shape, generator=generator, device=dev)
    to_mask = chosen & (action < mask_share)
    to_random = chosen & (action >= mask_share) & (action < mask_share + random_share)
    inputs = torch.where(to_mask, torch.full_like(idx, mask_id), idx)
    inputs = torch.where(to_random, random_ids.to(idx.dtype), inputs)
    labels = torch.where(chosen, idx, torch.full_like(idx, IGNORE))
    return inputs, labels


def masked_lm_loss(logits: Tensor, labels: Tensor) -> Tensor:
    """logits (N, V) or (B, T, V), labels (N,) or (B, T) with -100 at skipped positions -> the
    mean cross-entropy over the labelled positions (0 when there are none)."""
    if logits.shape[:-1] != labels.shape:
        raise ValueError(
            f"logits {tuple(logits.shape)} must be labels {tuple(labels.shape)} plus a "
            "vocabulary axis"
        )
    keep = labels != IGNORE
    if not bool(keep.any()):
        return logits.sum() * 0.0  # keeps the graph: nothing chosen, nothing learned
    return F.cross_entropy(logits[keep].float(), labels[keep])


class MaskedLM(nn.Module):
    """BERT's objective around an Encoder: ``forward(idx)`` -> {"loss", "accuracy"}.

    ``all_tokens=False`` (BERT): the tied head runs only at the chosen positions, the loss is
    theirs. ``all_tokens=True`` (All-Tokens MLM): the same corrupted input, but the model
    predicts the identity of every token, so every position gives a learning signal.
    """

    def __init__(
        self, cfg: TransformerConfig, mask_id: int, rate: float = 0.15, all_tokens: bool = False
    ):
        super().__init__()
        self.encoder = Encoder(cfg)
        self.mask_id, self.rate, self.all_tokens = mask_id, rate, all_tokens
        _check_ids(torch.zeros(1, dtype=torch.long), cfg.vocab_size, mask_id)

    def forward(self, idx: Tensor, generator: torch.Generator | None = None) -> dict[str, Tensor]:
        V = self.encoder.config.vocab_size
        inputs, labels = mask_tokens(idx, self.rate, self.mask_id, V, generator)
        if self.all_tokens:
            labels = idx
        keep = labels != IGNORE  # (B, T)
        logits = self.encoder.head(self.encoder.encode(inputs)[keep])  # (N, V)
        loss = masked_lm_loss(logits, labels[keep])
        with torch.no_grad():
            accuracy = (logits.argmax(-1) == labels[keep]).float().mean()
        return {"loss": loss, "accuracy": accuracy}

    def flops_per_token(self, T: int | None = None) -> float:
        return self.encoder.flops_per_token(T, head_share=1.0 if self.all_tokens else self.rate)
