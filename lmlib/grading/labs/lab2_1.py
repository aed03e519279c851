"""Lab 2.1, the dominant driving force: an exponential trend's doubling time, an n-gram's
add-k next-token distribution, and the budget at which one loss curve crosses another.

Dims: N points of a trend, V vocabulary, n - 1 context tokens, M compute budgets.
"""

from __future__ import annotations

import math

import torch

from lmlib.analysis.crossing import crossover_budget
from lmlib.analysis.price_performance import fit_exponential
from lmlib.grading.spec import Case, Exercise, draw
from lmlib.models.ngram import next_token_distribution

LAB = "2_1_driving_force"


def _trend_cases(rng: torch.Generator) -> list[Case]:
    cases = []
    fresh = (draw(rng, 3, 41), 0.5 + 4 * float(torch.rand((), generator=rng)), 0.5)
    for n, doubling, noise in [
        (30, 1.5, 0.4),
        (12, 2.5, 0.8),
        (50, 0.8, 0.2),
        (8, 4.0, 1.0),
        fresh,
    ]:
        years = torch.sort(1940 + 80 * torch.rand(n, generator=rng, dtype=torch.float64)).values
        log10v = math.log10(2) * (years - 1940) / doubling - 5
        log10v = log10v + noise * torch.randn(n, generator=rng, dtype=torch.float64)
        cases.append(Case((years, 10**log10v)))
    return cases


def _ngram_cases(rng: torch.Generator) -> list[Case]:
    cases = []
    for V, N, ctx_len, k in [
        (5, 300, 1, 0.5),
        (4, 200, 2, 0.1),
        (6, 400, 0, 1.0),
        (3, 150, 2, 2.0),
        (
            draw(rng, 2, 12),
            draw(rng, 9, 301),
            draw(rng, 3, 5),
            0.05 + float(torch.rand((), generator=rng)),
        ),
    ]:
        train = torch.randint(0, V - 1, (N,), generator=rng)  # token V - 1 never occurs
        train[::7] = 0  # some structure, so that contexts differ
        seen = train[:ctx_len].clone()
        unseen = torch.full((ctx_len,), V - 1) if ctx_len else seen
        cases.append(Case((train, seen, V, k)))
        cases.append(Case((train, unseen, V, k)))
    # a context of three whose last two tokens are followed by something else elsewhere
    train = torch.tensor([0, 1, 2, 3, 5, 1, 2, 4] * draw(rng, 2, 6))
    cases.append(Case((train, torch.tensor([0, 1, 2]), 6, 0.5)))
    return cases


def _crossing_cases(rng: torch.Generator) -> list[Case]:
    budgets = [2e9, 6e9, 2e10, 6e10, 2e11]
    a = [2.3, 1.9, 1.4, 0.95, 0.5]  # starts worse, ends better
    b = [1.7, 1.3, 1.1, 1.03, 1.0]
    cases = [
        Case((budgets, a, b)),
        Case((budgets, b, a)),  # b never goes below a after starting below: the first budget
        Case((budgets, [3.0, 2.0, 2.5, 1.2, 0.9], [2.5, 2.1, 2.0, 1.5, 1.4])),  # first crossing
        Case((budgets, [3.0, 3.0, 2.9, 2.8, 2.7], b)),  # never
        Case((budgets, [1.8, 1.3, 1.0, 0.7, 0.6], b)),  # touches at 6e9, crosses after
    ]
    for _ in range(3):
        m = draw(rng, 3, 11)
        budgets = sorted((10 ** (9 + 4 * torch.rand(m, generator=rng))).tolist())
        b = (1.5 - 0.1 * torch.arange(m) + 0.05 * torch.rand(m, generator=rng)).tolist()
        a = (2.5 - 0.35 * torch.arange(m) + 0.05 * torch.rand(m, generator=rng)).tolist()
        cases.append(Case((budgets, a, b)))
    return cases


def _ngram_twin(case: Case, rng: torch.Generator) -> Case:
    """The same sizes, the training tokens in a new order: other counts, the same context."""
    train, context, V, k = case.args
    return Case((train[torch.randperm(len(train), generator=rng)], context, V, k))


def _crossing_twin(case: Case, rng: torch.Generator) -> Case:
    """Every budget ten times larger: the crossing (interpolated in log10) moves with them."""
    budgets, a, b = case.args
    return Case(([10 * x for x in budgets], a, b))


EXERCISES = [
    Exercise(
        name="fit_exponential",
        cases=_trend_cases,
        reference=fit_exponential,
        atol=1e-10,
        rtol=1e-8,  # a fit in float32 is off by far more
        rules="Return (slope, doubling_years) as two floats: slope of log10(values) per year by "
        "least squares in float64, doubling time log10(2) / slope.",
    ),
    Exercise(
        name="next_token_distribution",
        cases=_ngram_cases,
        reference=next_token_distribution,
        twin=_ngram_twin,
        rules="Return a (V,) float tensor summing to 1: (count(context, w) + k) / "
        "(count(context) + k V); an empty context counts every token.",
    ),
    Exercise(
        name="crossover_budget",
        cases=_crossing_cases,
        reference=crossover_budget,
        twin=_crossing_twin,
        rules="Return a float budget or None; interpolate linearly in log10(budget).",
    ),
]
