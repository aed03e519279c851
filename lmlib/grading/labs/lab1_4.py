"""Lab 1.4, compute-optimal scaling: steps that spend a budget, the IsoFLOP parabola's minimum,
tokens per parameter at the optimum.

Dims: S model sizes at one budget.
"""

from __future__ import annotations

import torch

from lmlib.analysis.isoflop import isoflop_steps, parabola_minimum, tokens_per_parameter
from lmlib.grading.spec import Case, Exercise, draw

LAB = "1_4_compute_optimal"


def _sizes(rng: torch.Generator, n: int) -> torch.Tensor:
    """n parameter counts from about 1e3 to 1e7, int64."""
    return (10 ** (3 + 4 * torch.rand(n, generator=rng, dtype=torch.float64))).long()


def _steps_cases(rng: torch.Generator) -> list[Case]:
    cases = [
        Case((3e10, torch.tensor([1_400, 2_300, 4_600, 7_600, 16_000]), 2048)),  # the lab's
        Case((1e12, _sizes(rng, draw(rng, 2, 9)), 1024)),
        Case((float(10 ** (9 + 4 * torch.rand((), generator=rng))), _sizes(rng, 6), 512)),
        Case((1e9, torch.tensor([5_000_000, 1_000]), 4096)),  # under one step rounds up to one
        Case((2.5e11, _sizes(rng, 1), 256)),  # one size
    ]
    return cases


def _steps_twin(case: Case, rng: torch.Generator) -> Case:
    budget, sizes, per_step = case.args
    return Case((budget, _sizes(rng, len(sizes)), per_step))


def _valley(rng: torch.Generator, n: int, noise: float) -> tuple[torch.Tensor, torch.Tensor]:
    """n sizes (log N, float64) around a random vertex, and a convex loss through them."""
    u = torch.rand(4, generator=rng, dtype=torch.float64)
    x0, y0, c = 7 + 8 * u[0], 1.5 + 2 * u[1], 0.05 + 0.5 * u[2]
    steps = 0.3 + torch.rand(n, generator=rng, dtype=torch.float64)
    log_n = x0 - 1.5 + torch.cumsum(steps, 0) * 3 / steps.sum() - (u[3] - 0.5)
    loss = y0 + c * (log_n - x0) ** 2
    return log_n, loss + noise * c * torch.randn(n, generator=rng, dtype=torch.float64)


def _parabola_cases(rng: torch.Generator) -> list[Case]:
    x = torch.tensor([7.3, 8.0, 8.7, 9.4, 10.1], dtype=torch.float64)  # evenly spaced, as a ladder
    cases = [Case((x, 2.0 + 0.2 * (x - 8.4) ** 2))]
    for n, noise in [(5, 0.05), (7, 0.1), (draw(rng, 4, 12), 0.1), (3, 0.0), (6, 0.0)]:
        cases.append(Case(_valley(rng, n, noise)))
    return cases


def _parabola_twin(case: Case, rng: torch.Generator) -> Case:
    return Case(_valley(rng, len(case.args[0]), 0.05))


def _tokens_cases(rng: torch.Generator) -> list[Case]:
    u = torch.rand(3, generator=rng, dtype=torch.float64).tolist()
    return [
        Case((5.76e23, 7.0e10)),  # Chinchilla's budget and size
        Case((1e11, 6_000.0)),
        Case((10 ** (10 + 10 * u[0]), 10 ** (4 + 5 * u[1]))),
        Case((3e12, 2.5e5 * (1 + u[2]))),
        Case((600.0, 1.0)),
    ]


def _tokens_twin(case: Case, rng: torch.Generator) -> Case:
    budget, n_opt = case.args
    return Case((budget * (1.5 + float(torch.rand((), generator=rng))), n_opt))


EXERCISES = [
    Exercise(
        name="isoflop_steps",
        cases=_steps_cases,
        reference=isoflop_steps,
        twin=_steps_twin,
        rules="Return an int64 tensor (S,): budget / (6 * n_params * tokens_per_step) rounded to "
        "the nearest whole step, and at least 1; leave n_params as it was.",
    ),
    Exercise(
        name="parabola_minimum",
        cases=_parabola_cases,
        reference=parabola_minimum,
        twin=_parabola_twin,
        atol=1e-8,
        rtol=1e-7,
        rules="Return (log_n at the vertex, loss there) as two Python floats, from the "
        "least-squares parabola through all the points, in float64.",
    ),
    Exercise(
        name="tokens_per_parameter",
        cases=_tokens_cases,
        reference=tokens_per_parameter,
        twin=_tokens_twin,
        rtol=1e-9,
        rules="Return a Python float: D_opt / N_opt, with D_opt = budget / (6 * n_opt).",
    ),
]
