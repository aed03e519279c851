"""Fidelity: the committed cpu sweep (results/scaling/cpu) is the instrument the chapters describe,
and shows what they claim, in as many seeds as they say. A regression, or a rerun that changes
what holds, fails here first."""

import json
from pathlib import Path

import pytest

SWEEP = Path(__file__).resolve().parents[1] / "results" / "scaling" / "cpu"


@pytest.fixture(scope="module")
def sweep():
    summary = json.loads((SWEEP / "summary.json").read_text())
    runs = [json.loads((SWEEP / name).read_text()) for name in summary["runs"]]
    return summary, runs


def per_seed(summary: dict, key: str, ladder: str = "main") -> dict[str, list[float]]:
    stats, sizes = summary["metrics"][key], summary["ladders"][ladder]
    return {str(x): [stats[n]["seeds"][str(x)] for n in sizes] for x in summary["seeds"]}


def test_every_point_is_there(sweep):
    summary, runs = sweep
    lad = summary["ladders"]
    assert len(lad["main"]) >= 8 and len(lad["control"]) >= 4 and len(lad["one"]) >= 1
    assert len(summary["seeds"]) >= 3
    assert len(runs) == len(summary["sizes"]) * len(summary["seeds"])
    assert summary["compute"] == sorted(summary["compute"])
    assert summary["held_out_tokens"] >= 64 * 1024


def test_decomposition_identity_in_every_snapshot(sweep):
    for run in sweep[1]:
        for snap in run["snapshots"]:
            parts = [t for t in snap["tasks"] if t["count"]]
            assert sum(t["share"] for t in parts) == pytest.approx(1.0)
            total = sum(t["share"] * t["loss"] for t in parts)
            assert total == pytest.approx(snap["loss"], abs=1e-9)


def test_held_out_probes_never_occur_in_the_committed_training_stream(sweep):
    """Regenerate the cpu sweep's training stream and probes with the corpus's own sampler."""
    from test_scaling_design import overlaps

    from lmlib.experiments import scaling

    s = scaling.settings("cpu")
    corpus, stream, _, probes = scaling.build_world(s)
    found = overlaps(corpus, len(stream.ids), probes)
    assert found and all(o == (n if p.endswith("_seen") else 0) for p, o, n in found), found
    assert {p: n for p, _, n in found} == {
        p: n for p, n in sweep[0]["probe_items"].items() if p in {q for q, _, _ in found}
    }
    assert sweep[0]["probe_items"]["arithmetic_3"] >= 2000


def test_per_item_scores_give_the_probe_means(sweep):
    for run in sweep[1]:
        for probe, bits in run["items"].items():
            metric = {"memo_trap": "two_way"}.get(probe, "exact")
            assert len(bits) == run["probe_items"][probe]
            mean = bits.count("1") / len(bits)
            assert mean == pytest.approx(run["probes"][probe][metric], abs=1e-5), probe


def test_shape_labels_come_from_most_seeds(sweep):
    for key, shape in sweep[0]["shapes"].items():
        labels = list(shape["seeds"].values())
        if shape["label"] != "seed-dependent":
            assert labels.count(shape["label"]) * 2 > len(labels), key
