"""Lab 4.1, encoder-decoder vs decoder-only: cross-attention, the prefix-LM mask, one cached step.

Dims: B batch, S input (or cached) tokens, T target tokens, D model width, H heads, K = D // H.
"""

from __future__ import annotations

import torch
from torch import Tensor

from lmlib.grading.labs.lab3_1 import FUSED_ATTENTION, FUSED_MHA
from lmlib.grading.spec import Case, Exercise, draw
from lmlib.models.attention import attention
from lmlib.models.encdec import CrossAttention, prefix_lm_mask
from lmlib.models.kv_cache import KVCache

LAB = "4_1_encoder_decoder"


def kv_cache_step(
    q: Tensor, k: Tensor, v: Tensor, k_cache: Tensor, v_cache: Tensor
) -> tuple[Tensor, Tensor, Tensor]:
    """One decoding step with a KV cache, through lmlib's KVCache and attention.

    q, k, v (B, H, 1, K) of the new token; k_cache, v_cache (B, H, S, K) of the S earlier ones
    -> the new token's output (B, H, 1, K) and the grown cache (B, H, S + 1, K) twice.
    """
    cache = KVCache(k_cache.shape[2] + 1)
    cache.append(k_cache, v_cache)
    keys, values = cache.append(k, v)  # (B, H, S + 1, K)
    visible = torch.ones(1, keys.shape[2], dtype=torch.bool)  # the newest token sees them all
    return attention(q, keys, values, visible), keys, values


def _randn(rng: torch.Generator, *shape: int) -> Tensor:
    return torch.randn(*shape, generator=rng) * 2


def _cross_cases(rng: torch.Generator) -> list[Case]:
    return [
        Case((_randn(rng, B, T, D), _randn(rng, B, S, D)), init=(D, H))
        for B, T, S, D, H in [
            (2, 3, 5, 12, 3),
            (1, 4, 2, 8, 2),
            (2, 1, 6, 6, 1),
            (draw(rng, 2, 3), 2 * draw(rng, 4, 9) + 1, draw(rng, 9, 20), 5 * 3, 3),  # K = 5
            (1, 1, 1, 4, 2),
        ]
    ]


def _mask_cases(rng: torch.Generator) -> list[Case]:
    fresh = [(draw(rng, 5, 20), draw(rng, 5, 20)), (0, draw(rng, 1, 4)), (draw(rng, 1, 4), 0)]
    return [Case((S, T)) for S, T in [(2, 3), (4, 1), (1, 4), (3, 3), *fresh]]


def _step_cases(rng: torch.Generator) -> list[Case]:
    cases = []
    fresh = [(draw(rng, 2, 3), draw(rng, 1, 4), draw(rng, 9, 40), draw(rng, 5, 9)), (1, 1, 0, 4)]
    for B, H, S, K in [(2, 3, 4, 5), (1, 2, 1, 4), (2, 1, 6, 3), *fresh]:  # S = 0: empty cache
        q, k, v = (_randn(rng, B, H, 1, K) for _ in range(3))
        cases.append(Case((q, k, v, _randn(rng, B, H, S, K), _randn(rng, B, H, S, K))))
    return cases


_NO_MHA = "build it from qkv, the attention math and proj"
_NO_SDPA = "write the scores, softmax and weighted sum yourself"

EXERCISES = [
    Exercise(
        name="CrossAttention",
        cases=_cross_cases,
        reference=CrossAttention,
        module=True,
        forbidden={
            "torch.nn.MultiheadAttention": _NO_MHA,
            "torch.nn.modules.activation.MultiheadAttention": _NO_MHA,
            "torch.nn.functional.multi_head_attention_forward": _NO_MHA,
            "torch.nn.TransformerDecoderLayer": _NO_MHA,
        },
        forbidden_ops=dict.fromkeys(FUSED_MHA, _NO_MHA),
        rules="Keep the attributes qkv = nn.Linear(D, 3D) (rows: queries, keys, values) and "
        "proj = nn.Linear(D, D); queries come from x, keys and values from memory; no mask.",
    ),
    Exercise(
        name="prefix_lm_mask",
        cases=_mask_cases,
        reference=prefix_lm_mask,
        rules="Return a bool (S + T, S + T) tensor, True where position i may attend to j.",
    ),
    Exercise(
        name="kv_cache_step",
        cases=_step_cases,
        reference=kv_cache_step,
        forbidden={
            "torch.nn.functional.scaled_dot_product_attention": _NO_SDPA,
            "torch._C._nn.scaled_dot_product_attention": _NO_SDPA,
        },
        forbidden_ops=dict.fromkeys(FUSED_ATTENTION + FUSED_MHA, _NO_SDPA),
        rules="Append the new key and value at the end of the cache, then attend over all of it.",
    ),
]
