"""Figures of the isoflop experiment: the IsoFLOP valleys, the optimum against compute, and the
data-scaling curve. Every seed is drawn; fits are the ones summary.json records."""

from __future__ import annotations

import math
from pathlib import Path

import torch

from lmlib.analysis import isoflop as fit
from lmlib.runtime.files import save_figure

# The literature's exponents of N_opt ~ C^a, drawn beside ours through our middle optimum.
LITERATURE = {"Kaplan et al. 2020": 0.73, "Hoffmann et al. 2022": 0.5}


def _profiles(ax, prof: dict) -> None:
    for k, (c, p) in enumerate(prof.items()):
        n = [math.exp(x) for x in p["log_n"]]
        for i, seed_loss in enumerate(p["loss"]):
            label = f"C = {c:.2g} FLOPs, each seed" if i == 0 else None
            ax.plot(n, seed_loss, "o", color=f"C{k}", ms=4, alpha=0.6, label=label)
        mean = torch.tensor(p["loss"]).mean(0)
        c2, x0, y0 = fit.parabola(p["log_n"], mean)
        grid = torch.linspace(min(p["log_n"]) - 0.2, max(p["log_n"]) + 0.2, 100)
        ax.plot(grid.exp(), y0 + c2 * (grid - x0) ** 2, "-", color=f"C{k}", lw=1.5)
        ax.plot([math.exp(x0)], [y0], "*", color=f"C{k}", ms=14, mec="k")
    ax.set_xscale("log")
    ax.set(
        xlabel="parameters N (log scale)",
        ylabel="final held-out loss (nats per character)",
        title="IsoFLOP profiles: parabola through the seeds' mean, star at its minimum",
    )
    ax.legend(fontsize=8)


def _optimum(axes, summary: dict) -> None:
    c = torch.tensor(summary["budgets"], dtype=torch.float64)
    for ax, key, exp_key, label in (
        (axes[0], "n_opt", "a", "compute-optimal parameters N_opt"),
        (axes[1], "d_opt", "b", "compute-optimal tokens D_opt"),
    ):
        ours = torch.tensor(summary[key], dtype=torch.float64)
        for s in summary["per_seed"]:
            n = torch.tensor(s["n_opt"], dtype=torch.float64)
            y = n if key == "n_opt" else c / (fit.FLOPS_PER_PARAM_TOKEN * n)
            ax.plot(
                c,
                y,
                "o",
                color="0.6",
                ms=4,
                label="each seed" if s is summary["per_seed"][0] else None,
            )
        ax.plot(c, ours, "o", color="C4", ms=7, label="seeds' mean")
        power = fit.fit_power(c, ours)
        lo, hi = summary["bootstrap"][exp_key] or (math.nan, math.nan)
        ax.plot(c, power.predict(c), "-", color="C4",
                label=f"fit: {exp_key} = {summary[exp_key]:.2f} [{lo:.2f}, {hi:.2f}]")  # fmt: skip
        mid = len(c) // 2
        for j, (name, a) in enumerate(LITERATURE.items()):
            slope = a if key == "n_opt" else 1 - a
            ax.plot(c, ours[mid] * (c / c[mid]) ** slope, ["--", ":"][j], color="k",
                    label=f"{name}: {slope:.2f}")  # fmt: skip
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set(xlabel="training compute C (FLOPs, log scale)", ylabel=f"{label} (log scale)")
        ax.legend(fontsize=8)


def _data_curve(ax, runs: list[dict]) -> None:
    for i, r in enumerate(runs):
        rows = r["data_curve"]
        ax.plot([row["n_train"] for row in rows], [row["exact_match"] for row in rows], "o-",
                color="C0", alpha=0.6, label="each seed" if i == 0 else None)  # fmt: skip
    ax.set_xscale("log")
    ax.set(xlabel="distinct training sums (log scale)", ylabel="held-out sums right (exact match)",
           ylim=(-0.02, 1.02), title="The same model and steps, more examples")  # fmt: skip
    ax.legend()


def draw_all(runs: list[dict], summary: dict, prof: dict, outdir: Path) -> list[Path]:
    """The three figures; `prof` is lmlib.experiments.isoflop.profiles(runs)."""
    import matplotlib.pyplot as plt

    outdir.mkdir(parents=True, exist_ok=True)
    paths = []
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    _profiles(ax, prof)
    fig.tight_layout()
    paths.append(outdir / "isoflop_profiles.png")
    save_figure(fig, paths[-1])
    plt.close(fig)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    _optimum(axes, summary)
    fig.suptitle(f"The optimum against compute ({len(runs)} seed{'s' * (len(runs) > 1)})")
    fig.tight_layout()
    paths.append(outdir / "isoflop_optimum.png")
    save_figure(fig, paths[-1])
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(6.5, 4))
    _data_curve(ax, runs)
    fig.tight_layout()
    paths.append(outdir / "isoflop_data_curve.png")
    save_figure(fig, paths[-1])
    plt.close(fig)
    return paths
