"""A pids cgroup per graded job: a cap on how many processes the job may have at once.

Made under ``/sys/fs/cgroup`` where that is writable (cgroup v1 ``pids`` or v2 with the pids
controller); elsewhere ``PidsCgroup.create`` returns None and the job has no such cap, which the
grade records.
"""

from __future__ import annotations

import os
import signal
import tempfile
import time
from pathlib import Path

PIDS_ROOTS = ("/sys/fs/cgroup/pids", "/sys/fs/cgroup/unified", "/sys/fs/cgroup")


class PidsCgroup:
    """A pids cgroup capping one job's processes; ``None`` from ``create`` where not allowed."""

    def __init__(self, path: Path):
        self.path = path

    @staticmethod
    def root() -> Path | None:
        for r in PIDS_ROOTS:
            p = Path(r)
            if (p / "cgroup.procs").exists() and os.access(p, os.W_OK):
                if r.endswith("pids") or "pids" in _read(p / "cgroup.controllers"):
                    return p
        return None

    @classmethod
    def create(cls, limit: int) -> PidsCgroup | None:
        root = cls.root()
        if root is None:
            return None
        try:
            path = Path(tempfile.mkdtemp(prefix="lmlib-grade-", dir=root))
            (path / "pids.max").write_text(str(limit))
            return cls(path)
        except OSError:
            return None

    def enter(self) -> None:
        """In the child before exec: move this process (and so all it starts) into the group."""
        with open(self.path / "cgroup.procs", "w") as f:
            f.write("0")

    def pids(self) -> list[int]:
        return [int(p) for p in _read(self.path / "cgroup.procs").split()]

    def close(self, deadline: float = 5.0) -> bool:
        """Kill what is left, wait until the group is empty, remove it; False if it would not."""
        end = time.monotonic() + deadline
        while (left := self.pids()) and time.monotonic() < end:
            for pid in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            time.sleep(0.01)
        try:
            self.path.rmdir()
        except OSError:
            return False
        return not left


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""
