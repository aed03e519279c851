"""Fidelity: the committed cpu sweep (results/scaling/cpu) shows what the chapters claim, in every
seed where they say so. A regression, or a rerun that changes what holds, fails here first."""

import json
from pathlib import Path

import pytest

SWEEP = Path(__file__).resolve().parents[1] / "results" / "scaling" / "cpu"


@pytest.fixture(scope="module")
def sweep():
    summary = json.loads((SWEEP / "summary.json").read_text())
    runs = [json.loads((SWEEP / name).read_text()) for name in summary["runs"]]
    return summary, runs


def per_seed(summary: dict, key: str) -> dict[str, list[float]]:
    stats = summary["metrics"][key]
    return {
        str(seed): [stats[n]["seeds"][str(seed)] for n in summary["sizes"]]
        for seed in summary["seeds"]
    }


def targets_met(summary: dict) -> dict[str, bool]:
    """The four targets a compute fit must meet before a chapter may say that it predicts."""
    f, h = summary["frontier"], summary["held_out"]
    return {
        "frontier spans >= 2 decades": f["span_decades"] >= 2.0,
        "R^2 (log-log) >= 0.95": f["r2_log"] >= 0.95,
        "held-out error <= 3%": h["error"] <= 0.03,
        "beats the previous size's loss": h["error"] < h["naive_error"],
    }


def test_every_point_is_there(sweep):
    summary, runs = sweep
    assert len(summary["sizes"]) >= 5 and len(summary["seeds"]) >= 2
    assert len(runs) == len(summary["sizes"]) * len(summary["seeds"])
    assert summary["compute"] == sorted(summary["compute"])


def test_decomposition_identity_in_every_snapshot(sweep):
    for run in sweep[1]:
        for snap in run["snapshots"]:
            parts = [t for t in snap["tasks"] if t["count"]]
            assert sum(t["share"] for t in parts) == pytest.approx(1.0)
            total = sum(t["share"] * t["loss"] for t in parts)
            assert total == pytest.approx(snap["loss"], abs=1e-9)


def test_the_frontier_spans_two_decades_with_a_bootstrap_interval(sweep):
    f = sweep[0]["frontier"]
    assert f["span_decades"] >= 2.0
    lo, hi = f["alpha_interval"]
    assert 0 < lo <= f["fit"]["alpha"] <= hi


def test_the_chapter_says_the_fit_does_not_predict_and_it_does_not(sweep):
    # Chapter 3 reports that the held-out prediction fails; when a rerun meets every target,
    # this fails so that the chapter is rewritten to say so.
    met = targets_met(sweep[0])
    assert not all(met.values()), met
    h = sweep[0]["held_out"]
    assert h["naive_error"] < h["error"]


def test_copying_jumps_in_every_seed(sweep):
    """Below 0.1 for the two one-layer sizes, above 0.5 for the two largest, in every seed."""
    summary, _ = sweep
    for seed, exact in per_seed(summary, "copying/exact").items():
        assert max(exact[:2]) < 0.1 and min(exact[-2:]) > 0.5, (seed, exact)


def test_no_seed_shows_a_u_on_the_memo_trap(sweep):
    shape = sweep[0]["shapes"]["memo_trap/two_way"]
    assert "U-shaped" not in shape["seeds"].values() and shape["label"] != "U-shaped"


def test_shape_labels_come_from_most_seeds(sweep):
    for key, shape in sweep[0]["shapes"].items():
        labels = list(shape["seeds"].values())
        if shape["label"] != "seed-dependent":
            assert labels.count(shape["label"]) * 2 > len(labels), key


def test_tail_facts_are_recalled_better_by_larger_models(sweep):
    summary, runs = sweep

    def tail_recall(size: str) -> float:
        rows = [
            row["exact"]
            for r in runs
            if r["size"] == size
            for row in r["facts_by_count"]
            if 1 <= row["min_count"] < 16
        ]
        return sum(rows) / len(rows)

    smallest, largest = summary["sizes"][0], summary["sizes"][-1]
    assert tail_recall(largest) > tail_recall(smallest) + 0.2
