"""Exponential trends in price-performance: a log-linear fit, the doubling time with a bootstrap
interval, and what the trend says about one machine or one amount of compute.

Dims: N machines (one value of FLOP/s per dollar each, at a year).

A trend v(year) = 10 ** (a + b * (year - 2000)) is a straight line on a log axis; b is in decades
per year, so v grows tenfold every 1 / b years and doubles every log10(2) / b years.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

# Chung, Stanford CS25 (2024), about 38:30-39:10: "10x more compute every five years" per dollar.
TALK_TENFOLD_YEARS = 5.0
TALK_DOUBLING_YEARS = TALK_TENFOLD_YEARS * math.log10(2)  # about 1.5 years
ORIGIN = 2000  # the intercept is the line's value in this year


@dataclass(frozen=True)
class Trend:
    slope: float  # log10 of the value per year
    intercept: float  # log10 of the value in ORIGIN
    n: int
    first_year: float
    last_year: float

    @property
    def doubling_years(self) -> float:
        return math.log10(2) / self.slope

    @property
    def tenfold_years(self) -> float:
        return 1 / self.slope

    def at(self, year: float) -> float:
        """The line's value in `year`."""
        return 10 ** (self.intercept + self.slope * (year - ORIGIN))

    def year_reaching(self, value: float) -> float:
        """The year in which the line reaches `value`."""
        if value <= 0:
            raise ValueError(f"value must be positive, got {value}")
        return ORIGIN + (math.log10(value) - self.intercept) / self.slope


def _arrays(years: Sequence[float], values: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.asarray(years, dtype=float), np.asarray(values, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"years and values must be equally long 1-D, got {x.shape}, {y.shape}")
    if (y <= 0).any():
        raise ValueError("values must all be positive to be fitted on a log scale")
    if len(np.unique(x)) < 2:
        raise ValueError("need values from at least two different years to fit a trend")
    return x, np.log10(y)


def fit_exponential(years: Tensor, values: Tensor) -> tuple[float, float]:
    """(slope, doubling_years): the least-squares slope of log10(values) on years, in decades
    per year, and the doubling time log10(2) / slope it implies. The lab's exercise."""
    x, y = years.double(), torch.log10(values.double())
    slope = ((x - x.mean()) * (y - y.mean())).sum() / ((x - x.mean()) ** 2).sum()
    return float(slope), math.log10(2) / float(slope)


def fit_trend(years: Sequence[float], values: Sequence[float]) -> Trend:
    """Least squares of log10(value) on year: the exponential that fits best on a log axis."""
    x, logy = _arrays(years, values)
    slope, intercept = np.polyfit(x - ORIGIN, logy, 1)
    return Trend(float(slope), float(intercept), len(x), float(x.min()), float(x.max()))


def bootstrap_doubling(
    years: Sequence[float],
    values: Sequence[float],
    n_boot: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """A percentile interval on the doubling time: refit on `n_boot` resamples of the machines
    (drawn with replacement); resamples that cannot be fitted or do not grow are skipped."""
    if not 0 < level < 1 or n_boot < 10:
        raise ValueError(f"need 0 < level < 1 and n_boot >= 10, got {level}, {n_boot}")
    x, logy = _arrays(years, values)
    rng = np.random.default_rng(seed)
    doublings = []
    for _ in range(n_boot):
        i = rng.integers(0, len(x), len(x))
        if len(np.unique(x[i])) < 2:
            continue
        slope = np.polyfit(x[i] - ORIGIN, logy[i], 1)[0]
        if slope > 0:
            doublings.append(math.log10(2) / slope)
    lo, hi = np.quantile(doublings, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def compare_with_talk(trend: Trend) -> dict[str, float]:
    """The fit beside the talk's "10x every 5 years"."""
    return {
        "talk_tenfold_years": TALK_TENFOLD_YEARS,
        "talk_doubling_years": TALK_DOUBLING_YEARS,
        "fit_tenfold_years": trend.tenfold_years,
        "fit_doubling_years": trend.doubling_years,
        "ratio_to_talk": trend.tenfold_years / TALK_TENFOLD_YEARS,
    }


def place_machine(flops: float, price_usd: float, year: float, trend: Trend) -> dict[str, float]:
    """One machine against the line: its FLOP/s per dollar, the line's value in its year, how
    many times the line it is, and the year the line reaches it (later = ahead of its time)."""
    if flops <= 0 or price_usd <= 0:
        raise ValueError(f"flops and price_usd must be positive, got {flops}, {price_usd}")
    value = flops / price_usd
    line = trend.at(year)
    return {
        "flops_per_usd": value,
        "line_flops_per_usd": line,
        "times_line": value / line,
        "year_line_reaches": trend.year_reaching(value),
    }


def hardware_cost(total_flops: float, year: float, trend: Trend, seconds: float = 86_400) -> float:
    """Dollars of hardware, at the line's price-performance in `year`, that would perform
    `total_flops` at its peak rate in `seconds` (a day by default)."""
    if total_flops <= 0 or seconds <= 0:
        raise ValueError(f"total_flops and seconds must be positive, got {total_flops}, {seconds}")
    return total_flops / seconds / trend.at(year)
