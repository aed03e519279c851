"""The emergence chapter's mirage and memo-trap figures of the scaling sweep, from its summary
(lmlib.experiments.scaling_figures draws the rest and calls draw_emergence)."""

from __future__ import annotations

from pathlib import Path


def draw_emergence(full: dict, s: dict, outdir: Path) -> list[Path]:
    """full: the sweep's summary; s: its main-ladder view (scaling_figures.ladder_view)."""
    import matplotlib.pyplot as plt

    from lmlib.experiments.scaling_figures import MARKERS, SEED_STYLES, _save, ladder_view

    paths = []
    # 5. the mirage: per-fact recall and all-or-nothing composites of it, every seed
    fig, ax = plt.subplots(figsize=(7, 4))
    for i, (part, label) in enumerate(
        (
            ("recall", "per-fact recall"),
            ("quiz", "quiz: 4 facts, 4 people, all right"),
            ("product", "product of the 4 relations' recalls"),
            ("person", "all 4 facts of one person right"),
        )
    ):
        for j, seed in enumerate(s["seeds"]):
            rows = full.get("mirage", {}).get(str(seed), {}).get("sizes", [])
            if rows:
                ax.plot(
                    s["compute"],
                    [row[part] for row in rows],
                    marker=MARKERS[i],
                    ms=3,
                    lw=1,
                    ls=SEED_STYLES[j % 4],
                    color=f"C{i}",
                    label=label if j == 0 else None,
                )
    ax.set(
        xscale="log",
        xlabel="training compute (FLOPs)",
        ylabel="fraction right",
        ylim=(-0.03, 1.03),
        title="One skill, two metrics (one line per seed)",
    )
    ax.legend(fontsize=8)
    paths.append(_save(fig, outdir, "emergence_mirage.png"))

    # 6. the memo trap and its subtasks along the U ladder (one layer, then three), every seed
    s = ladder_view(full, "u")
    fig, ax = plt.subplots(figsize=(7, 4))
    for key, label, colour, marker in (
        ("memo_trap/two_way", "memo trap: prefers the altered ending", "C3", "o"),
        ("quotes/exact", "subtask: knows the quote", "C0", "s"),
        ("copying/exact", "subtask: copies a random list", "k", "^"),
    ):
        for j, seed in enumerate(s["seeds"]):
            ys = [s["metrics"][key][n_]["seeds"][str(seed)] for n_ in s["sizes"]]
            ax.plot(
                s["compute"],
                ys,
                marker=marker,
                ms=3,
                ls=SEED_STYLES[j % 4],
                color=colour,
                label=label if j == 0 else None,
            )
    ax.axhline(0.5, color="gray", ls=":", lw=1)
    ax.set(
        xscale="log",
        xlabel="training compute (FLOPs)",
        ylabel="fraction of items",
        ylim=(-0.03, 1.03),
        title="The memo trap, one-layer sizes then three layers, one line per seed",
    )
    ax.legend(fontsize=8, loc="center left")
    paths.append(_save(fig, outdir, "emergence_memo_trap.png"))
    return paths
