"""Checkpoints that survive crashes: written atomically, verified on load, refused if damaged.

A checkpoint file is a one-line header (``lmlib-checkpoint-2``, then the SHA-256 of the rest)
followed by a dict of tensors and plain data saved with torch.save. Loading checks the hash
before anything else, so a truncated file or a single flipped bit is refused with an error that
names the file, and is loaded with ``weights_only=True``, so it never executes code from the
file. Files of the first format (a bare torch.save zip, without a hash) still load.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from lmlib.runtime.files import atomic_write, remove_stale_temporaries

FORMAT = "lmlib-checkpoint-2"
OLD_FORMAT = "lmlib-checkpoint-1"
_MAGIC = FORMAT.encode() + b" sha256="
_HEADER = len(_MAGIC) + 64 + 1  # magic, hex digest, newline


class CheckpointError(RuntimeError):
    """A checkpoint is missing, corrupt, truncated or belongs to a different run."""


def save_checkpoint(state: dict[str, Any], path: str | os.PathLike) -> Path:
    """Write `state` to `path` so that a crash at any moment leaves the previous file intact.

    Temporary files that an earlier, killed save left beside `path` are removed first."""
    path = Path(path)
    remove_stale_temporaries(path)
    buffer = io.BytesIO()
    torch.save({"format": FORMAT, **state}, buffer)
    payload = buffer.getvalue()
    with atomic_write(path) as f:
        f.write(_MAGIC + hashlib.sha256(payload).hexdigest().encode() + b"\n")
        f.write(payload)
    return path


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Read a checkpoint written by save_checkpoint; CheckpointError says what is wrong and what
    to do, for any damage: missing, truncated, garbage, or a single changed byte."""
    path = Path(path)
    advice = "Delete it to start over, or point to another checkpoint."
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise CheckpointError(f"no checkpoint at {path}") from None
    except OSError as e:
        raise CheckpointError(f"cannot read checkpoint {path}: {e}. {advice}") from e
    if data.startswith(_MAGIC):
        digest, payload = data[len(_MAGIC) : _HEADER - 1], data[_HEADER:]
        if len(data) < _HEADER or hashlib.sha256(payload).hexdigest().encode() != digest:
            raise CheckpointError(
                f"checkpoint {path} is corrupt or truncated: its content does not match the "
                f"SHA-256 stored with it ({len(data)} bytes). {advice}"
            )
        expected = FORMAT
    elif data.startswith(b"PK"):  # the first format: a torch.save zip with no hash
        payload, expected = data, OLD_FORMAT
    else:
        raise CheckpointError(
            f"{path} is not an lmlib checkpoint (it starts with {data[:16]!r}). {advice}"
        )
    try:
        state = torch.load(io.BytesIO(payload), map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises many kinds for a damaged zip: all mean the same here
        raise CheckpointError(
            f"checkpoint {path} is corrupt or truncated ({type(e).__name__}: {e}). {advice}"
        ) from e
    if not isinstance(state, dict) or state.get("format") != expected:
        raise CheckpointError(f"{path} is not an lmlib checkpoint (format {FORMAT!r} expected)")
    return state


def check_same(saved: dict[str, Any], current: dict[str, Any], what: str, path: Path) -> None:
    """Raise CheckpointError naming each field where a saved config differs from this run's."""
    diffs = [
        f"{k}: checkpoint has {saved.get(k)!r}, this run has {current.get(k)!r}"
        for k in sorted(set(saved) | set(current))
        if saved.get(k) != current.get(k)
    ]
    if diffs:
        raise CheckpointError(
            f"checkpoint {path} was made with a different {what}:\n  "
            + "\n  ".join(diffs)
            + "\nUse the same settings, or a new checkpoint path."
        )


def resumed(path: str | os.PathLike | None, run: dict[str, Any], what: str) -> dict | None:
    """The state an earlier, stopped call of the same run saved at `path` (under the key "run"),
    or None when `path` is None or holds no file yet; CheckpointError, naming each difference,
    when the file belongs to a run with other settings."""
    if path is None or not Path(path).exists():
        return None
    state = load_checkpoint(path)
    check_same(state.get("run", {}), run, what, Path(path))
    return state


def kept_result(path: str | os.PathLike, key: Any, compute: Callable[[], Any]) -> Any:
    """compute()'s result, kept in the checkpoint `path`: computed and saved the first time,
    read back on any later call with the same `key` (the settings that determine the result).

    A lab cell that runs many short trainings wraps each one in it, so running the cell again
    after a stop or a disconnect redoes only the training that was cut off. The result must be
    plain data (tensors, numbers, strings, None, and lists, tuples and dicts of them), and so
    must `key`; a file kept for another key is computed again and replaced.
    """
    path = Path(path)
    if path.exists():
        state = load_checkpoint(path)
        if state.get("key") == key:
            return state["result"]
    result = compute()
    buffer = io.BytesIO()
    torch.save({"key": key, "result": result}, buffer)
    try:
        torch.load(io.BytesIO(buffer.getvalue()), weights_only=True)
    except Exception as e:
        raise TypeError(
            f"kept_result can keep only plain data (tensors, numbers, strings, None, and lists, "
            f"tuples and dicts of them); this result or key holds something else: {e}"
        ) from e
    save_checkpoint({"key": key, "result": result}, path)
    return result
