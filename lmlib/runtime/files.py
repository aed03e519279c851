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
