"""The compute-efficient frontier of a sweep, its power-law fit, and a held-out prediction.

Every size's training curve gives points (compute so far, held-out loss). The frontier is the
lowest loss any run reached with at most that much compute: the envelope of all curves, which is
what Kaplan et al. (2020) fit, rather than the final losses alone. Each size's curve is first
reduced to its median over seeds, so one seed's luck does not set the envelope.

Dims: P points on the frontier, S seeds.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

import torch

from lmlib.analysis.power_law import PowerLawFit, fit_power_law


@dataclass(frozen=True)
class Curve:
    """One size's loss curve: compute at each evaluation and the loss there, one row per seed."""

    size: str
    compute: tuple[float, ...]  # (P,) FLOPs spent when each evaluation was made
    loss: tuple[tuple[float, ...], ...]  # (S, P) held-out loss per seed and evaluation

    def median(self, seeds: list[int] | None = None) -> list[float]:
        rows = [self.loss[i] for i in (seeds if seeds is not None else range(len(self.loss)))]
        return torch.tensor(rows, dtype=torch.float64).median(dim=0).values.tolist()

    def final(self) -> float:
        """Seed median of the last evaluation (the size's final loss)."""
        return self.median()[-1]


def frontier(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """(compute, loss) points -> the envelope: points lower than every point with less compute,
    sorted by compute."""
    out: list[tuple[float, float]] = []
    for c, loss in sorted(points):
        if not out or loss < out[-1][1]:
            out.append((c, loss))
    return out


def curve_points(curves: list[Curve], min_compute: float = 0.0, seeds=None) -> list:
    """Every (compute, seed-median loss) of the curves at or above min_compute."""
    return [
        (c, loss)
        for i, cv in enumerate(curves)
        for c, loss in zip(cv.compute, cv.median(None if seeds is None else seeds[i]))
        if c >= min_compute
    ]


def log_r2(fit: PowerLawFit, points: list[tuple[float, float]]) -> float:
    """R^2 of log(loss) under the fit: how straight the fit follows the points in log-log axes."""
    c = torch.tensor([p[0] for p in points], dtype=torch.float64)
    y = torch.tensor([p[1] for p in points], dtype=torch.float64).log()
    pred = fit.predict(c).log()
    sst = ((y - y.mean()) ** 2).sum().item()
    return 1 - ((y - pred) ** 2).sum().item() / sst if sst > 0 else 1.0


@dataclass(frozen=True)
class FrontierFit:
    fit: PowerLawFit
    points: tuple[tuple[float, float], ...]  # the frontier it was fitted to
    r2_log: float
    span_decades: float  # log10(max compute / min compute) of the frontier
    alpha_interval: tuple[float, float]  # bootstrap 2.5% and 97.5% quantiles of alpha


def fit_frontier(
    curves: list[Curve], min_compute: float = 0.0, n_boot: int = 200, seed: int = 0
) -> FrontierFit:
    """Fit L(C) = L_inf + a C^-alpha to the frontier of the seed-median curves; bootstrap alpha
    by resampling each size's seeds with replacement."""
    pts = frontier(curve_points(curves, min_compute))
    if len(pts) < 4:
        raise ValueError(f"the frontier has {len(pts)} points above {min_compute:g}; need >= 4")
    fit = fit_power_law([p[0] for p in pts], [p[1] for p in pts])
    rng = random.Random(seed)
    alphas = []
    for _ in range(n_boot):
        pick = [[rng.randrange(len(cv.loss)) for _ in cv.loss] for cv in curves]
        b = frontier(curve_points(curves, min_compute, pick))
        if len(b) >= 4:
            alphas.append(fit_power_law([p[0] for p in b], [p[1] for p in b]).alpha)
    alphas.sort()
    q = lambda f: float("nan") if not alphas else alphas[min(len(alphas) - 1, int(f * len(alphas)))]  # noqa: E731
    span = math.log10(pts[-1][0] / pts[0][0])
    return FrontierFit(fit, tuple(pts), log_r2(fit, pts), span, (q(0.025), q(0.975)))


@dataclass(frozen=True)
class HeldOut:
    size: str  # the size predicted (the largest)
    compute: float  # its final compute
    measured: float  # its final loss, median over seeds
    predicted: float  # the frontier fit of the smaller sizes, extrapolated to its compute
    naive: float  # the previous size's final loss (the guess "no better than the last one")
    error: float  # |predicted - measured| / measured
    naive_error: float
    ahead: float = 1.0  # its compute over the largest compute the fit saw


def predict_largest(curves: list[Curve], min_compute: float = 0.0) -> HeldOut:
    """Fit the frontier without the largest size (curves ordered by compute), predict its loss."""
    if len(curves) < 3:
        raise ValueError(f"need >= 3 sizes to hold the largest out, got {len(curves)}")
    return predict_ahead(curves, 1.0, min_compute)  # every smaller size is within 1x


def predict_ahead(curves: list[Curve], factor: float = 4.0, min_compute: float = 0.0) -> HeldOut:
    """Fit the frontier of the sizes with at most 1/factor of the largest size's compute (curves
    ordered by compute) and predict the largest size's final loss; the naive guess is the last
    fitted size's final loss."""
    if factor < 1:
        raise ValueError(f"factor must be >= 1, got {factor}")
    *rest, last = curves
    c = last.compute[-1]
    fitted = [cv for cv in rest if cv.compute[-1] * factor <= c]
    if len(fitted) < 2:
        raise ValueError(f"need >= 2 sizes with 1/{factor:g} of the largest compute, got {fitted}")
    pred = fit_frontier(fitted, min_compute, n_boot=0).fit.predict(c).item()
    measured, naive = last.final(), fitted[-1].final()
    return HeldOut(
        last.size,
        c,
        measured,
        pred,
        naive,
        abs(pred - measured) / measured,
        abs(naive - measured) / measured,
        c / fitted[-1].compute[-1],
    )


def one_seed(curves: list[Curve], i: int) -> list[Curve]:
    """The curves of seed row i alone."""
    return [Curve(cv.size, cv.compute, (cv.loss[i],)) for cv in curves]
