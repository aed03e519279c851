"""Compute-optimal scaling from IsoFLOP profiles (Hoffmann et al. 2022, "approach 2").

At a fixed training budget C (FLOPs), a model of N parameters sees D = C / (6 N) tokens: a larger
model reads less. Its final loss against log N is a valley; a parabola through the valley has its
vertex at N_opt(C). Across budgets, N_opt ~ C^a and D_opt = C / (6 N_opt) ~ C^b, so a + b = 1.
Kaplan et al. (2020) found a = 0.73, Hoffmann et al. (2022) a = b = 0.5.

Dims: S sizes at one budget, K budgets.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

FLOPS_PER_PARAM_TOKEN = 6  # forward 2 N + backward 4 N FLOPs per token (Kaplan et al. 2020)


def _vector(values, name: str) -> Tensor:
    t = torch.as_tensor(values, dtype=torch.float64).flatten()
    if not torch.isfinite(t).all():
        raise ValueError(f"{name} must be finite numbers, got {t.tolist()}")
    return t


def isoflop_steps(budget: float, n_params, tokens_per_step: int):
    """Optimizer steps that spend `budget` FLOPs on a model of n_params parameters:
    budget / (6 * n_params * tokens_per_step), rounded to the nearest step (at least 1).
    n_params an int -> an int; an int64 tensor (S,) of sizes -> an int64 tensor (S,)."""
    sizes = torch.as_tensor(n_params)
    if sizes.is_floating_point() or sizes.dtype == torch.bool:
        raise TypeError(
            f"n_params must be whole parameter counts (int or int64), got {sizes.dtype}"
        )
    if budget <= 0 or tokens_per_step < 1 or (sizes < 1).any():
        raise ValueError(
            f"need budget > 0, n_params >= 1 and tokens_per_step >= 1; got budget={budget}, "
            f"n_params={n_params}, tokens_per_step={tokens_per_step}"
        )
    per_step = FLOPS_PER_PARAM_TOKEN * sizes.double() * tokens_per_step
    steps = (budget / per_step).round().clamp(min=1).long()
    return steps if isinstance(n_params, torch.Tensor) else int(steps)


def tokens_per_parameter(budget: float, n_opt: float) -> float:
    """D_opt / N_opt at the optimum, with D_opt = budget / (6 N_opt) (Hoffmann et al.: about 20)."""
    if budget <= 0 or n_opt <= 0:
        raise ValueError(f"budget and n_opt must be > 0, got budget={budget}, n_opt={n_opt}")
    return budget / (FLOPS_PER_PARAM_TOKEN * n_opt) / n_opt


def parabola(log_n, loss) -> tuple[float, float, float]:
    """The least-squares parabola through (log_n, loss) (S,) as (curvature c, vertex x0, value
    y0 there): loss = y0 + c (log_n - x0)^2."""
    x, y = _vector(log_n, "log_n"), _vector(loss, "loss")
    if x.shape != y.shape:
        raise ValueError(f"log_n and loss must have the same length, got {len(x)} and {len(y)}")
    if len(torch.unique(x)) < 3:
        raise ValueError(f"a parabola needs >= 3 different sizes, got {torch.unique(x).tolist()}")
    centre = x.mean()  # centred for a well-conditioned solve
    X = torch.stack([(x - centre) ** 2, x - centre, torch.ones_like(x)], dim=1)  # (S, 3)
    c2, c1, c0 = torch.linalg.lstsq(X, y[:, None]).solution.flatten().tolist()
    if c2 == 0:
        raise ValueError("the points lie on a straight line: no vertex")
    return c2, centre.item() - c1 / (2 * c2), c0 - c1**2 / (4 * c2)


def parabola_minimum(log_n, loss) -> tuple[float, float]:
    """(log_n at the vertex, loss there) of the least-squares parabola through (log_n, loss) (S,).
    Raises ValueError when the points do not open upwards: no minimum to find."""
    c2, x0, y0 = parabola(log_n, loss)
    if c2 < 0:
        raise ValueError(
            f"the loss against log N opens downwards (curvature {c2:.3g}): no minimum; "
            "add sizes on both sides of the valley"
        )
    return x0, y0


@dataclass(frozen=True)
class PowerFit:
    exponent: float  # y ~ coefficient * x^exponent
    coefficient: float

    def predict(self, x) -> Tensor:
        return self.coefficient * torch.as_tensor(x, dtype=torch.float64) ** self.exponent


def _log_line(x, y) -> tuple[float, float]:
    """(slope, intercept) of log y against log x by least squares."""
    x, y = _vector(x, "x"), _vector(y, "y")
    if x.shape != y.shape or len(x) < 2:
        raise ValueError(f"need matching x and y with >= 2 points, got {len(x)} and {len(y)}")
    if (x <= 0).any() or (y <= 0).any():
        raise ValueError("x and y must be positive for a power law")
    if len(torch.unique(x)) < 2:
        raise ValueError("x must take at least two different values")
    lx, ly = x.log(), y.log()
    slope = ((lx - lx.mean()) * (ly - ly.mean())).sum() / ((lx - lx.mean()) ** 2).sum()
    return slope.item(), (ly.mean() - slope * lx.mean()).item()


def fit_power(x, y) -> PowerFit:
    """y = k x^e by least squares on log y against log x (K,) -> PowerFit(e, k)."""
    slope, intercept = _log_line(x, y)
    return PowerFit(slope, math.exp(intercept))


def optimal_sizes(budgets, log_n, losses) -> list[float]:
    """N_opt per budget (K,): the vertex of each budget's parabola, as a parameter count.
    log_n[k] (S_k,) are natural logs of the sizes, losses[k] (S_k,) their final losses."""
    if not len(budgets) == len(log_n) == len(losses):
        raise ValueError(f"need one list of sizes and losses per budget, got {len(budgets)}")
    return [math.exp(parabola_minimum(x, y)[0]) for x, y in zip(log_n, losses)]


def scaling_exponents(budgets, n_opt) -> dict:
    """a of N_opt ~ C^a and b of D_opt ~ C^b, with D_opt = C / (6 N_opt)."""
    c = _vector(budgets, "budgets")
    n = _vector(n_opt, "n_opt")
    d = c / (FLOPS_PER_PARAM_TOKEN * n)
    return {"a": _log_line(c, n)[0], "b": _log_line(c, d)[0]}


def bootstrap_exponents(
    budgets, log_n, losses, draws: int = 1000, seed: int = 0, level: float = 0.95
) -> dict:
    """Percentile intervals of a and b. losses[k] is (R_k, S_k): R_k repeats (seeds) of each of
    the S_k sizes at budget k. Each draw resamples, per budget, the sizes with replacement and,
    for every size drawn, one of its repeats. A draw is skipped (and counted) when a budget has
    fewer than three distinct sizes, no minimum, or a minimum outside the sizes drawn: that is an
    extrapolation of the parabola, which the point estimate is checked never to be."""
    gen = torch.Generator().manual_seed(seed)
    a, b, skipped = [], [], 0
    tables = [torch.as_tensor(t, dtype=torch.float64) for t in losses]
    for t, x in zip(tables, log_n):
        if t.dim() != 2 or t.shape[1] != len(x):
            raise ValueError(f"losses per budget must be (repeats, sizes={len(x)}), got {t.shape}")
    for _ in range(draws):
        xs, ys = [], []
        for t, x in zip(tables, log_n):
            pick = torch.randint(len(x), (len(x),), generator=gen)  # (S,)
            rep = torch.randint(t.shape[0], (len(x),), generator=gen)  # (S,)
            xs.append(torch.as_tensor(x, dtype=torch.float64)[pick])
            ys.append(t[rep, pick])
        try:
            n_opt = optimal_sizes(budgets, xs, ys)
            if not all(x.min() <= math.log(n) <= x.max() for x, n in zip(xs, n_opt)):
                raise ValueError("a minimum outside the sizes drawn")
            e = scaling_exponents(budgets, n_opt)
        except (ValueError, OverflowError):
            skipped += 1
            continue
        a.append(e["a"])
        b.append(e["b"])
    if len(a) < 2:  # no interval to give: every valley lies outside the sizes drawn
        return {"a": None, "b": None, "draws": len(a), "skipped": skipped, "level": level}
    q = torch.tensor([(1 - level) / 2, (1 + level) / 2], dtype=torch.float64)
    ci = lambda v: torch.quantile(torch.tensor(v, dtype=torch.float64), q).tolist()  # noqa: E731
    return {"a": ci(a), "b": ci(b), "draws": len(a), "skipped": skipped, "level": level}
