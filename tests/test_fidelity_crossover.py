"""Fidelity: the committed cpu crossover run (results/crossover/cpu-seed0.json) shows the
structure-against-compute crossover in every seed, from a clean commit."""

import json
import math
from pathlib import Path

import pytest

from lmlib.analysis.crossing import crossover_budget
from lmlib.experiments.crossover import MODELS

RESULTS = Path(__file__).resolve().parents[1] / "results" / "crossover" / "cpu-seed0.json"


@pytest.fixture(scope="module")
def r():
    return json.loads(RESULTS.read_text())


def test_design_meets_the_brief(r):
    assert r["profile"] == "cpu" and len(r["seeds"]) >= 2
    b = r["budgets"]
    assert len(b) >= 5 and b == sorted(b) and math.log10(b[-1] / b[0]) >= 1.5
    assert r["git_commit"] and not r["git_commit"].endswith("-dirty")
    assert len(r["runs"]) == len(MODELS) * len(b) * len(r["seeds"])


def test_the_most_structured_model_is_lowest_at_the_smallest_budget_in_every_seed(r):
    for i in range(len(r["seeds"])):
        at_start = {m: r["loss"][m][i][0] for m in MODELS}
        assert min(at_start, key=at_start.get) == "ngram", (r["seeds"][i], at_start)


def test_the_least_structured_model_is_lowest_at_the_largest_budget_in_every_seed(r):
    for i in range(len(r["seeds"])):
        at_end = {m: r["loss"][m][i][-1] for m in MODELS}
        assert min(at_end, key=at_end.get) == "transformer", (r["seeds"][i], at_end)


def test_recorded_summary_matches_the_losses(r):
    assert r["lowest"]["smallest"] == ["ngram"] * len(r["seeds"])
    assert r["lowest"]["largest"] == ["transformer"] * len(r["seeds"])
    for i, seed in enumerate(r["seeds"]):
        c = crossover_budget(r["budgets"], r["loss"]["transformer"][i], r["loss"]["cnn"][i])
        assert c == pytest.approx(r["crossovers"]["transformer_over_cnn"]["per_seed"][i])
        assert r["budgets"][0] < c < r["budgets"][-1], seed


def test_each_assumption_has_its_floor(r):
    """The bigram is the same at every budget; the CNN levels off above the Transformer's end."""
    for i in range(len(r["seeds"])):
        assert len(set(r["loss"]["ngram"][i])) == 1
        cnn = r["loss"]["cnn"][i]
        assert abs(cnn[-1] - cnn[-2]) < 0.1 < cnn[-1] - r["loss"]["transformer"][i][-1]
        assert r["loss"]["transformer"][i][-1] > r["floor"]
