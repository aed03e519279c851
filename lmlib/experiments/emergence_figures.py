"""The emergence chapter's mirage and memo-trap figures of the scaling sweep, from its summary,
and the figure helpers both figure modules use (lmlib.experiments.scaling_figures draws the rest
and calls draw_emergence)."""

from __future__ import annotations

from pathlib import Path

from lmlib.runtime.files import save_figure

SEED_STYLES = ("-", "--", ":", "-.")
# One marker per task or family, so that lines told apart by colour are also told apart by shape
# (red against green alone is lost on a colorblind reader).
MARKERS = ("o", "s", "^", "D", "v", "P")


def _save(fig, outdir: Path, name: str) -> Path:
    import matplotlib.pyplot as plt
    from matplotlib.ticker import LogLocator, NullFormatter

    for ax in fig.axes:  # compute axes span one or two decades: label 1x and 3x, not every minor
        if ax.get_xscale() == "log":
            ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 3.0)))
            ax.xaxis.set_minor_formatter(NullFormatter())
    outdir.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    path = outdir / name
    save_figure(fig, path)
    plt.close(fig)
    return path


def ladder_view(s: dict, name: str) -> dict:
    """The summary with its sizes and compute restricted to one ladder (main, control, one, u)."""
    keep = [s["sizes"].index(n) for n in s.get("ladders", {}).get(name, s["sizes"])]
    shapes = s.get("shapes_control", {}) if name == "control" else s.get("shapes", {})
    view = {"sizes": [s["sizes"][i] for i in keep], "compute": [s["compute"][i] for i in keep]}
    return {**s, **view, "params": [s["params"][i] for i in keep], "shapes": shapes}


def draw_emergence(full: dict, s: dict, outdir: Path) -> list[Path]:
    """full: the sweep's summary; s: its main-ladder view (scaling_figures.ladder_view)."""
    import matplotlib.pyplot as plt

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
