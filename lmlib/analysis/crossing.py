"""Where two loss-against-compute curves cross: the budget at which one method overtakes another.

Dims: N compute budgets, S seeds.

Curves are sampled at the same increasing budgets. Between two budgets the crossing point is
interpolated linearly in log10(compute), the axis on which such curves are drawn.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def crossover_budget(
    budgets: Sequence[float], loss_a: Sequence[float], loss_b: Sequence[float]
) -> float | None:
    """The compute at which curve a first goes below curve b; None if it never does.

    If a is below b at the first budget, that budget is returned. Otherwise, with d = a - b and
    i the last budget before the first one where d < 0 (so d_i >= 0 > d_{i+1}), the crossing is
    log10 C = log10 C_i + d_i / (d_i - d_{i+1}) * (log10 C_{i+1} - log10 C_i).
    """
    if not len(budgets) == len(loss_a) == len(loss_b) or len(budgets) == 0:
        raise ValueError(
            f"budgets, loss_a and loss_b need the same nonzero length, got "
            f"{len(budgets)}, {len(loss_a)}, {len(loss_b)}"
        )
    if any(c <= 0 for c in budgets) or any(b <= a for a, b in zip(budgets, budgets[1:])):
        raise ValueError(f"budgets must be positive and increasing, got {list(budgets)}")
    d = [a - b for a, b in zip(loss_a, loss_b)]
    if d[0] < 0:
        return float(budgets[0])
    for i in range(len(d) - 1):
        if d[i] >= 0 > d[i + 1]:
            lo, hi = math.log10(budgets[i]), math.log10(budgets[i + 1])
            return 10 ** (lo + d[i] / (d[i] - d[i + 1]) * (hi - lo))
    return None


def seed_band(curves: Sequence[Sequence[float]]) -> tuple[list[float], list[float], list[float]]:
    """(mean, min, max) across seeds at each budget; curves is (S, N)."""
    if not curves or any(len(c) != len(curves[0]) for c in curves):
        raise ValueError("curves must be a non-empty list of equally long loss lists, one a seed")
    columns = list(zip(*curves))
    return (
        [sum(c) / len(c) for c in columns],
        [min(c) for c in columns],
        [max(c) for c in columns],
    )
