"""Figures of the objectives experiment, drawn from its summary.json alone."""

from __future__ import annotations

from pathlib import Path

from lmlib.analysis.context_tasks import TASKS
from lmlib.runtime.files import save_figure

# A colour and a marker per objective: never red against green alone (colorblind readers).
STYLE = {
    "mlm": ("tab:blue", "o", "MLM (BERT)"),
    "electra": ("tab:red", "s", "ELECTRA (generator 1/4)"),
    "replace_mlm": ("tab:olive", "v", "Replace MLM"),
    "all_tokens_mlm": ("black", "^", "All-Tokens MLM"),
    "electra_15": ("tab:purple", "D", "ELECTRA 15%"),
}


def draw_all(summary: dict, outdir: Path) -> list[Path]:
    return [equal_compute(summary, outdir), paired_differences(summary, outdir)]


def equal_compute(summary: dict, outdir: Path) -> Path:
    """Fine-tuned accuracy against pretraining FLOPs, one line per objective and seed, with the
    bag-of-words floor of each task."""
    import matplotlib.pyplot as plt

    outdir.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(1, len(TASKS) + 1, figsize=(14, 3.6), sharex=True)
    for name, (color, marker, label) in STYLE.items():
        for i, (_, run) in enumerate(sorted(summary["runs"].get(name, {}).items())):
            flops = [max(p["flops"], 1e10) for p in run["points"]]  # untrained drawn at 1e10
            for ax, key in zip(axes, (*TASKS, "score")):
                ax.plot(flops, [100 * p[key] for p in run["points"]], marker=marker, ms=3,
                        color=color, alpha=0.7, lw=1, label=label if i == 0 else None)  # fmt: skip
    for ax, key in zip(axes, (*TASKS, "score")):
        bow = summary["bag_of_words"]
        level = bow[key] if key in bow else sum(bow.values()) / len(bow)
        ax.axhline(100 * level, color="grey", ls=":", lw=1)
        ax.set(title=key if key != "score" else "mean of the three", xscale="log",
               xlabel="pretraining FLOPs (untrained at the left)")  # fmt: skip
    axes[0].set_ylabel("held-out accuracy after fine-tuning (%)")
    axes[0].legend(fontsize=7)
    fig.suptitle(
        f"Equal pretraining compute, every seed; dotted: bag of words ({summary['profile']})"
    )
    fig.tight_layout()
    path = outdir / "objectives_equal_compute.png"
    save_figure(fig, path)
    plt.close(fig)
    return path


def paired_differences(summary: dict, outdir: Path) -> Path:
    """Each objective's score minus MLM's at each checkpoint, seed by seed, with 2 SE bars."""
    import matplotlib.pyplot as plt

    outdir.mkdir(parents=True, exist_ok=True)
    names = [n for n in STYLE if n in summary["versus_mlm"]]
    fig, axes = plt.subplots(1, len(names), figsize=(3.4 * len(names), 3.4), sharey=True,
                             squeeze=False)  # fmt: skip
    for ax, name in zip(axes[0], names):
        for j, (seed, diffs) in enumerate(sorted(summary["versus_mlm"][name].items())):
            x = [d["share"] * (1 + 0.08 * (j - 1)) for d in diffs]  # seeds side by side
            ax.errorbar(x, [100 * d["diff"] for d in diffs], [200 * d["se"] for d in diffs],
                        marker="os^"[j % 3], ls="-", lw=0.8, capsize=2, color=f"C{j}",
                        label=f"seed {seed}")  # fmt: skip
        ax.axhline(0, color="grey", lw=0.8)
        ax.set(xscale="log", xlabel="share of the budget", title=f"{STYLE[name][2]} - MLM")
        shares = summary["settings"]["pretrain"]["checkpoints"]
        ax.set_xticks(shares, [f"{c:g}" for c in shares])
        ax.minorticks_off()
    axes[0][0].set_ylabel("score difference (points, bars 2 SE)")
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    path = outdir / "objectives_paired_differences.png"
    save_figure(fig, path)
    plt.close(fig)
    return path
