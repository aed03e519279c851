"""Figures of the scaling sweep, drawn from its results files (no training).

`lmlib run scaling --figures` writes scaling_*.png (chapter "Scaling: compute predicts loss") and
emergence_*.png (chapter "Emergence, inverse and U-shaped scaling") into lectures/figures/.
Task curves are drawn along the main ladder (one depth, widths evenly spaced in log compute), the
two-layer control dashed beside it; sizes are coloured by compute (dark = little compute); curves
show the median over seeds with min-max bars, or one line per seed where the seeds disagree.
"""

from __future__ import annotations

from pathlib import Path

import torch

from lmlib.analysis.power_law import PowerLawFit
from lmlib.data.multitask import TASKS
from lmlib.experiments.emergence_figures import (
    MARKERS,
    SEED_STYLES,
    _save,
    draw_emergence,
    ladder_view,
)
from lmlib.experiments.scaling_summary import snapshot_compute

# task -> (probe, metric, label): the headline metric of each probe
HEADLINE = {
    "agreement": ("agreement", "two_way", "agreement (two-way)"),
    "sentiment": ("sentiment", "two_way", "sentiment (two-way)"),
    "facts": ("facts", "exact", "facts (exact match)"),
    "quotes": ("quotes", "exact", "quote endings (exact match)"),
    "copying": ("copying", "exact", "copying (exact match)"),
    "arithmetic_1": ("arithmetic_1_seen", "exact", "1-digit sums, all seen (exact)"),
    "arithmetic_3": ("arithmetic_3", "exact", "3-digit sums, held out (exact)"),
    "arithmetic_3_digits": ("arithmetic_3", "token_acc", "3-digit sums, held out (per digit)"),
    "memo_trap": ("memo_trap", "two_way", "memo trap (two-way)"),
}


def size_colour(i: int, n: int):
    """Colour of the i-th size of n by compute (viridis: dark = least compute)."""
    import matplotlib.pyplot as plt

    return plt.cm.viridis(0.85 * i / max(1, n - 1))


def _curve(ax, s: dict, key: str, label: str | None = None, lo=None, hi=None, **kw) -> None:
    """The median over seeds against compute with min-max bars (clipped to [lo, hi]); when the
    seeds disagree on the curve's shape, one line per seed instead."""
    stats = s["metrics"][key]
    shape = s.get("shapes", {}).get(key, {}).get("label")
    if shape == "seed-dependent":
        for j, seed in enumerate(s["seeds"]):
            ys = [stats[n]["seeds"][str(seed)] for n in s["sizes"]]
            ax.plot(
                s["compute"],
                ys,
                marker="o",
                ls=SEED_STYLES[j % 4],
                lw=1,
                label=f"{label or key}, seed {seed}" if label else None,
                color=kw.get("color"),
            )
    else:
        med = torch.tensor([stats[n]["median"] for n in s["sizes"]])
        low = torch.tensor([stats[n]["min"] for n in s["sizes"]])
        high = torch.tensor([stats[n]["max"] for n in s["sizes"]])
        if lo is not None or hi is not None:
            low, high = low.clamp(lo, hi), high.clamp(lo, hi)
        ax.errorbar(
            s["compute"],
            med,
            yerr=torch.stack([med - low, high - med]),
            marker="o",
            capsize=3,
            label=label,
            **kw,
        )
    ax.set_xscale("log")


def draw_all(runs: list[dict], s: dict, outdir: Path) -> list[Path]:
    import matplotlib.pyplot as plt

    full, control = s, ladder_view(s, "control")
    s = ladder_view(s, "main")
    sizes, n = s["sizes"], len(s["sizes"])
    order = {name: i for i, name in enumerate(sizes)}
    runs = sorted(
        (r for r in runs if r["size"] in order), key=lambda r: (order[r["size"]], r["seed"])
    )
    paths = []

    # 1. the loss curves, their frontier and its fit; the held-out prediction of the largest size
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    ax = axes[0]
    for r in runs:
        pts = [(snapshot_compute(r, sn), sn["loss"]) for sn in r["snapshots"] if sn["step"] > 0]
        ax.plot(
            *zip(*pts),
            "-",
            lw=0.8,
            alpha=0.6,
            color=size_colour(order[r["size"]], n),
            label=r["size"] if r["seed"] == s["seeds"][0] else None,
        )
    if "frontier" in s:
        f, h = s["frontier"], s["held_out"]["pooled"]
        fit = PowerLawFit(**f["fit"])
        cs, ls_ = zip(*f["points"])
        ax.plot(cs, ls_, "k.", ms=5, label="frontier (seed medians)")
        xs = torch.logspace(torch.tensor(cs[0]).log10(), torch.tensor(cs[-1]).log10(), 60)
        lo, hi = f["alpha_interval"]
        ax.plot(
            xs,
            fit.predict(xs),
            "r-",
            lw=1.5,
            label=f"fit: {fit.l_inf:.2f} + a C^-{fit.alpha:.2f} [{lo:.2f}, {hi:.2f}]",
        )
        ax2 = axes[1]
        for r in runs:
            ax2.plot(
                r["compute"],
                r["decomposition"]["loss"],
                "o",
                ms=4,
                alpha=0.7,
                color=size_colour(order[r["size"]], n),
            )
        ax2.plot(h["compute"], h["predicted"], "r*", ms=14, label=f"predicted {h['predicted']:.3f}")
        ax2.plot(
            h["compute"],
            h["measured"],
            "kx",
            ms=10,
            mew=2,
            label=f"measured (median) {h['measured']:.3f}",
        )
        ax2.plot(
            h["compute"],
            h["naive"],
            "s",
            mfc="none",
            color="gray",
            label=f"last fitted size's loss {h['naive']:.3f}",
        )
        ax2.set(
            xscale="log",
            xlabel="training compute C (FLOPs)",
            ylabel="final held-out loss",
            title=f"{h['size']} predicted from sizes with {h['ahead']:.0f}x less compute",
        )
        ax2.legend(fontsize=8)
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="training compute C (FLOPs)",
        ylabel="held-out loss (nats per word)",
        title="Loss curves and their frontier",
    )
    ax.legend(fontsize=7, ncol=2)
    paths.append(_save(fig, outdir, "scaling_loss_vs_compute.png"))

    # 2. the loss decomposition: each family's contribution share * loss, by size (first seed)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    seed0 = [r for r in runs if r["seed"] == s["seeds"][0]]
    bottom = torch.zeros(len(seed0))
    for i, fam in enumerate(TASKS):
        tasks = [{t["task"]: t for t in r["decomposition"]["tasks"]}[fam] for r in seed0]
        part = torch.tensor([t["share"] * t["loss"] for t in tasks])
        axes[0].bar(range(len(seed0)), part, bottom=bottom, color=f"C{i}", label=fam)
        bottom += part
        axes[1].plot(
            [r["compute"] for r in seed0],
            [t["loss"] for t in tasks],
            marker=MARKERS[i % len(MARKERS)],
            color=f"C{i}",
            label=fam,
        )
    axes[0].set_xticks(range(len(seed0)), [r["size"] for r in seed0])
    axes[0].set(
        xlabel="model size (by compute)",
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

    # 3. tail knowledge: recall against how often a fact was seen, per size (median over seeds)
    fig, ax = plt.subplots(figsize=(7, 4))
    for i, name in enumerate(sizes):
        rows = [r["facts_by_count"] for r in runs if r["size"] == name]
        med = torch.tensor([[row["exact"] for row in rs] for rs in rows]).median(dim=0).values
        ax.plot(
            range(len(med)),
            med,
            "o-",
            color=size_colour(i, n),
            label=f"{name} ({s['params'][i] / 1e3:.0f}K)",
        )
    ax.set_xticks(range(len(rows[0])), [_bin_label(rows[0], j) for j in range(len(rows[0]))])
    ax.set(
        xlabel="times the fact occurred in training",
        ylabel="recall (exact match, median)",
        title="Tail knowledge needs scale",
        ylim=(-0.02, 1.02),
    )
    ax.legend(fontsize=8)
    paths.append(_save(fig, outdir, "scaling_tail_knowledge.png"))

    # 4. every task's headline metric against compute, with its shape label (per decade)
    fig, axes = plt.subplots(3, 3, figsize=(11, 8.5), sharex=True)
    for ax, (probe, metric, label) in zip(axes.flat, HEADLINE.values()):
        key = f"{probe}/{metric}"
        if key not in s["metrics"]:
            ax.set_visible(False)
            continue
        _curve(ax, s, key, "3 layers", 0.0, 1.0, color="C0")
        if len(control["sizes"]) >= 2:
            _curve(ax, control, key, "2 layers", 0.0, 1.0, color="gray", ls="--")
        if metric == "two_way":
            ax.axhline(0.5, color="gray", ls=":", lw=1)
        shape = s["shapes"].get(key, {}).get("label", "")
        ax.set(title=f"{label}: {shape}", ylim=(-0.03, 1.03))
    axes.flat[0].legend(fontsize=7)
    for ax in axes[-1]:
        ax.set_xlabel("training compute (FLOPs)")
    fig.suptitle("Same models, same corpus: each task's curve (median, min-max over seeds)")
    paths.append(_save(fig, outdir, "emergence_tasks.png"))

    fig, axes = plt.subplots(1, 3, figsize=(12, 3.8))
    probes = ("arithmetic_2_seen", "arithmetic_3", "copying")
    for ax, metric, ylabel in zip(
        axes,
        ("exact", "token_acc", "loss"),
        ("exact match", "per-digit / per-token accuracy", "answer log-loss (nats per token)"),
    ):
        for i, probe in enumerate(p for p in probes if f"{p}/{metric}" in s["metrics"]):
            for j, seed in enumerate(s["seeds"]):
                ys = [s["metrics"][f"{probe}/{metric}"][n_]["seeds"][str(seed)] for n_ in sizes]
                ax.plot(
                    s["compute"],
                    ys,
                    marker=MARKERS[i % len(MARKERS)],
                    ms=3,
                    lw=1,
                    ls=SEED_STYLES[j % 4],
                    color=f"C{i}",
                    label=probe if j == 0 else None,
                )
        ax.set(xscale="log", xlabel="training compute (FLOPs)", ylabel=ylabel)
    axes[0].legend(fontsize=8)
    fig.suptitle("Three metrics of the same answers, three layers (one line per seed)")
    paths.append(_save(fig, outdir, "emergence_metrics.png"))

    paths += draw_emergence(full, s, outdir)
    return paths


def _bin_label(rows: list[dict], j: int) -> str:
    lo = rows[j]["min_count"]
    if j + 1 < len(rows):
        hi = rows[j + 1]["min_count"] - 1
        return str(lo) if hi == lo else f"{lo}-{hi}"
    return f"{lo}+"
