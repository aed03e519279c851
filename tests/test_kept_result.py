"""kept_result computes once and reads back after: the unit a lab cell loses on a disconnect."""

import pytest
import torch

import lmlib
from lmlib import CheckpointError, kept_result


def test_computed_once_then_read_back(tmp_path):
    calls = []

    def compute():
        calls.append(1)
        return {"loss": [2.5, 1.25], "weights": torch.arange(3.0), "name": "xs", "n": None}

    first = kept_result(tmp_path / "run.pt", {"width": 16, "seed": 0}, compute)
    again = kept_result(tmp_path / "run.pt", {"width": 16, "seed": 0}, compute)
    assert len(calls) == 1
    assert again["loss"] == first["loss"] and again["name"] == "xs" and again["n"] is None
    torch.testing.assert_close(again["weights"], torch.arange(3.0))


def test_another_key_computes_again_and_replaces_the_file(tmp_path):
    path = tmp_path / "run.pt"
    kept_result(path, ("cpu", 16), lambda: 1.0)
    assert kept_result(path, ("cpu", 32), lambda: 2.0) == 2.0
    assert kept_result(path, ("cpu", 32), lambda: pytest.fail("recomputed")) == 2.0


def test_a_damaged_file_is_refused_with_its_name(tmp_path):
    path = tmp_path / "run.pt"
    kept_result(path, 0, lambda: [1, 2, 3])
    data = bytearray(path.read_bytes())
    data[-5] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="run.pt"):
        kept_result(path, 0, lambda: [1, 2, 3])


def test_a_result_that_is_not_plain_data_is_refused_and_nothing_is_written(tmp_path):
    path = tmp_path / "run.pt"
    with pytest.raises(TypeError, match="plain data"):
        kept_result(path, 0, lambda: lmlib.TrainConfig())
    assert not path.exists()


def test_resumed_reads_the_same_run_back_and_refuses_another(tmp_path):
    from lmlib.training.checkpoint import resumed, save_checkpoint

    path = tmp_path / "run.pt"
    assert resumed(None, {"lr": 0.1}, "training") is None
    assert resumed(path, {"lr": 0.1}, "training") is None  # nothing saved yet
    save_checkpoint({"run": {"lr": 0.1}, "losses": [3.0, 2.5]}, path)
    assert resumed(path, {"lr": 0.1}, "training")["losses"] == [3.0, 2.5]
    with pytest.raises(CheckpointError, match="lr: checkpoint has 0.1, this run has 0.2"):
        resumed(path, {"lr": 0.2}, "training")
