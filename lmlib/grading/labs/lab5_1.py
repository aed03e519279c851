"""Lab 5.1, incentives: expected reward of each action, the optimal action, the REINFORCE loss.

Dims: N questions, A = 3 actions (answer, hedge, abstain). A reward table is a plain dict with
the keys correct, hedged_correct, abstain, hedged_wrong, wrong.
"""

from __future__ import annotations

import torch

from lmlib.grading.spec import Case, Exercise
from lmlib.rewards.qa import (
    ACCURACY,
    KEYS,
    PENALTY,
    crossover,
    expected_rewards,
    optimal_action,
    policy_gradient_loss,
)

LAB = "5_1_incentives"
MILD = dict(PENALTY, hedged_wrong=-1.0)  # a table with a band where hedging is best


def _random_table(rng: torch.Generator) -> dict[str, float]:
    values = (torch.rand(5, generator=rng) * 4 - 2).tolist()
    return {k: round(v, 3) for k, v in zip(KEYS, values)}


def _tables(rng: torch.Generator) -> list[dict[str, float]]:
    return [PENALTY, ACCURACY, MILD, _random_table(rng)]


def _expected_cases(rng: torch.Generator) -> list[Case]:
    cases = [Case((torch.tensor([0.0, 0.25, 0.5, 0.8, 1.0]), PENALTY))]
    cases += [Case((torch.rand(n, generator=rng), t)) for n, t in zip((7, 5, 9, 6), _tables(rng))]
    cases += [Case((torch.rand(8, generator=rng), _random_table(rng))) for _ in range(2)]
    return cases


def _away_from_ties(p: torch.Tensor, table: dict[str, float]) -> torch.Tensor:
    """Drop confidences within 1e-3 of a crossover, where rounding could flip the best action."""
    cuts = [crossover(table, a, b) for a in range(3) for b in range(a + 1, 3)]
    keep = torch.ones_like(p, dtype=torch.bool)
    for c in cuts:
        if c is not None:
            keep &= (p - c).abs() > 1e-3
    return p[keep]


def _optimal_cases(rng: torch.Generator) -> list[Case]:
    cases = []
    for t in _tables(rng) + [_random_table(rng)]:
        cases.append(Case((_away_from_ties(torch.rand(40, generator=rng), t), t)))
    return cases


def _pg_cases(rng: torch.Generator) -> list[Case]:
    cases = []
    for n, baseline in [(6, 0.0), (8, 0.7), (5, None)]:
        logits = torch.randn(n, 3, generator=rng) * 2
        actions = torch.randint(0, 3, (n,), generator=rng)
        rewards = torch.randn(n, generator=rng) * 2
        b = rewards.mean() if baseline is None else baseline  # a float, or a 0-dim tensor
        cases.append(Case((logits, actions, rewards, b)))
    return cases


EXERCISES = [
    Exercise(
        name="expected_rewards",
        cases=_expected_cases,
        reference=expected_rewards,
        rules="Return an (N, 3) float tensor: columns answer, hedge, abstain.",
    ),
    Exercise(
        name="optimal_action",
        cases=_optimal_cases,
        reference=optimal_action,
        rules="Return an (N,) int64 tensor of action indices: 0 answer, 1 hedge, 2 abstain.",
    ),
    Exercise(
        name="policy_gradient_loss",
        cases=_pg_cases,
        reference=policy_gradient_loss,
        grads=(0,),
        rules="Return a 0-dim tensor: the mean over the batch of -(reward - baseline) log pi(a), "
        "which backpropagates to the logits (its gradient is checked too).",
    ),
]
