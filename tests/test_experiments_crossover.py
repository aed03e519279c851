"""The crossover experiment at ci: every model, budget and seed; the figure; its pieces."""

import dataclasses

import pytest

from lmlib.data.markov_copy import MarkovCopyTask
from lmlib.experiments import crossover, runner
from lmlib.experiments.results import read_results
from lmlib.tools.cli import main


@pytest.fixture(scope="module")
def ci_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("crossover")
    args = ["run", "crossover", "--profile", "ci", "--results", str(tmp / "res"),
            "--figdir", str(tmp / "fig")]  # fmt: skip
    assert main(args) == 0
    return read_results(runner.results_path("crossover", "ci", 0, tmp / "res")), tmp


def test_ci_run_has_every_model_budget_and_seed(ci_run):
    r, tmp = ci_run
    s = crossover.settings("ci")
    assert r["seeds"] == [0, 1] and r["budgets"] == list(s.budgets)
    for model in crossover.MODELS:
        assert len(r["loss"][model]) == 2 and all(len(row) == 5 for row in r["loss"][model])
    assert len(r["runs"]) == 3 * 5 * 2
    assert set(r["lowest"]) == {"smallest", "largest"} and len(r["lowest"]["largest"]) == 2
    assert set(r["crossovers"]) == {f"{a}_over_{b}" for a, b in crossover.PAIRS}
    assert (tmp / "fig" / "crossover_loss.png").exists()


def test_neural_runs_spend_their_budget_and_the_count_model_is_cheap(ci_run):
    r, _ = ci_run
    for run in r["runs"]:
        if run["model"] == "ngram":
            assert run["compute"] <= run["budget"] and run["steps"] == 0
        else:
            per_step = run["compute"] / run["steps"]
            assert abs(run["compute"] - run["budget"]) <= per_step / 2 + 1 or run["steps"] == 1
    ngram = r["loss"]["ngram"]
    assert all(len(set(row)) == 1 for row in ngram)  # the whole stream at every budget


def test_same_seed_same_numbers():
    s = crossover.settings("ci")
    a = crossover.neural_run(s, "transformer", s.budgets[1], 0)
    b = crossover.neural_run(s, "transformer", s.budgets[1], 0)
    assert a["val_loss"] == b["val_loss"] and a["steps"] == b["steps"]
    assert crossover.ngram_run(s, 1e9, 1) == crossover.ngram_run(s, 1e9, 1)


def test_cnn_must_not_see_the_copy():
    s = dataclasses.replace(crossover.settings("ci"), cnn_layers=4, task=MarkovCopyTask(8, 5))
    with pytest.raises(ValueError, match="enough to copy"):
        crossover.build("cnn", s)
    with pytest.raises(ValueError, match="unknown"):
        crossover.build("rnn", crossover.settings("ci"))


def test_summarize_finds_the_lowest_model_and_the_crossings():
    budgets = [1e9, 1e10, 1e11]
    loss = {
        "ngram": [[1.0, 1.0, 1.0], [1.1, 1.1, 1.1]],
        "cnn": [[2.0, 0.9, 0.8], [2.0, 0.95, 0.85]],
        "transformer": [[2.5, 1.5, 0.5], [2.6, 1.4, 0.4]],
    }
    out = crossover.summarize(budgets, loss)
    assert out["lowest"] == {"smallest": ["ngram", "ngram"], "largest": ["transformer"] * 2}
    c = out["crossovers"]
    assert 1e9 < c["cnn_over_ngram"]["mean"] < 1e10
    assert 1e10 < c["transformer_over_cnn"]["mean"] < 1e11
    assert len(c["transformer_over_ngram"]["per_seed"]) == 2
