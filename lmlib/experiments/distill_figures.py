"""Reading the distillation experiment's results: paired comparisons and figures.

Every comparison pairs students of the same size and seed, which saw the same batches from the
same initial weights.
"""

from __future__ import annotations

from pathlib import Path

from lmlib.runtime.files import save_figure

MARKERS = "os^Dv"


VARIANTS = ("ladder", "teacher2", "noise", "self", "limited", "limited2")
GOLD_OF = {"noise": "noise", "limited": "limited", "limited2": "limited"}  # else "ladder"


def scores(record: dict, variant: str, size: str, objective: str, key: str) -> list[float]:
    """`key` of each seed's student (in seed order)."""
    rows = [
        r
        for r in record["students"]
        if (r["variant"], r["size"], r["objective"]) == (variant, size, objective)
    ]
    return [r[key] for r in sorted(rows, key=lambda r: r["seed"])]


def losses(record: dict, variant: str, size: str, objective: str) -> list[float]:
    """Held-out loss of each seed's student (in seed order)."""
    return scores(record, variant, size, objective, "held_out_loss")


def _paired(vals: list[float], gold: list[float], sign: int) -> dict:
    """Change against gold-only per seed (sign -1: lower is better, loss; +1: accuracy), the seed
    spread (the larger range over seeds of the two), and the seeds where the objective is better
    than gold-only, and better by more than that spread."""
    deltas = [v - g for v, g in zip(vals, gold)]
    spread = max(max(vals) - min(vals), max(gold) - min(gold))
    return {
        "deltas": deltas,
        "delta_vs_gold": sum(deltas) / len(deltas),
        "spread": spread,
        "seeds_better": sum(sign * d > 0 for d in deltas),
        "seeds_better_by_spread": sum(sign * d > spread for d in deltas),
    }


def comparisons(record: dict) -> dict:
    """Per variant, size and objective: mean loss, accuracy and recall, and the changes in loss
    and in accuracy against gold-only students of the same size and seed (trained on the same
    text: the noisy one for the noise variant, the limited one for the data-limited arm)."""
    out = {}
    students = record["students"]
    for variant in VARIANTS:
        for size in dict.fromkeys(r["size"] for r in students if r["variant"] == variant):
            base = GOLD_OF.get(variant, "ladder")
            objs = dict.fromkeys(
                r["objective"] for r in students if r["variant"] == variant and r["size"] == size
            )
            for obj in objs:
                key = (variant, size, obj)
                rows = [r for r in students if (r["variant"], r["size"], r["objective"]) == key]
                vals = losses(record, variant, size, obj)
                acc = scores(record, variant, size, obj, "held_out_accuracy")
                loss_vs = _paired(vals, losses(record, base, size, "gold"), -1)
                acc_vs = _paired(acc, scores(record, base, size, "gold", "held_out_accuracy"), 1)
                out[f"{variant}/{size}/{obj}"] = {
                    "loss": sum(vals) / len(vals),
                    "accuracy": sum(acc) / len(acc),
                    "tail_recall": sum(r["tail_recall"] for r in rows) / len(rows),
                    "fact_recall": sum(r["fact_recall"] for r in rows) / len(rows),
                    **loss_vs,
                    "accuracy_vs_gold": acc_vs,
                    "n_seeds": len(vals),
                }
    return out


def _rows(record: dict, variant: str, size: str | None = None) -> list[dict]:
    return [r for r in record["students"] if r["variant"] == variant and size in (None, r["size"])]


def _dots(ax, record: dict, groups: list[tuple[str, str, str]], key: str, paired: bool, top=None):
    """One column per (variant, size, objective) group, coloured by size: a dot per seed and a
    bar at the mean. paired: the change against the gold-only student of the same size and seed
    (its own variant's for the noisy students). Values above `top` are drawn at it, labelled."""
    sizes = list(dict.fromkeys(g[1] for g in groups))
    for i, (variant, size, obj) in enumerate(groups):
        rows = sorted(_rows(record, variant, size), key=lambda r: r["seed"])
        vals = [r[key] for r in rows if r["objective"] == obj]
        if paired:
            base = GOLD_OF.get(variant, "ladder")
            gold = [r[key] for r in sorted(_rows(record, base, size), key=lambda r: r["seed"])
                    if r["objective"] == "gold"]  # fmt: skip
            vals = [v - g for v, g in zip(vals, gold)]
        mean, c = sum(vals) / len(vals), f"C{sizes.index(size)}"
        shown = min(mean, top) if top is not None else mean
        ax.bar(i, shown, 0.7, color=c, alpha=0.35)
        if top is not None and mean > top:
            ax.annotate(f"{mean:+.2f}", (i, top), ha="center", va="top", fontsize=8)
        for k, v in enumerate(vals):
            y = min(v, top) if top is not None else v
            ax.plot(i + (k - (len(vals) - 1) / 2) * 0.15, y, MARKERS[k % 5], color=c, ms=4,
                    label=f"seed {record['seeds'][k]}" if i == 0 else None)  # fmt: skip
    ax.set_xticks(range(len(groups)), [f"{g[2]}\n{g[1]}" for g in groups], fontsize=7, rotation=30)
    if paired:
        ax.axhline(0, color="k", lw=0.8)


def draw_ladder(record: dict, outdir: Path) -> Path:
    import matplotlib.pyplot as plt

    sizes = [sz["name"] for sz in record["settings"]["students"]]
    groups = [("ladder", size, obj) for size in sizes for obj in record["ladder"]]
    fig, axes = plt.subplots(1, 2, figsize=(14, 4.2))
    _dots(axes[0], record, groups, "held_out_loss", True, top=0.35)
    axes[0].set(ylabel="held-out loss minus gold-only's (nats)",
                title="Change in held-out loss (below 0: better than gold-only)")  # fmt: skip
    _dots(axes[1], record, groups, "tail_recall", False)
    teacher = record["teachers"]["teacher"]["tail_recall"]
    axes[1].axhline(teacher, color="k", ls=":", label=f"teacher ({teacher:.0%})")
    axes[1].set(ylabel="tail-fact recall (exact match)", title="Facts seen 1 to 15 times")
    axes[1].legend(fontsize=8, loc="center left")
    fig.suptitle("The objective ladder: equal steps, batches and initial weights per size and seed")
    fig.tight_layout()
    path = save_figure(fig, outdir / "distill_ladder.png")
    plt.close(fig)
    return path


def draw_variants(record: dict, outdir: Path) -> Path:
    import matplotlib.pyplot as plt

    big = record["settings"]["students"][-1]["name"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    noisy = [("noise", big, obj) for obj in record["noise_objectives"]]
    _dots(axes[0], record, noisy, "held_out_loss", True, top=0.35)
    noise = record["settings"]["noise"]
    axes[0].set(ylabel="clean held-out loss minus gold-only's (nats)",
                title=f"{noise:.0%} of training targets replaced (teacher too)")  # fmt: skip
    axes[0].legend(fontsize=8)
    pairs = [("self", big, "soft+gold"), ("ladder", big, "soft+gold"), ("ladder", big, "soft_T1")]
    _dots(axes[1], record, pairs, "held_out_loss", True)
    axes[1].set_xticks(range(3), ["soft+gold\nself-teacher", "soft+gold\nlarge teacher",
                                  "soft_T1\nlarge teacher"], fontsize=8)  # fmt: skip
    axes[1].set(ylabel="held-out loss minus gold-only's (nats)",
                title=f"Self-distillation, student {big}")  # fmt: skip
    fig.tight_layout()
    path = save_figure(fig, outdir / "distill_variants.png")
    plt.close(fig)
    return path


def draw_limited(record: dict, outdir: Path) -> Path:
    """The data-limited arm: change in loss and in accuracy against its gold-only student."""
    import matplotlib.pyplot as plt

    size = record["settings"]["limited"]["name"]
    groups = [(v, size, o) for v in ("limited", "limited2") for o in record["limited_objectives"]
              if o != "gold"]  # fmt: skip
    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    _dots(axes[0], record, groups, "held_out_loss", True, top=0.35)
    _dots(axes[1], record, groups, "held_out_accuracy", True)
    for ax in axes:
        ax.set_xticks(range(len(groups)), [f"{o}\n{'first' if v == 'limited' else 'second'} "
                      "teacher" for v, _, o in groups], fontsize=7, rotation=30)  # fmt: skip
    axes[0].set(ylabel="held-out loss minus gold-only's (nats)", title="Loss (below 0: better)")
    axes[1].set(ylabel="accuracy minus gold-only's", title="Next-token accuracy (above 0: better)")
    axes[0].legend(fontsize=8)
    frac = record["settings"]["limited_fraction"]
    fig.suptitle(f"Students of the teacher's size on {frac:.0%} of the text, several epochs")
    fig.tight_layout()
    path = save_figure(fig, outdir / "distill_limited.png")
    plt.close(fig)
    return path


def draw_all(record: dict, outdir: Path) -> list[Path]:
    outdir.mkdir(parents=True, exist_ok=True)
    out = [draw_ladder(record, outdir), draw_variants(record, outdir)]
    if record["settings"].get("limited"):
        out.append(draw_limited(record, outdir))
    return out
