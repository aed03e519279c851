"""Figures of the objectives experiment, drawn from its summary.json alone."""

from __future__ import annotations

from pathlib import Path

from lmlib.analysis.mini_glue import TASKS
from lmlib.runtime.files import save_figure

# A colour and a marker per objective: never red against green alone (colorblind readers).
COLORS = {"mlm": "tab:blue", "electra-0.25": "tab:red", "all_tokens_mlm": "black"}
COLORS["electra_15"] = "tab:purple"
MARKERS = {"mlm": "o", "electra-0.25": "s", "all_tokens_mlm": "^", "electra_15": "D"}
LABELS = {"mlm": "MLM (BERT)", "electra-0.25": "ELECTRA (generator 1/4)"}
LABELS |= {"all_tokens_mlm": "All-Tokens MLM", "electra_15": "ELECTRA 15%"}


def draw_all(summary: dict, outdir: Path) -> list[Path]:
    return [equal_compute(summary, outdir), generator_sizes(summary, outdir)]


def equal_compute(summary: dict, outdir: Path) -> Path:
    """Mini-GLUE accuracy against pretraining FLOPs, one line per objective and seed."""
    import matplotlib.pyplot as plt

    outdir.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(1, len(TASKS) + 1, figsize=(14, 3.6), sharex=True)
    for name, color in COLORS.items():
        for i, (_, run) in enumerate(sorted(summary["runs"].get(name, {}).items())):
            flops = [p["flops"] for p in run["points"]]
            for ax, key in zip(axes, (*TASKS, "score")):
                label = f"{LABELS[name]}" if i == 0 else None
                ax.plot(flops, [p[key] for p in run["points"]], marker=MARKERS[name], ms=3,
                        color=color, alpha=0.8, ls="--" if i else "-", label=label)  # fmt: skip
    for ax, key in zip(axes, (*TASKS, "score")):
        ax.set(title=key if key != "score" else "mean of the three", xlabel="pretraining FLOPs")
        ax.axhline(0.5, color="grey", lw=0.5)
    axes[0].set_ylabel("held-out accuracy (few-shot probe)")
    axes[0].legend(fontsize=7)
    fig.suptitle(f"Equal pretraining compute, seeds solid / dashed ({summary['profile']} profile)")
    fig.tight_layout()
    path = outdir / "objectives_equal_compute.png"
    save_figure(fig, path)
    plt.close(fig)
    return path


def generator_sizes(summary: dict, outdir: Path) -> Path:
    """Final mini-GLUE accuracy against the generator's width, every seed drawn."""
    import matplotlib.pyplot as plt

    outdir.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    widths = sorted(
        (float(n.split("-")[1]), n) for n in summary["runs"] if n.startswith("electra-")
    )
    for ax, key in zip(axes, ("sentiment", "score")):
        for w, name in widths:
            for seed, run in sorted(summary["runs"][name].items()):
                ax.plot(w, run["final"][key], "o", color=f"C{int(seed)}", label=None)
        seeds = sorted({s for _, n in widths for s in summary["runs"][n]})
        for seed in seeds:
            have = [(w, n) for w, n in widths if seed in summary["runs"][n]]
            ys = [summary["runs"][n][seed]["final"][key] for _, n in have]
            ax.plot([w for w, _ in have], ys, "-", color=f"C{int(seed)}", lw=0.8,
                    label=f"seed {seed}")  # fmt: skip
        for seed, run in sorted(summary["runs"].get("mlm", {}).items()):
            ax.axhline(run["final"][key], color=f"C{int(seed)}", ls=":", lw=1,
                       label=f"MLM, seed {seed}")  # fmt: skip
        ax.set(xscale="log", xlabel="generator width / discriminator width",
               title=key if key != "score" else "mean of the three")  # fmt: skip
        ax.set_xticks([w for w, _ in widths], [f"{w:g}" for w, _ in widths])
        ax.minorticks_off()  # the log axis's minor labels would overlap the widths
    axes[0].set_ylabel("held-out accuracy at the full budget")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    path = outdir / "objectives_generator_size.png"
    save_figure(fig, path)
    plt.close(fig)
    return path
