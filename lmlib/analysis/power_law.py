"""Scaling fits: loss = L_inf + a * x^(-alpha), where x is compute (FLOPs) or parameters.

L_inf is the loss no amount of x removes (the data's own entropy, for a big enough model), a and
alpha set how fast the rest falls. The fit is a least-squares fit in loss space: for each L_inf on
a grid below the smallest loss, log(loss - L_inf) is linear in log x, so a and alpha follow from a
straight-line fit; the best L_inf wins. Standard errors come from the Jacobian at the optimum.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True)
class PowerLawFit:
    l_inf: float
    a: float
    alpha: float
    l_inf_err: float  # one standard error; nan when there are too few points to tell
    a_err: float
    alpha_err: float
    r2: float  # fraction of the variance of loss the fit explains

    def predict(self, x: Tensor | float) -> Tensor:
        """Predicted loss at x (same units as the fit's x)."""
        x = torch.as_tensor(x, dtype=torch.float64)
        return self.l_inf + self.a * x ** (-self.alpha)


def power_law(x: Tensor, l_inf: float, a: float, alpha: float) -> Tensor:
    """l_inf + a * x^(-alpha), elementwise."""
    return l_inf + a * torch.as_tensor(x, dtype=torch.float64) ** (-alpha)


def _line(logx: Tensor, logy: Tensor) -> tuple[float, float]:
    """Least-squares slope and intercept of logy against logx."""
    xm, ym = logx.mean(), logy.mean()
    slope = ((logx - xm) * (logy - ym)).sum() / ((logx - xm) ** 2).sum()
    return slope.item(), (ym - slope * xm).item()


def fit_given_floor(x: Tensor, loss: Tensor, l_inf: float) -> tuple[float, float]:
    """(a, alpha) of loss = l_inf + a x^-alpha for a known floor: a line in log-log space,
    log(loss - l_inf) = log a - alpha log x, fitted by least squares."""
    x = torch.as_tensor(x, dtype=torch.float64)
    loss = torch.as_tensor(loss, dtype=torch.float64)
    slope, intercept = _line(x.log(), (loss - l_inf).log())
    return math.exp(intercept), -slope


def fit_power_law(
    x: Tensor | list[float], loss: Tensor | list[float], floor: bool = True, grid: int = 400
) -> PowerLawFit:
    """Fit loss = L_inf + a x^-alpha (floor=False: L_inf = 0, a straight line in log-log)."""
    x = torch.as_tensor(x, dtype=torch.float64).flatten()
    y = torch.as_tensor(loss, dtype=torch.float64).flatten()
    if x.shape != y.shape or len(x) < 2 + floor:
        raise ValueError(f"need matching x and loss with >= {2 + floor} points, got {len(x)}")
    if (x <= 0).any() or (y <= 0).any():
        raise ValueError("x and loss must be positive for a power law")
    if len(torch.unique(x)) < 2:
        raise ValueError("x must take at least two different values")
    best = (math.inf, 0.0, 0.0, 0.0)

    lx = x.log()

    def search(floors: list[float]) -> None:
        """Every floor at once: (G, n) lines in log-log space, the best by SSE in loss space."""
        nonlocal best
        f = torch.tensor(floors, dtype=torch.float64)[:, None]  # (G, 1)
        ly = (y - f).log()  # (G, n)
        xm, ym = lx.mean(), ly.mean(dim=1, keepdim=True)
        slope = ((lx - xm) * (ly - ym)).sum(dim=1, keepdim=True) / ((lx - xm) ** 2).sum()
        log_a = ym - slope * xm
        sse = ((f + (log_a + slope * lx).exp() - y) ** 2).sum(dim=1)  # (G,)
        i = int(sse.argmin())
        if sse[i].item() < best[0]:
            best = (sse[i].item(), floors[i], math.exp(log_a[i, 0].item()), -slope[i, 0].item())

    if not floor:
        search([0.0])
    else:  # a coarse grid of floors below the smallest loss, then a fine one around the best
        step = y.min().item() / grid
        search([i * step for i in range(grid)])
        lo = max(0.0, best[1] - step)
        search(torch.linspace(lo, min(best[1] + step, y.min().item() * (1 - 1e-9)), grid).tolist())
    sse, l_inf, a, alpha = best
    errs = _standard_errors(x, y, l_inf, a, alpha, floor, sse)
    sst = ((y - y.mean()) ** 2).sum().item()
    return PowerLawFit(l_inf, a, alpha, *errs, r2=1 - sse / sst if sst > 0 else 1.0)


def _standard_errors(
    x: Tensor, y: Tensor, l_inf: float, a: float, alpha: float, floor: bool, sse: float
) -> tuple[float, float, float]:
    """sqrt(diag(s^2 (J^T J)^-1)) with J the derivatives of the model in (L_inf, a, alpha)."""
    xa = x ** (-alpha)
    cols = [torch.ones_like(x)] if floor else []
    J = torch.stack([*cols, xa, -a * xa * x.log()], dim=1)  # (n, p)
    dof = len(x) - J.shape[1]
    if dof < 1:
        return (math.nan,) * 3
    try:
        cov = torch.linalg.inv(J.T @ J) * (sse / dof)
    except RuntimeError:  # singular: the points cannot separate the parameters
        return (math.nan,) * 3
    err = cov.diagonal().clamp(min=0).sqrt().tolist()
    return (err[0], err[1], err[2]) if floor else (0.0, err[0], err[1])


JUMP_RATIO = 2.0  # a jump rises at least this many times faster than the curve's average
JUMP_WINDOW = 0.3  # decades of compute over which a rise is measured (two to three rungs)


def curve_shape(
    values: list[float],
    tol: float = 0.1,
    chance: float | None = None,
    compute: list[float] | None = None,
) -> str:
    """Name the shape of a metric along a ladder of sizes (higher = better), smallest first.

    Rises are measured per decade of compute when `compute` is given (per rung otherwise), so
    an uneven ladder does not turn a steady rise into a jump.
    - "flat": it never moves by more than tol;
    - "U-shaped": it starts well (above chance + tol, when a chance level is given), falls more
      than 2 * tol at an intermediate size, then ends more than 2 * tol above that dip: both
      arms of the U are successes;
    - "dip": it falls below its first value at an intermediate size and recovers, but has no
      left arm (it starts at or below chance + tol, or the fall is small);
    - "non-monotone": it falls by more than tol after a higher value in any other way;
    - "jump": it rises by at least 3 * tol, and over some stretch of at least JUMP_WINDOW
      decades (one rung without compute) it rises JUMP_RATIO times faster than on average;
    - "smooth": it rises without such a stretch.
    """
    if len(values) < 2:
        raise ValueError(f"a curve needs at least two sizes, got {len(values)}")
    if compute is not None and (len(compute) != len(values) or min(compute) <= 0):
        raise ValueError(f"compute must be {len(values)} positive FLOPs, one per value")
    x = [math.log10(c) for c in compute] if compute is not None else list(range(len(values)))
    if any(b <= a for a, b in zip(x[:-1], x[1:])):
        raise ValueError("the sizes must be ordered by increasing compute")
    lo, hi = min(values), max(values)
    if hi - lo <= tol:
        return "flat"
    i_min = values.index(lo)
    if 0 < i_min < len(values) - 1 and values[0] - lo > tol and values[-1] - lo > 2 * tol:
        left_arm = values[0] - lo > 2 * tol and (chance is None or values[0] > chance + tol)
        return "U-shaped" if left_arm else "dip"
    if any(max(values[: j + 1]) - v > tol for j, v in enumerate(values)):
        return "non-monotone"
    rise, window = values[-1] - values[0], JUMP_WINDOW if compute is not None else 1
    steepest = (
        max(
            (values[j] - values[i]) / (x[j] - x[i])
            for i in range(len(x))
            for j in [next((j for j in range(i + 1, len(x)) if x[j] - x[i] >= window), None)]
            if j is not None
        )
        if x[-1] - x[0] >= window
        else rise / (x[-1] - x[0])
    )
    if rise >= 3 * tol and steepest >= JUMP_RATIO * rise / (x[-1] - x[0]):
        return "jump"
    return "smooth"


def shape_across_seeds(
    curves: list[list[float]],
    tol: float = 0.1,
    chance: float | None = None,
    compute: list[float] | None = None,
) -> tuple[str, list[str]]:
    """(label, per-seed labels): a seed curve's label wins when most seeds (more than half)
    share it; otherwise the task is "seed-dependent"."""
    labels = [curve_shape(c, tol, chance, compute) for c in curves]
    best = max(set(labels), key=labels.count)
    return (best if labels.count(best) * 2 > len(labels) else "seed-dependent"), labels
