"""Lab 1.2, next-token prediction is multitask learning: split the loss by task; exact match.

Dims: N items (or B sequences), T tokens, V vocabulary, K tasks.
"""

from __future__ import annotations

import torch

from lmlib.analysis.probes import exact_match, shares_and_losses
from lmlib.grading.spec import Case, Exercise, draw, predictions

LAB = "1_2_multitask_learning"


def _split_cases(rng: torch.Generator) -> list[Case]:
    cases = []
    fresh = [((draw(rng, 2, 5), draw(rng, 10, 31)), draw(rng, 5, 12)), ((1, draw(rng, 1, 8)), 1)]
    for shape, K in [((2, 6), 3), ((4, 5), 4), ((1, 9), 2), ((3, 7), 6), *fresh]:
        losses = torch.rand(*shape, generator=rng) * 5
        labels = torch.randint(0, K, shape, generator=rng)
        labels.view(-1)[:K] = torch.randperm(K, generator=rng)  # every task occurs
        cases.append(Case((losses, labels, K)))
    uneven = torch.tensor([[0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 2, 2]])
    cases.append(Case((torch.rand(2, 6, generator=rng) * 3, uneven, 3)))
    K = draw(rng, 3, 9)  # the first and the last task never occur: share 0, mean loss 0
    labels = torch.randint(1, K - 1, (3, draw(rng, 10, 15)), generator=rng)
    cases.append(Case((torch.rand(*labels.shape, generator=rng) * 4, labels, K)))
    return cases


def _exact_cases(rng: torch.Generator) -> list[Case]:
    cases = []
    fresh = [(draw(rng, 2, 9), draw(rng, 9, 25), draw(rng, 2, 40)), (1, 1, draw(rng, 2, 5))]
    for N, T, V in [(6, 5, 7), (4, 8, 11), (8, 3, 4), *fresh]:
        logits, targets = predictions(N, T, V, 0.8, rng)  # mostly right
        answer = torch.rand(N, T, generator=rng) < 0.5
        answer[:, -1] = True
        cases.append(Case((logits, targets, answer)))
    cases.append(_tricky_exact_case(rng))
    cases.append(_late_error_case(rng))
    return cases


def _late_error_case(rng: torch.Generator) -> Case:
    """A long sequence, right everywhere but one answer token past the eighth position."""
    T, V = draw(rng, 10, 30), draw(rng, 3, 20)
    targets = torch.randint(0, V, (3, T), generator=rng)
    shown = targets.clone()
    late = draw(rng, 8, T - 1)
    shown[1, late] = (targets[1, late] + 1) % V
    logits = torch.randn(3, T, V, generator=rng) + torch.nn.functional.one_hot(shown, V) * 10
    answer = torch.zeros(3, T, dtype=torch.bool)
    answer[:, late:] = True
    return Case((logits, targets, answer))


def _tricky_exact_case(rng: torch.Generator) -> Case:
    """Rows that random cases only sometimes contain, so plausible wrong answers always fail:
    all right; last right but an earlier answer token wrong; wrong only outside the answer;
    only the first answer token right."""
    N, T, V = 4, 5, 6
    targets = torch.randint(0, V, (N, T), generator=rng)
    wrong = torch.zeros(N, T, dtype=torch.bool)
    wrong[1, 1] = wrong[2, 0] = wrong[2, 2] = wrong[3, 3] = wrong[3, 4] = True
    shown = torch.where(wrong, (targets + 1) % V, targets)
    logits = torch.randn(N, T, V, generator=rng) + torch.nn.functional.one_hot(shown, V) * 10
    answer = torch.zeros(N, T, dtype=torch.bool)
    answer[:, [1, 3, 4]] = True
    order = torch.randperm(N, generator=rng)  # rows in a fresh order each time
    return Case((logits[order], targets[order], answer[order]))


EXERCISES = [
    Exercise(
        name="shares_and_losses",
        cases=_split_cases,
        reference=shares_and_losses,
        atol=1e-5,
        rules="Return (shares, mean losses), two (K,) float64 tensors; labels lie in 0..K-1; "
        "a task with no tokens has share 0 and mean loss 0.",
    ),
    Exercise(
        name="exact_match",
        cases=_exact_cases,
        reference=exact_match,
        rules="Return an (N,) bool tensor: True where every answer token's argmax is its target.",
    ),
]
