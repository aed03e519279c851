import json
import os

import pytest
import torch

from lmlib.experiments import next_token, runner
from lmlib.experiments.results import provenance, read_results, write_results


def test_results_are_plain_json_with_provenance(tmp_path):
    rec = {
        "loss": 1.5,
        "t": torch.tensor([1.0, 2.0]),
        "nan": float("nan"),
        **provenance(torch.device("cpu")),
    }
    path = write_results(tmp_path / "r" / "x.json", rec)
    back = json.loads(path.read_text())
    assert back["t"] == [1.0, 2.0] and back["nan"] is None
    for key in ("torch", "lmlib", "device", "git_commit", "python"):
        assert key in back
    assert read_results(path)["loss"] == 1.5


def test_bad_results_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="run the experiment"):
        read_results(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(ValueError, match="not valid JSON"):
        read_results(tmp_path / "bad.json")


def test_profiles_grow():
    sizes = [next_token.settings(p) for p in ("ci", "cpu", "gpu")]
    params = [m.d_model * m.d_model * m.n_layers for m, _ in sizes]
    steps = [t.steps for _, t in sizes]
    assert params == sorted(params) and steps == sorted(steps)


@pytest.mark.slow  # trains the ci experiment twice
@pytest.mark.skipif(
    not __import__("os").environ.get("LMLIB_DATA_DIR"), reason="needs LMLIB_DATA_DIR"
)
def test_next_token_ci_run_is_reproducible_and_draws_figures(tmp_path):
    args = [
        "run",
        "next_token",
        "--profile",
        "ci",
        "--results",
        str(tmp_path / "res"),
        "--figdir",
        str(tmp_path / "fig"),
    ]
    from lmlib.tools.cli import main

    assert main(args) == 0
    first = read_results(runner.results_path("next_token", "ci", 0, tmp_path / "res"))
    assert first["history"]["val_loss"][-1] < first["baselines"]["uniform"]
    shares = sum(t["share"] for t in first["tasks_after"])
    assert shares == pytest.approx(1.0)
    assert {p.name for p in (tmp_path / "fig").iterdir()} == {
        "next_token_loss_curve.png",
        "next_token_tasks.png",
    }
    assert main(args) == 0  # same seed, same numbers
    second = read_results(runner.results_path("next_token", "ci", 0, tmp_path / "res"))
    for key in ("step", "train_loss", "lr", "eval_step", "val_loss"):  # all but wall times
        assert first["history"][key] == second["history"][key]
    assert first["tasks_after"] == second["tasks_after"]
    assert first["sample_after"] == second["sample_after"]
    assert main(args + ["--figures"]) == 0


def test_task_breakdown_keeps_the_model_mode():
    from lmlib import CharDataset, TransformerConfig, TransformerLM

    ds = CharDataset.from_text("ROMEO:\nO, she doth teach the torches to burn bright!\n" * 40)
    model = TransformerLM(TransformerConfig(ds.tokenizer.vocab_size, 16, 16, 2, 1)).eval()
    parts = next_token.task_breakdown(model, ds, n_batches=2, batch_size=4)
    assert not model.training
    assert sum(p["share"] for p in parts) == pytest.approx(1.0)


@pytest.mark.skipif(not os.environ.get("LMLIB_DATA_DIR"), reason="needs LMLIB_DATA_DIR")
def test_a_stopped_training_run_is_never_written_as_finished(tmp_path, monkeypatch):
    from lmlib.experiments import next_token
    from lmlib.experiments.results import completed
    from lmlib.training.train import History

    done = History(step=[0, 1], interrupted=False)
    assert completed(done) is done
    stopped = History(step=[0, 1, 2], interrupted=True)
    with pytest.raises(KeyboardInterrupt, match="stopped at step 3"):
        completed(stopped)
    monkeypatch.setattr(next_token, "train", lambda *a, **k: stopped)
    with pytest.raises(KeyboardInterrupt):
        next_token.run(profile="ci")
