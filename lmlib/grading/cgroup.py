"""Cgroups per graded job: a cap on how many processes it may have at once (pids), and on the
memory all of them use together, the files it writes to its tmpfs included (memory).

Made under ``/sys/fs/cgroup`` where that is writable (cgroup v1's ``pids`` and ``memory``
hierarchies, or v2 with those controllers); elsewhere ``create`` returns None and the job has no
such cap, which the grade records.
"""

from __future__ import annotations

import os
import signal
import tempfile
import time
from pathlib import Path


class Cgroup:
    """One cgroup of one controller, holding one job; ``None`` from ``create`` where not allowed."""

    CONTROLLER = ""
    LIMIT_FILES: tuple[str, ...] = ()  # v1's file, v2's file

    def __init__(self, path: Path):
        self.path = path

    @classmethod
    def root(cls) -> Path | None:
        for r in (f"/sys/fs/cgroup/{cls.CONTROLLER}", "/sys/fs/cgroup/unified", "/sys/fs/cgroup"):
            p = Path(r)
            if (p / "cgroup.procs").exists() and os.access(p, os.W_OK):
                if r.endswith(cls.CONTROLLER) or cls.CONTROLLER in _read(p / "cgroup.controllers"):
                    return p
        return None

    @classmethod
    def create(cls, limit: int):
        root = cls.root()
        if root is None:
            return None
        try:
            path = Path(tempfile.mkdtemp(prefix="lmlib-grade-", dir=root))
        except OSError:
            return None
        for name in cls.LIMIT_FILES:
            if (path / name).exists():
                try:
                    (path / name).write_text(str(limit))
                    return cls(path)
                except OSError:
                    break
        _rmdir(path)
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
        return _rmdir(self.path) and not left


class PidsCgroup(Cgroup):
    """At most ``limit`` processes and threads at once."""

    CONTROLLER = "pids"
    LIMIT_FILES = ("pids.max",)


class MemoryCgroup(Cgroup):
    """At most ``limit`` bytes of memory for all the job's processes and its tmpfs files."""

    CONTROLLER = "memory"
    LIMIT_FILES = ("memory.limit_in_bytes", "memory.max")


def _rmdir(path: Path) -> bool:
    try:
        path.rmdir()
        return True
    except OSError:
        return False


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""
