"""Turning logits into text: one sampling step with temperature and top-k, and a generation loop.

Dims: B batch, T tokens, V vocabulary.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from lmlib.runtime.device import evaluating


def sampling_probs(logits: Tensor, temperature: float, top_k: int | None = None) -> Tensor:
    """logits (B, V) -> probabilities (B, V) of the next token, rows summing to 1.

    Divide by temperature (> 0), then keep only the top_k largest logits (the rest get
    probability 0); top_k None keeps all.
    """
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0 here (0 means greedy), got {temperature}")
    logits = logits.float() / temperature
    if top_k is not None and top_k < logits.shape[-1]:
        kth = logits.topk(top_k, dim=-1).values[..., -1:]  # (B, 1)
        logits = logits.masked_fill(logits < kth, float("-inf"))
    return logits.softmax(dim=-1)


def sample_next(
    logits: Tensor,
    temperature: float = 1.0,
    top_k: int | None = None,
    generator: torch.Generator | None = None,
) -> Tensor:
    """logits (B, V) -> next ids (B,). temperature 0 is greedy; top_k keeps the k likeliest."""
    if logits.dim() != 2:
        raise ValueError(f"logits must be (B, V), got {tuple(logits.shape)}")
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    if top_k is not None and top_k < 1:
        raise ValueError(f"top_k must be >= 1 or None, got {top_k}")
    if temperature == 0:
        return logits.argmax(dim=-1)
    probs = sampling_probs(logits, temperature, top_k)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


@torch.no_grad()
def generate(
    model: nn.Module,
    idx: Tensor,
    max_new_tokens: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    generator: torch.Generator | None = None,
    cache: bool = True,
) -> Tensor:
    """Extend idx (B, T) by max_new_tokens sampled tokens -> (B, T + max_new_tokens).

    The model sees at most its last `model.context` tokens. A model with `new_cache()` keeps a KV
    cache (unless cache=False), so that each step reads only the newest token; once the sequence
    outgrows the context, the window slides and every step reads it whole, as without a cache.
    """
    if max_new_tokens < 0:
        raise ValueError(f"max_new_tokens must be >= 0, got {max_new_tokens}")
    device = next(model.parameters()).device
    idx = idx.to(device)
    kv = model.new_cache() if cache and hasattr(model, "new_cache") else None
    seen = 0  # how many leading tokens of idx the cache holds
    with evaluating(model):
        for _ in range(max_new_tokens):
            if kv is not None and idx.shape[1] <= model.context:
                logits = model(idx[:, seen:], cache=kv)[:, -1, :]  # (B, V), new tokens only
                seen = idx.shape[1]
            else:
                logits = model(idx[:, -model.context :])[:, -1, :]  # (B, V)
            next_id = sample_next(logits.cpu(), temperature, top_k, generator).to(device)
            idx = torch.cat([idx, next_id[:, None]], dim=1)
    return idx
