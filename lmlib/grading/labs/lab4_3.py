"""Lab 4.3, distillation: the temperature-scaled soft cross-entropy, the cosine loss on output
states and the combined soft-plus-gold objective. Each answer is checked on its value and,
through a backward pass, on its gradients (the teacher must receive none).

Dims: B batch, T tokens, V vocabulary, Ds student width, Dt teacher width.
"""

from __future__ import annotations

import torch

from lmlib.grading.spec import Case, Exercise, draw
from lmlib.training.distill import cosine_state_loss, soft_and_gold_loss, soft_cross_entropy

LAB = "4_3_distillation"


def _temperature(rng: torch.Generator) -> float:
    return round(0.5 + 4 * float(torch.rand((), generator=rng)), 3)


def _soft_cases(rng: torch.Generator) -> list[Case]:
    cases = []
    for B, T, V, scale, temperature in [
        (2, 3, 7, 2.0, 2.0),
        (1, 4, 5, 3.0, 4.0),
        (2, 2, 11, 4.0, 1.0),
        (3, 1, 6, 1.5, 0.5),
        (draw(rng, 2, 3), 2 * draw(rng, 4, 12) + 1, draw(rng, 9, 40), 2.0, _temperature(rng)),
        (1, 1, 2, 1.0, _temperature(rng)),
    ]:
        s = torch.randn(B, T, V, generator=rng) * scale
        t = torch.randn(B, T, V, generator=rng) * scale
        cases.append(Case((s, t, temperature)))
    return cases


def _cosine_cases(rng: torch.Generator) -> list[Case]:
    cases = []
    for B, T, ds, dt, project in [
        (2, 3, 4, 6, True),
        (1, 5, 5, 5, True),
        (2, 2, 8, 3, True),
        (3, 2, 6, 6, False),
        (draw(rng, 2, 3), 2 * draw(rng, 4, 12) + 1, draw(rng, 5, 9), draw(rng, 2, 9), True),
        (1, 1, 3, 3, False),
    ]:
        hs = torch.randn(B, T, ds, generator=rng)
        ht = torch.randn(B, T, dt, generator=rng)
        w = torch.randn(dt, ds, generator=rng) / ds**0.5 if project else None
        cases.append(Case((hs, ht, w)))
    return cases


def _combined_cases(rng: torch.Generator) -> list[Case]:
    cases = []
    for B, T, V, alpha, temperature in [
        (2, 3, 7, 0.5, 2.0),
        (1, 4, 9, 0.9, 4.0),
        (2, 2, 5, 0.2, 3.0),
        (2, 3, 6, 1.0, 2.0),
        (2, 3, 6, 0.0, 2.0),
        (draw(rng, 2, 3), 2 * draw(rng, 4, 12) + 1, draw(rng, 9, 40), 0.3, _temperature(rng)),
        (1, 1, 3, 0.7, _temperature(rng)),
    ]:
        s = torch.randn(B, T, V, generator=rng) * 2
        t = torch.randn(B, T, V, generator=rng) * 3
        y = torch.randint(0, V, (B, T), generator=rng)
        cases.append(Case((s, y, t, alpha, temperature)))
    return cases


EXERCISES = [
    Exercise(
        name="soft_cross_entropy",
        cases=_soft_cases,
        reference=soft_cross_entropy,
        grads=(0, 1),
        rules="Return a 0-dim tensor: T^2 times the mean over the B * T positions of "
        "-sum_v softmax(teacher / T)_v log softmax(student / T)_v; the teacher gets no gradient.",
    ),
    Exercise(
        name="cosine_state_loss",
        cases=_cosine_cases,
        reference=cosine_state_loss,
        grads=(0, 1, 2),
        rules="Return a 0-dim tensor: the mean over positions of 1 - cos(student @ weight.T, "
        "teacher) (no projection when weight is None); the teacher gets no gradient.",
    ),
    Exercise(
        name="soft_and_gold_loss",
        cases=_combined_cases,
        reference=soft_and_gold_loss,
        grads=(0, 2),
        rules="Return a 0-dim tensor: alpha * the soft cross-entropy at temperature T plus "
        "(1 - alpha) * the gold cross-entropy at temperature 1.",
    ),
]
