"""Writing files so that a crash never leaves half of one: write a temporary file beside the
target, flush it to disk, then rename it over the target in one atomic step."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO


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
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def save_figure(fig, path: str | os.PathLike, dpi: int = 110, **options) -> Path:
    """Save a matplotlib figure as a PNG, atomically and byte-stable: no "Software" stamp, so
    the same figure from another matplotlib version is the same file. Returns the path."""
    path = Path(path)
    with atomic_write(path) as f:
        fig.savefig(f, format="png", dpi=dpi, metadata={"Software": None}, **options)
    return path
