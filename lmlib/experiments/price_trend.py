"""Experiment: the trend in computing price-performance, 1944 to today, fitted and bootstrapped.

Reads lmlib's price-performance table, fits log10(FLOP/s per 2025 dollar) against the year for
all machines and for two eras (before the GPU rows, and the GPU rows), bootstraps an interval on
each doubling time, sets the fit beside the talk's "10x every 5 years", and prices this course's
scaling sweep in results/scaling/cpu in hardware of several years. No training: it runs
in seconds at every profile; the profile only sets the number of bootstrap resamples.
"""

from __future__ import annotations

import json
from pathlib import Path

from lmlib.analysis.price_performance import (
    bootstrap_doubling,
    compare_with_talk,
    fit_trend,
    hardware_cost,
)
from lmlib.data.compute_prices import CPI_BASE_YEAR, CPI_SOURCE, price_performance_table
from lmlib.experiments.results import provenance
from lmlib.runtime.device import pick_device
from lmlib.runtime.files import save_figure
from lmlib.runtime.profiles import by_profile

GPU_ERA = 2008  # the first of Epoch AI's GPU rows
SCALING_RESULTS = Path("results") / "scaling" / "cpu"
COST_YEARS = (1950, 1970, 1990, 2010, 2025)


def sweep_flops(root: Path = SCALING_RESULTS) -> float | None:
    """Training FLOPs of every run of the scaling sweep in results/scaling/cpu, or None without
    it."""
    runs = [json.loads(p.read_text()) for p in sorted(root.glob("*-seed*.json"))]
    return float(sum(r["compute"] for r in runs)) if runs else None


def run(profile: str, seed: int = 0) -> dict:
    n_boot = by_profile(ci=200, cpu=5000, gpu=5000, profile=profile)
    rows = price_performance_table()
    eras = {
        "all": rows,
        f"before_{GPU_ERA}": [r for r in rows if r.year < GPU_ERA],
        f"from_{GPU_ERA}": [r for r in rows if r.year >= GPU_ERA],
    }
    fits = {}
    for name, part in eras.items():
        years, values = [r.year for r in part], [r.flops_per_usd_2025 for r in part]
        trend = fit_trend(years, values)
        lo, hi = bootstrap_doubling(years, values, n_boot=n_boot, seed=seed)
        fits[name] = {
            "n": trend.n,
            "years": [trend.first_year, trend.last_year],
            "slope_log10_per_year": trend.slope,
            "intercept_log10_at_2000": trend.intercept,
            "doubling_years": trend.doubling_years,
            "doubling_years_95": [lo, hi],
            "tenfold_years": trend.tenfold_years,
            "tenfold_years_95": [lo / 0.30103, hi / 0.30103],
            **compare_with_talk(trend),
        }
    flops = sweep_flops()
    trend = fit_trend(*zip(*[(r.year, r.flops_per_usd_2025) for r in rows]))
    costs = {str(y): hardware_cost(flops, y, trend) for y in COST_YEARS} if flops else {}
    return {
        "experiment": "price_trend",
        "profile": profile,
        "seed": seed,
        "n_boot": n_boot,
        "n_machines": len(rows),
        "cpi": {"base_year": CPI_BASE_YEAR, "source": CPI_SOURCE},
        "fits": fits,
        "sweep_flops": flops,
        "sweep_hardware_usd_one_day": costs,
        **provenance(pick_device("cpu")),
    }


def figures(r: dict, outdir: Path) -> list[Path]:
    import matplotlib.pyplot as plt
    import numpy as np

    from lmlib.analysis.price_performance import TALK_TENFOLD_YEARS

    outdir.mkdir(parents=True, exist_ok=True)
    rows = price_performance_table()
    fig, ax = plt.subplots(figsize=(8, 4.8))
    for label, keep, marker in (
        ("machines from compilations and datasheets", lambda m: "Epoch AI" not in m.source, "o"),
        ("GPUs and accelerators, Epoch AI (FP32)", lambda m: "Epoch AI" in m.source, "^"),
    ):
        part = [m for m in rows if keep(m)]
        ax.scatter([m.year for m in part], [m.flops_per_usd_2025 for m in part], s=18,
                   marker=marker, label=label)  # fmt: skip
    f = r["fits"]["all"]
    years = np.linspace(f["years"][0], f["years"][1], 50)
    line = 10 ** (f["intercept_log10_at_2000"] + f["slope_log10_per_year"] * (years - 2000))
    lo, hi = f["doubling_years_95"]
    fit_label = f"fit: x2 every {f['doubling_years']:.2f} y (95%: {lo:.2f}-{hi:.2f})"
    ax.plot(years, line, "k-", lw=1.2, label=fit_label)
    talk = line[-1] * 10 ** ((years - years[-1]) / TALK_TENFOLD_YEARS)
    ax.plot(years, talk, "r--", lw=1, label="talk: x10 every 5 y (through the last year)")
    ax.set(yscale="log", xlabel="year", ylabel=f"FLOP/s per {r['cpi']['base_year']} dollar",
           title=f"{r['n_machines']} machines, 1944-2025: computing price-performance")  # fmt: skip
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = outdir / "price_performance.png"
    save_figure(fig, path)
    plt.close(fig)
    return [path]
