"""Reading the distillation experiment's results: paired comparisons and figures.

Every comparison pairs students of the same size and seed, which saw the same batches from the
same initial weights.
"""

from __future__ import annotations

from pathlib import Path

from lmlib.runtime.files import save_figure

MARKERS = "os^Dv"


def losses(record: dict, variant: str, size: str, objective: str) -> list[float]:
    """Held-out loss of each seed's student (in seed order)."""
    rows = [
        r
        for r in record["students"]
        if (r["variant"], r["size"], r["objective"]) == (variant, size, objective)
    ]
    return [r["held_out_loss"] for r in sorted(rows, key=lambda r: r["seed"])]


def comparisons(record: dict) -> dict:
    """Per size and objective: mean loss and recall, and the change in loss against gold-only
    students of the same size and seed (negative: the objective helps), with its seed count."""
    out = {}
    for variant in ("ladder", "noise", "self"):
        for size in dict.fromkeys(r["size"] for r in record["students"] if r["variant"] == variant):
            gold_variant = "noise" if variant == "noise" else "ladder"
            gold = losses(record, gold_variant, size, "gold")
            objs = dict.fromkeys(
                r["objective"]
                for r in record["students"]
                if r["variant"] == variant and r["size"] == size
            )
            for obj in objs:
                rows = [
                    r
                    for r in record["students"]
                    if (r["variant"], r["size"], r["objective"]) == (variant, size, obj)
                ]
                vals = losses(record, variant, size, obj)
                deltas = [v - g for v, g in zip(vals, gold)]
                out[f"{variant}/{size}/{obj}"] = {
                    "loss": sum(vals) / len(vals),
                    "tail_recall": sum(r["tail_recall"] for r in rows) / len(rows),
                    "fact_recall": sum(r["fact_recall"] for r in rows) / len(rows),
                    "delta_vs_gold": sum(deltas) / len(deltas),
                    "seeds_better": sum(d < 0 for d in deltas),
                    "n_seeds": len(deltas),
                }
    return out


def _rows(record: dict, variant: str, size: str | None = None) -> list[dict]:
    return [r for r in record["students"] if r["variant"] == variant and size in (None, r["size"])]


def _dots(ax, record: dict, variant: str, sizes: list[str], objectives, key: str) -> None:
    """One column per objective, one colour per size, one dot per seed, a bar at the mean."""
    width = 0.8 / len(sizes)
    for j, size in enumerate(sizes):
        for i, obj in enumerate(objectives):
            vals = [r[key] for r in _rows(record, variant, size) if r["objective"] == obj]
            x = i + (j - (len(sizes) - 1) / 2) * width
            ax.bar(
                x,
                sum(vals) / len(vals),
                width * 0.9,
                color=f"C{j}",
                alpha=0.35,
                label=f"student {size}" if i == 0 else None,
            )
            for k, v in enumerate(vals):
                ax.plot(
                    x + (k - (len(vals) - 1) / 2) * width * 0.25,
                    v,
                    MARKERS[k % 5],
                    color=f"C{j}",
                    ms=4,
                    label=f"seed {record['seeds'][k]}" if i == j == 0 else None,
                )
    ax.set_xticks(range(len(objectives)), objectives, rotation=20)


def draw_ladder(record: dict, outdir: Path) -> Path:
    import matplotlib.pyplot as plt

    sizes = [sz["name"] for sz in record["settings"]["students"]]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    for ax, key, label in [
        (axes[0], "held_out_loss", "held-out loss (nats/token)"),
        (axes[1], "tail_recall", "tail-fact recall (exact match)"),
    ]:
        _dots(ax, record, "ladder", sizes, record["ladder"], key)
        teacher = record["teachers"]["teacher"][key]
        ax.axhline(teacher, color="k", ls=":", label=f"teacher ({teacher:.3g})")
        ax.set(ylabel=label, xlabel="student objective")
    lo = min(r["held_out_loss"] for r in record["students"] if r["variant"] == "ladder")
    hi = max(r["held_out_loss"] for r in record["students"] if r["variant"] == "ladder")
    axes[0].set_ylim(min(lo, record["teachers"]["teacher"]["held_out_loss"]) * 0.97, hi * 1.02)
    axes[1].legend(fontsize=8, loc="upper left")
    fig.suptitle("The objective ladder: equal steps and batches for every student")
    fig.tight_layout()
    path = save_figure(fig, outdir / "distill_ladder.png")
    plt.close(fig)
    return path


def draw_variants(record: dict, outdir: Path) -> Path:
    import matplotlib.pyplot as plt

    big = record["settings"]["students"][-1]["name"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    ax = axes[0]
    _dots(ax, record, "noise", [big], record["noise_objectives"], "held_out_loss")
    clean = [r["held_out_loss"] for r in _rows(record, "ladder", big) if r["objective"] == "gold"]
    ax.axhline(sum(clean) / len(clean), color="C2", ls="--", label="gold, clean targets")
    noise = record["settings"]["noise"]
    ax.set(
        ylabel="clean held-out loss (nats/token)",
        xlabel="student objective",
        title=f"{noise:.0%} of training targets replaced",
    )
    ax.legend(fontsize=8)
    ax = axes[1]
    pairs = [
        ("ladder", "gold", "gold"),
        ("self", "soft+gold", "self-teacher"),
        ("ladder", "soft+gold", "large teacher"),
    ]
    for i, (variant, obj, _) in enumerate(pairs):
        vals = [r["held_out_loss"] for r in _rows(record, variant, big) if r["objective"] == obj]
        ax.bar(i, sum(vals) / len(vals), 0.6, color=f"C{i}", alpha=0.35)
        for k, v in enumerate(vals):
            ax.plot(i + (k - (len(vals) - 1) / 2) * 0.1, v, MARKERS[k % 5], color=f"C{i}", ms=4)
    self_t = record["teachers"]["self"]["held_out_loss"]
    ax.axhline(self_t, color="k", ls=":", label=f"self-teacher ({self_t:.3g})")
    ax.set_xticks(range(len(pairs)), [p[2] for p in pairs])
    ax.set(ylabel="held-out loss (nats/token)", title=f"Self-distillation, student {big}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = save_figure(fig, outdir / "distill_variants.png")
    plt.close(fig)
    return path


def draw_all(record: dict, outdir: Path) -> list[Path]:
    outdir.mkdir(parents=True, exist_ok=True)
    return [draw_ladder(record, outdir), draw_variants(record, outdir)]
