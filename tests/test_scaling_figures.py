"""The sweep's figures draw sizes in order of compute and colour them by it, whatever order the
run files come in (checked on the data each figure draws, not on the PNGs)."""

import random
from pathlib import Path

import pytest

from lmlib.experiments import emergence_figures, scaling, scaling_figures
from lmlib.experiments.scaling_summary import summarize_runs

ROOT = Path(__file__).resolve().parents[1] / "results" / "scaling"


@pytest.fixture(scope="module")
def drawn():
    import matplotlib

    matplotlib.use("Agg")
    runs = scaling.load_runs(ROOT, "cpu")
    random.Random(0).shuffle(runs)  # the figures must not rely on the files' order
    summary = summarize_runs("cpu", runs)
    figs = {}
    real = scaling_figures._save

    def keep(fig, outdir, name):
        figs[name] = fig
        return Path(name)

    scaling_figures._save = emergence_figures._save = keep
    try:
        scaling_figures.draw_all(runs, summary, Path("unused"))
    finally:
        scaling_figures._save = emergence_figures._save = real
    return summary, figs


def test_every_figure_is_drawn(drawn):
    _, figs = drawn
    assert set(figs) == {
        "scaling_loss_vs_compute.png",
        "scaling_decomposition.png",
        "scaling_tail_knowledge.png",
        "emergence_tasks.png",
        "emergence_metrics.png",
        "emergence_mirage.png",
        "emergence_memo_trap.png",
    }


def test_every_line_runs_left_to_right_in_compute(drawn):
    _, figs = drawn
    n_lines = 0
    for name, fig in figs.items():
        for ax in fig.axes:
            if ax.get_xscale() != "log":
                continue
            for line in ax.get_lines():
                xs = list(map(float, line.get_xdata()))
                if len(xs) > 1:
                    n_lines += 1
                    assert xs == sorted(xs), f"{name}: {line.get_label()} zig-zags in compute"
    assert n_lines > 20


def test_bars_and_colours_follow_compute(drawn):
    summary, figs = drawn
    sizes = summary["ladders"]["main"]  # the figures draw the main ladder
    assert summary["compute"] == sorted(summary["compute"])
    bars = figs["scaling_decomposition.png"].axes[0]
    assert [t.get_text() for t in bars.get_xticklabels()] == sizes
    tail = figs["scaling_tail_knowledge.png"].axes[0]
    lines = tail.get_lines()
    assert [line.get_label().split()[0] for line in lines] == sizes
    for i, line in enumerate(lines):
        assert tuple(line.get_color()) == tuple(scaling_figures.size_colour(i, len(sizes)))


def test_error_bars_stay_inside_the_metric_range(drawn):
    _, figs = drawn
    for ax in figs["emergence_tasks.png"].axes:
        for coll in ax.collections:
            for seg in coll.get_segments():
                for _, y in seg:
                    assert -1e-9 <= y <= 1 + 1e-9
