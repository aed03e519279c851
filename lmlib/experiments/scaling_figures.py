"""Figures of the scaling sweep, drawn from its results files (no training).

`lmlib run scaling --figures` writes scaling_*.png (chapter "Scaling: compute predicts loss") and
emergence_*.png (chapter "Emergence, inverse and U-shaped scaling") into lectures/figures/.
"""

from __future__ import annotations

from pathlib import Path

import torch

from lmlib.analysis.power_law import PowerLawFit
from lmlib.data.multitask import TASKS
from lmlib.runtime.files import save_figure

# task -> (probe, metric, label): the headline metric of each probe
HEADLINE = {
    "agreement": ("agreement", "two_way", "agreement (two-way)"),
    "sentiment": ("sentiment", "two_way", "sentiment (two-way)"),
    "facts": ("facts", "exact", "facts (exact match)"),
    "quotes": ("quotes", "exact", "quote endings (exact match)"),
    "copying": ("copying", "exact", "copying (exact match)"),
    "arithmetic_1": ("arithmetic_1", "exact", "1-digit addition (exact)"),
    "arithmetic_2": ("arithmetic_2", "exact", "2-digit addition (exact)"),
    "arithmetic_3": ("arithmetic_3", "exact", "3-digit addition (exact)"),
    "memo_trap": ("memo_trap", "two_way", "memo trap (prefers the altered word)"),
}


def _save(fig, outdir: Path, name: str) -> Path:
    import matplotlib.pyplot as plt

    outdir.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    path = outdir / name
    save_figure(fig, path)
    plt.close(fig)
    return path


def _curve(ax, s: dict, key: str, label: str | None = None, **kw) -> None:
    """Mean over seeds against compute, with one standard deviation as error bars."""
    stats = s["metrics"][key]
    ys = [stats[n][0] for n in s["sizes"]]
    err = [stats[n][1] for n in s["sizes"]]
    ax.errorbar(s["compute"], ys, yerr=err, marker="o", capsize=3, label=label, **kw)
    ax.set_xscale("log")


def _size_labels(ax, s: dict) -> None:
    for c, n, p in zip(s["compute"], s["sizes"], s["params"]):
        ax.annotate(
            f"{n}\n{p / 1e3:.0f}K",
            (c, 0),
            xycoords=("data", "axes fraction"),
            xytext=(0, 3),
            textcoords="offset points",
            ha="center",
            fontsize=7,
        )


def draw_all(runs: list[dict], s: dict, outdir: Path) -> list[Path]:
    import matplotlib.pyplot as plt

    paths = []
    # 1. loss against compute and against parameters, with the power-law fits
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, key, xlabel in (
        (axes[0], "compute", "training compute C (FLOPs)"),
        (axes[1], "params", "non-embedding parameters N"),
    ):
        x_of = {
            r["size"]: r["compute" if key == "compute" else "params_non_embedding"] for r in runs
        }
        ax.scatter(
            [x_of[r["size"]] for r in runs],
            [r["decomposition"]["loss"] for r in runs],
            s=14,
            color="C0",
            alpha=0.6,
            label="one run (seed)",
        )
        fit = PowerLawFit(**s["fits"][key])
        xs = torch.logspace(
            torch.tensor(min(s[key])).log10(), torch.tensor(max(s[key])).log10(), 50
        )
        ax.plot(
            xs,
            fit.predict(xs),
            "C1-",
            label=f"fit: {fit.l_inf:.2f} + {fit.a:.3g} x^-{fit.alpha:.2f} (R²={fit.r2:.3f})",
        )
        ax.axhline(fit.l_inf, color="C1", ls=":", lw=1)
        ax.set(xscale="log", xlabel=xlabel, ylabel="held-out loss (nats per word)")
        ax.legend(fontsize=8)
    axes[0].set_title("Loss falls as a power law of compute")
    axes[1].set_title("... and of model size (same tokens for every size)")
    paths.append(_save(fig, outdir, "scaling_loss_vs_compute.png"))

    # 2. the loss decomposition: each family's contribution share * loss, by size
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    seed0 = [r for r in runs if r["seed"] == min(s["seeds"])]
    bottom = torch.zeros(len(seed0))
    for i, fam in enumerate(TASKS):
        part = torch.tensor(
            [
                t["share"] * t["loss"]
                for r in seed0
                for t in r["decomposition"]["tasks"]
                if t["task"] == fam
            ]
        )
        axes[0].bar(range(len(seed0)), part, bottom=bottom, color=f"C{i}", label=fam)
        bottom += part
        losses = [t["loss"] for r in seed0 for t in r["decomposition"]["tasks"] if t["task"] == fam]
        axes[1].plot([r["compute"] for r in seed0], losses, "o-", color=f"C{i}", label=fam)
    axes[0].set_xticks(range(len(seed0)), [r["size"] for r in seed0])
    axes[0].set(
        xlabel="model size",
        ylabel="share x mean loss (nats per word)",
        title="Overall loss = sum of the families' parts",
    )
    axes[1].set(
        xscale="log",
        xlabel="training compute (FLOPs)",
        ylabel="mean loss (nats per word)",
        title="Each family's own loss",
    )
    axes[0].legend(fontsize=7)
    paths.append(_save(fig, outdir, "scaling_decomposition.png"))

    # 3. tail knowledge: recall against how often a fact was seen, per size
    fig, ax = plt.subplots(figsize=(7, 4))
    for i, r in enumerate(seed0):
        rows = r["facts_by_count"]
        ax.plot(
            range(len(rows)),
            [row["exact"] for row in rows],
            "o-",
            color=plt.cm.viridis(i / len(seed0)),
            label=f"{r['size']} ({r['params'] / 1e3:.0f}K)",
        )
    ax.set_xticks(range(len(rows)), [_bin_label(rows, j) for j in range(len(rows))])
    ax.set(
        xlabel="times the fact occurred in training",
        ylabel="recall (exact match)",
        title="Tail knowledge needs scale",
        ylim=(-0.02, 1.02),
    )
    ax.legend(fontsize=8)
    paths.append(_save(fig, outdir, "scaling_tail_knowledge.png"))

    # 4. every task's headline metric against compute
    fig, axes = plt.subplots(3, 3, figsize=(11, 8.5), sharex=True)
    for ax, (probe, metric, label) in zip(axes.flat, HEADLINE.values()):
        _curve(ax, s, f"{probe}/{metric}")
        if metric == "two_way":
            ax.axhline(0.5, color="gray", ls=":", lw=1)
        ax.set(title=label, ylim=(-0.03, 1.03))
    for ax in axes[-1]:
        ax.set_xlabel("training compute (FLOPs)")
    fig.suptitle("Same models, same corpus: smooth, sudden, flat and U-shaped tasks")
    paths.append(_save(fig, outdir, "emergence_tasks.png"))

    # 5. one task, three metrics
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.6))
    for ax, metric, ylabel in zip(
        axes,
        ("exact", "token_acc", "loss"),
        ("exact match", "per-token accuracy", "answer log-loss (nats)"),
    ):
        for i, probe in enumerate(("copying", "arithmetic_1", "arithmetic_2", "arithmetic_3")):
            _curve(ax, s, f"{probe}/{metric}", probe, color=f"C{i}")
        ax.set(xlabel="training compute (FLOPs)", ylabel=ylabel)
    axes[0].legend(fontsize=8)
    fig.suptitle("The metric decides how sudden a jump looks")
    paths.append(_save(fig, outdir, "emergence_metrics.png"))

    # 6. the memo trap and its subtasks
    fig, ax = plt.subplots(figsize=(7, 4))
    _curve(ax, s, "memo_trap/two_way", "memo trap: prefers the altered ending", color="C3", lw=2)
    _curve(ax, s, "quotes/exact", "subtask: knows the quote", color="C0", ls="--")
    _curve(ax, s, "copying/exact", "subtask: copies a random list", color="C2", ls="--")
    ax.axhline(0.5, color="gray", ls=":", lw=1)
    ax.set(
        xlabel="training compute (FLOPs)",
        ylabel="fraction of items",
        ylim=(-0.03, 1.03),
        title="U-shaped scaling: a prompt that is two tasks at once",
    )
    _size_labels(ax, s)
    ax.legend(fontsize=8, loc="center left")
    paths.append(_save(fig, outdir, "emergence_memo_trap.png"))
    return paths


def _bin_label(rows: list[dict], j: int) -> str:
    lo = rows[j]["min_count"]
    if j + 1 < len(rows):
        hi = rows[j + 1]["min_count"] - 1
        return str(lo) if hi == lo else f"{lo}-{hi}"
    return f"{lo}+"
