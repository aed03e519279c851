"""Lab 1.3, scaling curves and emergence: a power law with a known floor; per-token accuracy.

Dims: N items, T tokens, V vocabulary.
"""

from __future__ import annotations

import torch

from lmlib.analysis.power_law import fit_given_floor, power_law
from lmlib.analysis.probes import token_accuracy
from lmlib.grading.spec import Case, Exercise, draw, predictions

LAB = "1_3_scaling_and_emergence"


def _fit_cases(rng: torch.Generator) -> list[Case]:
    cases = []
    u = torch.rand(3, generator=rng, dtype=torch.float64).tolist()
    for n, l_inf, a, alpha, noise in [
        (5, 1.2, 30.0, 0.3, 0.0),
        (6, 0.0, 8.0, 0.5, 0.01),
        (4, 2.5, 400.0, 0.2, 0.02),
        (7, 0.8, 5.0, 0.1, 0.01),
        (draw(rng, 9, 15), 3 * u[0], 1 + 100 * u[1], 0.05 + 0.6 * u[2], 0.01),  # fresh
        (2, 0.5, 10.0, 0.4, 0.0),  # two points: the line through them
    ]:
        lo = float(torch.rand((), generator=rng)) * 4
        x = torch.logspace(lo, lo + 6, n, dtype=torch.float64)
        y = power_law(x, l_inf, a, alpha)
        y = l_inf + (y - l_inf) * (1 + noise * torch.randn(n, generator=rng, dtype=torch.float64))
        cases.append(Case((x, y, l_inf)))
    return cases


def _acc_cases(rng: torch.Generator) -> list[Case]:
    cases = []
    fresh = [(draw(rng, 2, 9), draw(rng, 9, 30), draw(rng, 2, 40)), (1, 1, draw(rng, 2, 5))]
    for N, T, V in [(5, 6, 7), (3, 9, 12), (8, 4, 5), *fresh]:
        logits, targets = predictions(N, T, V, 0.6, rng)
        answer = torch.rand(N, T, generator=rng) < 0.4
        answer[0, 0] = True
        cases.append(Case((logits, targets, answer)))
    logits, targets = predictions(3, 4, 5, 0.6, rng)  # no answer token at all: accuracy 0
    cases.append(Case((logits, targets, torch.zeros(3, 4, dtype=torch.bool))))
    return cases


EXERCISES = [
    Exercise(
        name="fit_given_floor",
        cases=_fit_cases,
        reference=fit_given_floor,
        atol=1e-9,
        rtol=1e-8,  # a fit in float32 is off by about 1e-6
        rules="Return (a, alpha) as two Python floats, alpha > 0 for a falling loss; fit in "
        "float64, the inputs' dtype.",
    ),
    Exercise(
        name="token_accuracy",
        cases=_acc_cases,
        reference=token_accuracy,
        rules="Return a Python float: right answer tokens / all answer tokens (0.0 when there "
        "is no answer token).",
    ),
]
