"""Lab 3.1, multi-head attention: heads, the causal mask, attention, the module.

Dims: B batch, T tokens, D model width, H heads, K = D // H head width.
"""

from __future__ import annotations

import torch

from lmlib.grading.spec import Case, Exercise, draw
from lmlib.models.attention import (
    MultiHeadAttention,
    attention,
    causal_mask,
    merge_heads,
    split_heads,
)

LAB = "3_1_multihead_attention"


def _randn(rng: torch.Generator, *shape: int) -> torch.Tensor:
    return torch.randn(*shape, generator=rng)


def _split_cases(rng: torch.Generator) -> list[Case]:
    H = draw(rng, 2, 5)
    return [
        Case((_randn(rng, B, T, D), H))
        for B, T, D, H in [
            (2, 5, 12, 3),
            (1, 7, 8, 4),
            (3, 2, 6, 6),
            (draw(rng, 2, 4), 2 * draw(rng, 4, 12) + 1, H * draw(rng, 5, 9), H),  # fresh
            (1, 1, 5, 1),
        ]
    ]


def _merge_cases(rng: torch.Generator) -> list[Case]:
    return [
        Case((_randn(rng, B, H, T, K),))
        for B, H, T, K in [
            (2, 3, 5, 4),
            (1, 4, 7, 2),
            (2, 1, 3, 5),
            (draw(rng, 2, 4), draw(rng, 2, 5), 2 * draw(rng, 4, 12) + 1, draw(rng, 5, 9)),
            (1, 1, 1, 3),
        ]
    ]


def _mask_cases(rng: torch.Generator) -> list[Case]:
    return [Case((T,)) for T in (1, 4, 7, draw(rng, 9, 20), 2 * draw(rng, 10, 30) + 1)]


def _attention_cases(rng: torch.Generator) -> list[Case]:
    cases = []
    for B, H, T, K, causal in [
        (2, 3, 5, 4, True),
        (1, 2, 6, 8, False),
        (2, 1, 4, 3, True),
        (draw(rng, 2, 3), draw(rng, 1, 4), 2 * draw(rng, 5, 12) + 1, draw(rng, 5, 9), True),
        (1, 1, draw(rng, 9, 16), draw(rng, 1, 3), False),
        (1, 2, 1, 6, True),
    ]:
        q, k, v = (_randn(rng, B, H, T, K) * 2 for _ in range(3))
        if causal:
            mask = causal_mask(T)
        else:  # a random pattern catches answers that ignore the mask they are given
            mask = (torch.rand(T, T, generator=rng) < 0.5) | torch.eye(T, dtype=torch.bool)
        cases.append(Case((q, k, v, mask)))
    return cases


def _mha_cases(rng: torch.Generator) -> list[Case]:
    H = draw(rng, 2, 4)
    return [
        Case((_randn(rng, B, T, D),), init=(D, H))
        for B, T, D, H in [
            (2, 5, 12, 3),
            (1, 6, 8, 2),
            (draw(rng, 2, 3), 2 * draw(rng, 5, 10) + 1, H * draw(rng, 5, 7), H),  # fresh
            (1, 1, 6, 1),
        ]
    ]


_NO_SDPA = "write the scores, mask, softmax and weighted sum yourself"
_NO_MHA = "build it from qkv, your heads and attention functions, and proj"
# the kernels behind F.scaled_dot_product_attention and torch's fused multi-head attention: each
# does the whole exercise in one call, whichever route (torch.ops.aten, torch._C) reaches it
FUSED_ATTENTION = (
    "scaled_dot_product_attention",
    "_scaled_dot_product_attention_math",
    "_scaled_dot_product_flash_attention",
    "_scaled_dot_product_flash_attention_for_cpu",
    "_scaled_dot_product_efficient_attention",
    "_scaled_dot_product_cudnn_attention",
    "_scaled_dot_product_fused_attention_overrideable",
    "_masked_softmax",
)
FUSED_MHA = ("_native_multi_head_attention", "_transformer_encoder_layer_fwd")

EXERCISES = [
    Exercise(name="split_heads", cases=_split_cases, reference=split_heads),
    Exercise(name="merge_heads", cases=_merge_cases, reference=merge_heads),
    Exercise(
        name="causal_mask",
        cases=_mask_cases,
        reference=causal_mask,
        rules="Return a bool tensor: True where query t may look at key s (s <= t).",
    ),
    Exercise(
        name="attention",
        cases=_attention_cases,
        reference=attention,
        forbidden={
            "torch.nn.functional.scaled_dot_product_attention": _NO_SDPA,
            "torch._C._nn.scaled_dot_product_attention": _NO_SDPA,
        },
        forbidden_ops=dict.fromkeys(FUSED_ATTENTION + FUSED_MHA, _NO_SDPA),
        rules="F.scaled_dot_product_attention is not allowed; the mask given is the one to use.",
    ),
    Exercise(
        name="MultiHeadAttention",
        cases=_mha_cases,
        reference=MultiHeadAttention,
        module=True,
        forbidden={
            "torch.nn.MultiheadAttention": _NO_MHA,
            "torch.nn.modules.activation.MultiheadAttention": _NO_MHA,
            "torch.nn.functional.multi_head_attention_forward": _NO_MHA,
            "torch.nn.TransformerEncoderLayer": _NO_MHA,
            "torch.nn.TransformerDecoderLayer": _NO_MHA,
        },
        forbidden_ops=dict.fromkeys(FUSED_MHA, _NO_MHA),
        rules="Keep the attributes qkv = nn.Linear(D, 3D) and proj = nn.Linear(D, D); "
        "torch.nn.MultiheadAttention is not allowed (F.scaled_dot_product_attention is).",
    ),
]
