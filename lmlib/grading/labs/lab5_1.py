"""Lab 5.1, incentives: expected reward of each action, the optimal action, the REINFORCE loss.

Dims: N questions, A = 3 actions (answer, hedge, abstain). A reward table is a plain dict with
the keys correct, hedged_correct, abstain, hedged_wrong, wrong.
"""

from __future__ import annotations

import torch

from lmlib.grading.spec import Case, Exercise, draw, shuffled
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
    """The lab's tables and fresh ones, each with its keys in a fresh order."""
    tables = [PENALTY, ACCURACY, MILD, _random_table(rng), _random_table(rng)]
    return [shuffled(t, rng) for t in tables]


def _expected_cases(rng: torch.Generator) -> list[Case]:
    cases = [Case((torch.tensor([0.0, 0.25, 0.5, 0.8, 1.0]), shuffled(PENALTY, rng)))]
    sizes = (7, 5, 9, draw(rng, 9, 40), 1)
    cases += [Case((torch.rand(n, generator=rng), t)) for n, t in zip(sizes, _tables(rng))]
    cases.append(Case((torch.zeros(0), shuffled(_random_table(rng), rng))))  # no questions
    return cases


def _ties(table: dict[str, float]) -> list[float]:
    """The confidences in [0, 1] where two actions have the same expected reward."""
    cuts = [crossover(table, a, b) for a in range(3) for b in range(a + 1, 3)]
    return [c for c in cuts if c is not None and 0 <= c <= 1]


def _optimal_cases(rng: torch.Generator) -> list[Case]:
    """Random confidences, and the ties themselves (every crossover), where any best is right."""
    cases = []
    for t in _tables(rng):
        p = torch.cat([torch.rand(draw(rng, 1, 40), generator=rng), torch.tensor(_ties(t))])
        cases.append(Case((p[torch.randperm(len(p), generator=rng)], t)))
    cases.append(Case((torch.rand(1, generator=rng), cases[0].args[1])))  # one question
    cases.append(Case((torch.zeros(0), cases[1].args[1])))  # none
    return cases


def accepts_any_best(case: Case, expected: object, got: object) -> str | None:
    """An (N,) int64 tensor whose every action has the highest expected reward (within 1e-5 of
    it): where two actions tie, either is right."""
    if type(got) is not torch.Tensor:
        return f"expected a torch.Tensor of action indices, got {type(got).__name__}"
    if got.dtype != torch.int64 or tuple(got.shape) != tuple(expected.shape):
        return f"expected an int64 tensor (dtype torch.int64) of shape {tuple(expected.shape)}, " \
            f"got {got.dtype} {tuple(got.shape)}"  # fmt: skip
    if bool(((got < 0) | (got > 2)).any()):
        return "actions are 0 (answer), 1 (hedge) or 2 (abstain)"
    rewards = expected_rewards(*case.args).double()  # (N, 3)
    chosen = rewards.gather(-1, got[:, None])[:, 0]
    worse = chosen < rewards.max(dim=-1).values - 1e-5  # float32 rounding is no preference
    if bool(worse.any()):
        i = int(worse.nonzero()[0])
        return (
            f"{int(worse.sum())} of {len(got)} actions are not optimal; first at index {i}: "
            f"p = {float(case.args[0][i]):.6g}, expected rewards {rewards[i].tolist()}, "
            f"chose {int(got[i])}"
        )
    return None


def _pg_cases(rng: torch.Generator) -> list[Case]:
    cases = []
    for n, baseline in [(6, 0.0), (8, 0.7), (5, None), (draw(rng, 9, 40), None), (1, 0.3)]:
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
        rules="Return an (N, 3) tensor of p's dtype: columns answer, hedge, abstain; look the "
        "table's entries up by key (their order varies).",
    ),
    Exercise(
        name="optimal_action",
        cases=_optimal_cases,
        reference=optimal_action,
        accepts=accepts_any_best,
        rules="Return an (N,) int64 tensor of action indices: 0 answer, 1 hedge, 2 abstain. "
        "Where two actions tie for the best expected reward, either is right.",
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
