"""The attention-heads experiment: lab 3.1's model and TrainConfig, per-seed head statistics."""

import ast
import json
import os
from pathlib import Path

import pytest

from lmlib.data.shakespeare import CharDataset
from lmlib.experiments import EXPERIMENTS, attention_heads, runner
from lmlib.experiments.results import read_results
from lmlib.runtime.profiles import PROFILES
from lmlib.training.train import math_settings

ROOT = Path(__file__).resolve().parents[1]
LAB = ROOT / "labs" / "solutions" / "3_1_multihead_attention.ipynb"
TEXT = "First Citizen:\nBefore we proceed any further, hear me speak.\n" * 40


def tiny_settings() -> dict:
    s = attention_heads.settings("ci")
    s["sizes"].update(d_model=16, n_heads=2, n_layers=2, context=16, batch_size=4, steps=3)
    s["eval_batches"] = 1
    return s


def lab_code() -> list[str]:
    nb = json.loads(LAB.read_text())
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]


@pytest.mark.parametrize("profile", PROFILES)
def test_the_experiment_trains_the_labs_model_with_the_labs_config(profile):
    """The lab's `cfg = ...` and `run = ...` statements, run with the lab's sizes, give the
    experiment's configs for seed 0 (the lab's seed)."""
    cell = next(c for c in lab_code() if "run = lmlib.TrainConfig(" in c)
    wanted = [
        n for n in ast.parse(cell).body
        if isinstance(n, ast.Assign) and n.targets[0].id in ("cfg", "run")
    ]  # fmt: skip
    s = attention_heads.settings(profile)
    env = {"lmlib": __import__("lmlib"), "SIZES": s["sizes"], "EVAL_BATCHES": s["eval_batches"],
           "data": CharDataset.from_text(TEXT),
           "CHECKPOINTS": Path("checkpoints")}  # the lab's folder; nothing is written  # fmt: skip
    exec(compile(ast.Module(wanted, []), "lab3_1", "exec"), env)
    model, run = attention_heads.configs(s, env["data"].tokenizer.vocab_size, seed=0)
    assert env["cfg"] == model
    assert math_settings(env["run"]) == math_settings(run)


def test_the_lab_imports_the_measurements_from_the_library():
    code = "\n".join(lab_code())
    assert "from lmlib.analysis.heads import" in code
    assert "def record_weights" not in code and "def head_stats" not in code


def test_seeds_per_profile_and_registration():
    assert attention_heads.settings("cpu")["seeds"] == [0, 1, 2]
    assert len(attention_heads.settings("ci")["seeds"]) >= 2
    assert EXPERIMENTS["attention_heads"] == "lmlib.experiments.attention_heads"


def test_one_seed_records_every_head_before_and_after():
    data, s = CharDataset.from_text(TEXT), tiny_settings()
    r = attention_heads.train_seed(data, s, seed=1)
    for when in ("before", "after"):
        for key in ("lookback", "entropy"):
            assert len(r[when][key]) == 2 and all(len(row) == 2 for row in r[when][key])
    assert r["before"] != r["after"] and r["val_loss"] > 0 and r["seed"] == 1
    assert r["val_curve"]["step"][-1] == 3 and r["wall_s"] >= r["train_s"] > 0
    again = attention_heads.train_seed(data, s, seed=1)
    assert again["after"] == r["after"] and again["val_loss"] == r["val_loss"]


def test_windows_are_the_labs_and_the_same_for_every_seed():
    data = CharDataset.from_text(TEXT)
    a, b = attention_heads.windows(data, 16), attention_heads.windows(data, 16)
    assert a.shape == (16, 16) and (a == b).all()


def test_summarize_picks_the_shortest_and_longest_head_per_layer():
    stats = {"lookback": [[3.0, 1.0, 5.0], [4.0, 6.0, 2.0]],
             "entropy": [[2.0, 0.5, 3.0], [2.5, 3.5, 1.5]]}  # fmt: skip
    runs = [{"seed": 0, "before": stats, "after": stats}]
    out = attention_heads.summarize(runs)
    first, second = out["after"][0][0], out["after"][1][0]
    assert (first["shortest_head"], first["shortest_lookback"], first["shortest_entropy"]) == (
        1, 1.0, 0.5)  # fmt: skip
    assert (first["longest_head"], first["longest_lookback"]) == (2, 5.0)
    assert second["mean_lookback"] == 4.0 and second["min_entropy"] == 1.5


@pytest.mark.skipif(not os.environ.get("LMLIB_DATA_DIR"), reason="needs LMLIB_DATA_DIR")
def test_ci_run_writes_results_and_figure(tmp_path):
    from lmlib.tools.cli import main

    args = ["run", "attention_heads", "--profile", "ci", "--results", str(tmp_path / "res"),
            "--figdir", str(tmp_path / "fig")]  # fmt: skip
    assert main(args) == 0
    r = read_results(runner.results_path("attention_heads", "ci", 0, tmp_path / "res"))
    assert [run["seed"] for run in r["runs"]] == r["seeds"] == [0, 1]
    assert r["threads"] == 1 or r["device"] != "cpu"
    assert (tmp_path / "fig" / "attention_heads.png").exists()
