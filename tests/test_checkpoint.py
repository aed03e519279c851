from pathlib import Path

import pytest
import torch

from lmlib.runtime import files
from lmlib.training import checkpoint
from lmlib.training.checkpoint import CheckpointError, load_checkpoint, save_checkpoint


def test_round_trip(tmp_path):
    path = save_checkpoint({"step": 3, "w": torch.arange(4.0)}, tmp_path / "a" / "ckpt.pt")
    state = load_checkpoint(path)
    assert state["step"] == 3 and torch.equal(state["w"], torch.arange(4.0))


def test_crash_mid_save_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    path = save_checkpoint({"step": 1}, tmp_path / "ckpt.pt")
    real_save = torch.save

    def dying_save(obj, f):
        real_save(obj, f)
        f.truncate(10)  # half-written file, then the process "dies"
        raise OSError("disk full")

    monkeypatch.setattr(checkpoint.torch, "save", dying_save)
    with pytest.raises(OSError):
        save_checkpoint({"step": 2}, path)
    monkeypatch.undo()
    assert load_checkpoint(path)["step"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.pt"]  # no temp file left behind


def test_truncated_or_foreign_files_are_clear_errors(tmp_path):
    path = save_checkpoint({"w": torch.randn(100)}, tmp_path / "ckpt.pt")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        load_checkpoint(path)
    path.write_bytes(b"")
    with pytest.raises(CheckpointError):
        load_checkpoint(path)
    torch.save({"something": 1}, path)
    with pytest.raises(CheckpointError, match="not an lmlib checkpoint"):
        load_checkpoint(path)
    with pytest.raises(CheckpointError, match="no checkpoint"):
        load_checkpoint(tmp_path / "missing.pt")


def test_loading_never_runs_code(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    path = tmp_path / "ckpt.pt"
    torch.save({"format": checkpoint.FORMAT, "x": Evil()}, path)
    with pytest.raises(CheckpointError):
        load_checkpoint(path)


def _saved(tmp_path):
    path = save_checkpoint({"step": 7, "w": torch.randn(64), "name": "run"}, tmp_path / "c.pt")
    return path, path.read_bytes()


def test_every_truncation_is_refused_naming_the_file(tmp_path):
    path, data = _saved(tmp_path)
    for n in sorted({int(i) for i in torch.linspace(0, len(data) - 1, 120)}):
        path.write_bytes(data[:n])
        with pytest.raises(CheckpointError, match="corrupt or truncated|not an lmlib") as e:
            load_checkpoint(path)
        assert str(path) in str(e.value) and "Delete it" in str(e.value), n


def test_every_single_byte_change_is_refused(tmp_path):
    path, data = _saved(tmp_path)
    rng = torch.Generator().manual_seed(0)
    for pos in torch.randint(0, len(data), (200,), generator=rng).tolist():
        bad = bytearray(data)
        bad[pos] ^= 1 << int(torch.randint(0, 8, (), generator=rng))
        path.write_bytes(bytes(bad))
        with pytest.raises(CheckpointError, match=str(path)):
            load_checkpoint(path)


@pytest.mark.parametrize(
    "garbage",
    [b"", b"\0" * 100, b"PK\x03\x04 not a zip", checkpoint._MAGIC + b"0" * 64 + b"\nxx"],
    ids=["empty", "zeros", "fake-zip", "fake-header"],
)
def test_garbage_is_refused_naming_the_file(tmp_path, garbage):
    path = tmp_path / "c.pt"
    path.write_bytes(garbage)
    with pytest.raises(CheckpointError, match=str(path)):
        load_checkpoint(path)


def test_stale_temporaries_are_removed_and_the_directory_is_flushed(tmp_path, monkeypatch):
    stale = tmp_path / ".c.pt.abc123.tmp"  # what a save killed mid-write leaves
    stale.write_bytes(b"half")
    flushed = []
    monkeypatch.setattr(files, "fsync_directory", lambda d: flushed.append(Path(d)))
    save_checkpoint({"step": 1}, tmp_path / "c.pt")
    assert not stale.exists() and [p.name for p in tmp_path.iterdir()] == ["c.pt"]
    assert flushed == [tmp_path]


def test_first_format_files_still_load(tmp_path):
    path = tmp_path / "old.pt"
    torch.save({"format": checkpoint.OLD_FORMAT, "step": 4}, path)
    assert load_checkpoint(path)["step"] == 4
