"""Checkpoints that survive crashes: written atomically, read back with a clear error if damaged.

A checkpoint is a dict of tensors and plain data saved with torch.save and loaded with
``weights_only=True``, so loading never executes code from the file.
"""

from __future__ import annotations

import os
import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch

from lmlib.runtime.files import atomic_write

FORMAT = "lmlib-checkpoint-1"


class CheckpointError(RuntimeError):
    """A checkpoint is missing, corrupt, truncated or belongs to a different run."""


def save_checkpoint(state: dict[str, Any], path: str | os.PathLike) -> Path:
    """Write `state` to `path` so that a crash at any moment leaves the previous file intact."""
    with atomic_write(path) as f:
        torch.save({"format": FORMAT, **state}, f)
    return Path(path)


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Read a checkpoint written by save_checkpoint; CheckpointError says what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile, ValueError) as e:
        raise CheckpointError(
            f"checkpoint {path} is corrupt or truncated ({type(e).__name__}: {e}). "
            f"Delete it to start over, or point to another checkpoint."
        ) from e
    if not isinstance(state, dict) or state.get("format") != FORMAT:
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
