"""The language-modelling objective: cross-entropy of each position's next token.

Dims: B batch, T tokens, V vocabulary.
"""

from __future__ import annotations

import math

import torch.nn.functional as F
from torch import Tensor


def next_token_loss(logits: Tensor, targets: Tensor) -> Tensor:
    """logits (B, T, V), targets (B, T) -> mean of -log p(target) over all B * T positions."""
    if logits.dim() != 3 or targets.shape != logits.shape[:2]:
        raise ValueError(
            f"logits must be (B, T, V) and targets (B, T); got {tuple(logits.shape)} "
            f"and {tuple(targets.shape)}"
        )
    return F.cross_entropy(logits.flatten(0, 1).float(), targets.flatten())


def token_losses(logits: Tensor, targets: Tensor) -> Tensor:
    """logits (B, T, V), targets (B, T) -> (B, T) loss -log p(target) at every position."""
    if logits.dim() != 3 or targets.shape != logits.shape[:2]:
        raise ValueError(
            f"logits must be (B, T, V) and targets (B, T); got {tuple(logits.shape)} "
            f"and {tuple(targets.shape)}"
        )
    return F.cross_entropy(logits.float().transpose(1, 2), targets, reduction="none")


def bits_per_byte(loss: float, n_tokens: int, n_bytes: int) -> float:
    """Mean loss in nats per token -> bits per byte of text: loss * n_tokens / n_bytes / ln 2.

    Losses per token of two tokenizers are not comparable (a token of one may hold five bytes of
    the other's); the cost of encoding the same text in bits is.
    """
    if n_tokens < 1 or n_bytes < 1:
        raise ValueError(f"n_tokens and n_bytes must be >= 1, got {n_tokens} and {n_bytes}")
    return loss * n_tokens / n_bytes / math.log(2)
