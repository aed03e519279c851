"""Lab 3.1's closing summary quotes the committed `lmlib run attention_heads --profile cpu`."""

import json
from pathlib import Path

import pytest
from claims import find_claim
from nested_close import assert_nested_close

from lmlib.experiments import attention_heads

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results" / "attention_heads" / "cpu-seed0.json"
LAB = ROOT / "labs" / "solutions" / "3_1_multihead_attention.ipynb"


@pytest.fixture(scope="module")
def record() -> dict:
    return json.loads(RESULTS.read_text())


@pytest.fixture(scope="module")
def summary() -> str:
    nb = json.loads(LAB.read_text())
    cells = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown"]
    return next(c for c in cells if c.startswith("## What we measured"))


def _range(values: list[float]) -> str:
    return f"{min(values):.2f} and {max(values):.2f}"


def _heads(record: dict, when: str, key: str, layer: int) -> list[float]:
    return [v for run in record["runs"] for v in run[when][key][layer]]


def _per_seed(record: dict, layer: int, key: str) -> list[float]:
    return [row[key] for row in record["summary"]["after"][layer]]


def test_committed_run_is_clean_and_has_three_seeds(record):
    assert record["profile"] == "cpu" and record["seeds"] == [0, 1, 2]
    assert record["git_commit"] and not record["git_commit"].endswith("-dirty")
    assert record["threads"] == 1 and record["windows"] == {"n": 16, "generator_seed": 0}
    # Means of committed floats: Python 3.12's sum() is compensated, older ones are not, so the
    # last digit may differ by interpreter; 1e-9 relative is far below any quoted digit.
    assert_nested_close(attention_heads.summarize(record["runs"]), record["summary"], rel=1e-9)
    assert record["settings"]["sizes"] == attention_heads.settings("cpu")["sizes"]


def test_the_loss_and_the_untrained_heads(record, summary):
    loss = [f"{r['val_loss']:.3f}" for r in record["runs"]]
    assert find_claim(summary, f"{loss[0]}, {loss[1]} and {loss[2]}",
                      ("validation loss", "seeds 0, 1 and 2"))  # fmt: skip
    u = record["uniform"]
    back = [v for layer in (0, 1) for v in _heads(record, "before", "lookback", layer)]
    ent = [v for layer in (0, 1) for v in _heads(record, "before", "entropy", layer)]
    words = ("before training", "look-back", "3 of 3 seeds")
    assert find_claim(summary, _range(back), words)
    assert find_claim(summary, f"{u['lookback']:.2f}", ("uniform value",))
    assert {f"{e:.2f}" for e in ent} == {f"{u['entropy']:.2f}"}  # every entropy rounds to it
    assert find_claim(summary, f"{u['entropy']:.2f}", ("every entropy", "uniform entropy", "bits"))


def test_first_layer_heads(record, summary):
    back0 = _heads(record, "after", "lookback", 0)
    assert find_claim(summary, _range(back0), ("every first-layer head", "looks back"))
    short = _range(_per_seed(record, 0, "shortest_lookback"))
    short_ent = _range(_per_seed(record, 0, "shortest_entropy"))
    assert find_claim(summary, short, ("shortest first-layer head", "looks back"))
    assert find_claim(summary, short_ent, ("shortest first-layer head", "entropy", "bits"))


def test_second_layer_heads_look_further_and_wider(record, summary):
    back1 = _heads(record, "after", "lookback", 1)
    assert find_claim(summary, _range(back1), ("every second-layer head", "looks back"))
    further = sum(
        min(run["after"]["lookback"][1]) > max(run["after"]["lookback"][0])
        for run in record["runs"]
    )
    assert further == 3
    assert find_claim(summary, "3 of 3 seeds", ("further than every first-layer head",))
    mean1, mean0 = _per_seed(record, 1, "mean_entropy"), _per_seed(record, 0, "mean_entropy")
    assert sum(a > b for a, b in zip(mean1, mean0)) == 3
    words = ("second layer", "mean entropy", "first layer's", "3 of 3 seeds")
    assert find_claim(summary, _range(mean1), words)
    assert find_claim(summary, _range(mean0), words)
    low1, high0 = (
        min(_heads(record, "after", "entropy", 1)),
        max(_heads(record, "after", "entropy", 0)),
    )
    assert low1 < high0  # the pattern does not hold head by head, and the summary says so
    assert find_claim(summary, f"{low1:.2f}", ("lowest second-layer entropy", "does not hold"))
    assert find_claim(summary, f"{high0:.2f}", ("highest first-layer entropy",))
    assert find_claim(summary, "3 of 3 seeds", ("same direction",))
