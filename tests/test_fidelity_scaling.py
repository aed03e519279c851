"""Fidelity: the committed cpu sweep (results/scaling/cpu) shows what the chapters claim."""

import json
from pathlib import Path

import pytest

SWEEP = Path(__file__).resolve().parents[1] / "results" / "scaling" / "cpu"


@pytest.fixture(scope="module")
def sweep():
    summary = json.loads((SWEEP / "summary.json").read_text())
    runs = [json.loads((SWEEP / name).read_text()) for name in summary["runs"]]
    return summary, runs


def mean(summary: dict, key: str) -> list[float]:
    return [summary["metrics"][key][n][0] for n in summary["sizes"]]


def test_every_run_is_there_with_two_seeds(sweep):
    summary, runs = sweep
    assert len(summary["sizes"]) >= 5 and len(summary["seeds"]) >= 2
    assert len(runs) == len(summary["sizes"]) * len(summary["seeds"])
    assert summary["compute"] == sorted(summary["compute"])


def test_decomposition_identity_in_every_run(sweep):
    for run in sweep[1]:
        for snap in run["snapshots"]:
            parts = [t for t in snap["tasks"] if t["count"]]
            assert sum(t["share"] for t in parts) == pytest.approx(1.0)
            total = sum(t["share"] * t["loss"] for t in parts)
            assert total == pytest.approx(snap["loss"], abs=1e-9)


def test_loss_falls_with_compute_and_the_fit_explains_it(sweep):
    summary, _ = sweep
    loss = [summary["loss"][n][0] for n in summary["sizes"]]
    assert loss[-1] < loss[0]
    assert sum(b < a for a, b in zip(loss, loss[1:])) >= len(loss) - 2  # at most one bump
    assert summary["fits"]["compute"]["r2"] > 0.8
    assert summary["fits"]["compute"]["alpha"] > 0


def test_some_task_jumps_from_below_01_to_above_05(sweep):
    summary, _ = sweep
    jumps = [
        key
        for key in summary["metrics"]
        if key.endswith("/exact") and min(mean(summary, key)) < 0.1 and mean(summary, key)[-1] > 0.5
    ]
    assert "copying/exact" in jumps


def test_memo_trap_dips_below_its_first_point_then_recovers(sweep):
    summary, _ = sweep
    trap = mean(summary, "memo_trap/two_way")
    low = min(range(len(trap)), key=trap.__getitem__)
    assert 0 < low < len(trap) - 1 and trap[low] < trap[0]
    assert trap[-1] > 0.9 and trap[low] < 0.5


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


def test_multi_digit_exact_match_stays_flat_while_per_digit_accuracy_rises(sweep):
    summary, _ = sweep
    exact = mean(summary, "arithmetic_3/exact")
    assert max(exact) < 0.1
    per_digit = mean(summary, "arithmetic_3/token_acc")
    assert per_digit[-1] > per_digit[0]
