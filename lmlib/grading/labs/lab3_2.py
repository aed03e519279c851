"""Lab 3.2, why the MLP and why 4x: the MLP block.

Dims: B batch, T tokens, D model width, F = expansion * D hidden width.
"""

from __future__ import annotations

import torch

from lmlib.grading.spec import Case, Exercise, draw
from lmlib.models.mlp import MLP

LAB = "3_2_mlp"


def _mlp_cases(rng: torch.Generator) -> list[Case]:
    return [
        Case((torch.randn(B, T, D, generator=rng) * 2,), init=(D, e))
        # fractional widths: 6 * 1.3 = 7.8 and 5 * 1.5 = 7.5 round up to 8, int() gives 7
        for B, T, D, e in [
            (2, 5, 8, 4),
            (1, 3, 6, 2),
            (2, 4, 4, 1.5),
            (1, 3, 6, 1.3),
            (2, 2, 5, 1.5),
            (draw(rng, 2, 3), 2 * draw(rng, 4, 12) + 1, draw(rng, 7, 13), draw(rng, 2, 5)),
            (1, 1, 3, 1),
        ]
    ]


EXERCISES = [
    Exercise(
        name="MLP",
        cases=_mlp_cases,
        reference=MLP,
        module=True,
        rules="Keep the attributes up = nn.Linear(D, F) and down = nn.Linear(F, D), "
        "F = int(round(expansion * D)), with the exact GELU between them.",
    ),
]
