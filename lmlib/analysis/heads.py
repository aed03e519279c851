"""What each attention head does: its recorded weights, how far back it looks, how widely.

Dims: B batch, L layers, H heads, T queries and keys (causal self-attention: key s <= query t).

For query t with weights w_ts (a row that sums to 1), the look-back is sum_s w_ts (t - s) tokens
and the entropy is -sum_s w_ts log2 w_ts bits; a head's score is the mean over queries (and
windows). A head that puts all its weight on the previous token looks back 1 and has entropy 0;
one that spreads it evenly over the past looks back t / 2 at query t, (T - 1) / 4 on average, with
entropy log2(t + 1).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from lmlib.runtime.device import evaluating


@torch.no_grad()
def record_weights(lm: nn.Module, idx: Tensor) -> Tensor:
    """idx (B, T) -> the attention weights of every block's heads, (B, L, H, T, T) on the CPU.

    `lm` is a TransformerLM (anything with `blocks`, each with an `attn` that has
    `keep_weights`). Its mode and its attention settings are restored afterwards.
    """
    blocks = getattr(lm, "blocks", None)
    if blocks is None or not all(hasattr(b, "attn") for b in blocks) or len(blocks) == 0:
        raise TypeError(
            f"record_weights needs a TransformerLM (blocks with an attn), got {type(lm).__name__}"
        )
    if idx.dim() != 2:
        raise ValueError(f"idx must be (B, T) token ids, got shape {tuple(idx.shape)}")
    kept = [b.attn.keep_weights for b in blocks]
    try:
        for block in blocks:
            block.attn.keep_weights = True
        with evaluating(lm):
            lm(idx.to(next(lm.parameters()).device))
        return torch.stack([b.attn.last_weights.cpu() for b in blocks], dim=1)
    finally:
        for block, keep in zip(blocks, kept):
            block.attn.keep_weights = keep


def _check(weights: Tensor) -> int:
    if weights.dim() < 2 or weights.shape[-1] != weights.shape[-2]:
        raise ValueError(
            f"weights must be (..., T, T), a row per query and a column per key; got "
            f"{tuple(weights.shape)}"
        )
    return weights.shape[-1]


def lookback(weights: Tensor) -> Tensor:
    """(..., T, T) -> (...): mean over queries t of sum_s w_ts (t - s), in tokens."""
    t = torch.arange(_check(weights), device=weights.device)
    distance = (t[:, None] - t[None, :]).to(weights.dtype)  # (T, T); negative above the diagonal
    return (weights * distance).sum(-1).mean(-1)


def entropy_bits(weights: Tensor) -> Tensor:
    """(..., T, T) -> (...): mean over queries of the entropy of their weights, in bits."""
    _check(weights)
    return -(weights * torch.log2(weights.clamp_min(1e-12))).sum(-1).mean(-1)


def head_stats(lm: nn.Module, idx: Tensor) -> tuple[Tensor, Tensor]:
    """idx (B, T) -> (look-back in tokens, entropy in bits), each (L, H): the mean over all
    queries of all B windows."""
    w = record_weights(lm, idx)  # (B, L, H, T, T)
    return lookback(w).mean(0), entropy_bits(w).mean(0)


def uniform_lookback(T: int) -> float:
    """The look-back of a head that spreads its weight evenly over the past: (T - 1) / 4."""
    return (T - 1) / 4


def uniform_entropy(T: int) -> float:
    """Its entropy in bits: the mean over t = 0 .. T - 1 of log2(t + 1)."""
    return torch.log2(torch.arange(1, T + 1, dtype=torch.float64)).mean().item()
