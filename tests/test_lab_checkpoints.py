"""A lab's training cell keeps a checkpoint: stopped midway and run again, it ends with the numbers
of a run that was never stopped. The cells are those of the solution notebook, run in-process at
the `ci` profile on a small synthetic text."""

import contextlib
import io
import os
import signal
from pathlib import Path

import nbformat
import pytest
import torch

import lmlib
from lmlib.runtime import files
from lmlib.runtime.files import CHECKPOINTS_ENV, checkpoint_dir

NOTEBOOK = Path("labs/solutions/3_1_multihead_attention.ipynb")
TEXT = "".join(f"To be, or not to be, that is the question {i}.\n" for i in range(400))


def cells() -> tuple[str, str]:
    """The lab's settings cell and its training cell (the one that calls lmlib.train)."""
    code = [c.source for c in nbformat.read(NOTEBOOK, as_version=4).cells if c.cell_type == "code"]
    setup = next(s for s in code if "SIZES, EVAL_BATCHES" in s)
    training = [s for s in code if "lmlib.train(" in s]
    assert len(training) == 1, "the lab trains in one cell"
    return setup, training[0]


@pytest.fixture
def lab(monkeypatch, tmp_path):
    monkeypatch.setenv("LMLIB_PROFILE", "ci")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setattr(lmlib, "tiny_shakespeare", lambda: lmlib.CharDataset.from_text(TEXT))
    threads = torch.get_num_threads()
    setup, training = cells()
    namespace: dict = {}
    exec(setup, namespace)

    def run_cell(checkpoints: Path) -> dict:
        monkeypatch.setenv(CHECKPOINTS_ENV, str(checkpoints))
        exec(training, namespace)
        return namespace

    yield run_cell
    torch.set_num_threads(threads)


def test_training_cell_stopped_and_rerun_ends_as_an_unstopped_run(lab, monkeypatch, tmp_path):
    whole = lab(tmp_path / "whole")
    expected = whole["history"].val_loss[:]
    weights = [p.detach().clone() for p in whole["model"].parameters()]
    steps = whole["run"].steps

    train = lmlib.train

    def stopped_midway(*args, **kwargs):
        def stop(step, loss):
            if step == steps // 2:
                os.kill(os.getpid(), signal.SIGINT)  # the notebook's stop button

        return train(*args, on_step=stop, **kwargs)

    monkeypatch.setattr(lmlib, "train", stopped_midway)
    first = lab(tmp_path / "stopped")["history"]
    assert first.interrupted and first.step[-1] == steps // 2
    trained = []  # the steps the rerun trains: only those after the stop

    def recorded(*args, **kwargs):
        return train(*args, on_step=lambda step, loss: trained.append(step), **kwargs)

    monkeypatch.setattr(lmlib, "train", recorded)
    again = lab(tmp_path / "stopped")
    assert trained == list(range(steps // 2 + 1, steps + 1))
    assert not again["history"].interrupted
    assert again["history"].eval_step == whole["history"].eval_step
    assert again["history"].val_loss == pytest.approx(expected, rel=1e-6)
    for p, q in zip(again["model"].parameters(), weights):
        torch.testing.assert_close(p, q, rtol=1e-6, atol=0)


def test_checkpoint_dir_honours_the_environment_and_refuses_paths(monkeypatch, tmp_path):
    monkeypatch.setenv(CHECKPOINTS_ENV, str(tmp_path))
    assert checkpoint_dir("3_1_multihead_attention") == tmp_path / "3_1_multihead_attention"
    assert (tmp_path / "3_1_multihead_attention").is_dir()
    monkeypatch.delenv(CHECKPOINTS_ENV)
    monkeypatch.setattr(files, "COLAB_DRIVE", tmp_path / "drive")
    monkeypatch.chdir(tmp_path)
    assert checkpoint_dir("x").resolve() == (tmp_path / "checkpoints" / "x").resolve()
    (tmp_path / "drive").mkdir()  # Colab with Google Drive mounted
    assert checkpoint_dir("x") == tmp_path / "drive" / "lmlib-checkpoints" / "x"
    with pytest.raises(ValueError, match="plain name"):
        checkpoint_dir("../elsewhere")


CAPSTONE = Path("labs/solutions/3_4_your_gpt.ipynb")


def _run_capstone() -> str:
    """The capstone's solution notebook, every code cell in one namespace; what it printed."""
    code = [c.source for c in nbformat.read(CAPSTONE, as_version=4).cells if c.cell_type == "code"]
    namespace, out = {"__name__": "__main__"}, io.StringIO()
    with contextlib.redirect_stdout(out):
        for source in code:
            exec(source, namespace)
    return out.getvalue()


@pytest.mark.skipif(not os.environ.get("LMLIB_DATA_DIR"), reason="needs tiny Shakespeare offline")
def test_capstone_run_again_reads_its_finished_runs_back(monkeypatch, tmp_path):
    monkeypatch.setenv("LMLIB_PROFILE", "ci")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv(CHECKPOINTS_ENV, str(tmp_path))
    threads = torch.get_num_threads()
    try:
        first = _run_capstone()
        saved = {p: p.stat().st_mtime_ns for p in (tmp_path / "3_4_your_gpt").glob("*.pt")}
        again = _run_capstone()
    finally:
        torch.set_num_threads(threads)
    # one finished run per shape, all by the solution's own model and loop
    assert len(saved) >= 2 and all("-yours-yours-" in p.name for p in saved)
    assert {p: p.stat().st_mtime_ns for p in saved} == saved, "a finished run was trained again"

    def losses(out: str) -> list[str]:
        return [line for line in out.splitlines() if "bits per byte" in line]

    assert losses(first) and losses(again) == losses(first)
