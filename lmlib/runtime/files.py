"""Writing files so that a crash never leaves half of one: write a temporary file beside the
target, flush it to disk, rename it over the target in one atomic step, then flush the directory
so the rename itself survives a power cut."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO


def _temporaries(path: Path) -> list[Path]:
    return sorted(path.parent.glob(f".{path.name}.*.tmp"))


@contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb") -> Iterator[IO]:
    """``with atomic_write(p) as f: ...`` -> p holds the new content, or (on any error) the old."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)  # atomic on POSIX and Windows: readers see old or new, never half
        fsync_directory(path.parent)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def fsync_directory(directory: str | os.PathLike) -> None:
    """Flush a directory's entries (a rename into it) to disk; a no-op where unsupported."""
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some filesystems (and Windows) cannot fsync a directory
        pass
    finally:
        os.close(fd)


def remove_stale_temporaries(path: str | os.PathLike) -> list[Path]:
    """Delete the temporary files a killed ``atomic_write(path)`` left behind; returns them."""
    removed = []
    for tmp in _temporaries(Path(path)):
        try:
            tmp.unlink()
            removed.append(tmp)
        except OSError:
            pass
    return removed


def save_figure(fig, path: str | os.PathLike, dpi: int = 110, **options) -> Path:
    """Save a matplotlib figure as a PNG, atomically and byte-stable: no "Software" stamp, so
    the same figure from another matplotlib version is the same file. Returns the path."""
    path = Path(path)
    with atomic_write(path) as f:
        fig.savefig(f, format="png", dpi=dpi, metadata={"Software": None}, **options)
    return path


CHECKPOINTS_ENV = "LMLIB_CHECKPOINTS"
COLAB_DRIVE = Path("/content/drive/MyDrive")  # where Colab mounts Google Drive


def checkpoint_dir(lab: str) -> Path:
    """The folder where `lab`'s training cells keep their checkpoints (created if missing).

    $LMLIB_CHECKPOINTS/<lab> when that is set; in Colab with Google Drive mounted, a folder on
    the Drive, which outlives a disconnected runtime; otherwise ./checkpoints/<lab>.
    """
    if not lab or Path(lab).name != lab:
        raise ValueError(f"lab must be a plain name such as '3_1_multihead_attention', got {lab!r}")
    root = os.environ.get(CHECKPOINTS_ENV)
    if root:
        base = Path(root)
    elif COLAB_DRIVE.is_dir():
        base = COLAB_DRIVE / "lmlib-checkpoints"
    else:
        base = Path("checkpoints")
    path = base / lab
    path.mkdir(parents=True, exist_ok=True)
    return path
