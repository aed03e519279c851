"""One bubblewrap job per notebook: the pool interpreter (``worker.py pool``) that runs the
notebook's exercises one after another, started with the mounts of ``isolation.command`` and held
in its pids and memory cgroups until every process it started is gone.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from lmlib.grading.cgroup import MemoryCgroup, PidsCgroup
from lmlib.grading.isolation import GRADER_FILES, HERE, command


class Pool:
    """One bwrap job running a notebook's exercises one after another in a single interpreter
    (``worker.py pool``), from its start until every process it started is gone.

    ``job`` is the trusted side's private directory: the worker goes into ``job/grader``
    (mounted read-only); each request is written to the pool's stdin when it is its turn, and
    each result comes back on an inherited pipe, so no exercise ever sees another's inputs."""

    def __init__(self, job: Path, processes: int, memory_mb: int, preexec) -> None:
        grader = job / "grader"
        grader.mkdir()
        for name in GRADER_FILES:
            shutil.copyfile(HERE / name, grader / name)
        groups = (PidsCgroup.create(processes), MemoryCgroup.create(memory_mb << 20))
        self.groups = [g for g in groups if g is not None]
        self.child: int | None = None
        self.reply = b""
        report_r, report_w = os.pipe()
        self.info_r, info_w = os.pipe()
        out = open(job / "output.txt", "wb")  # noqa: SIM115
        argv = [sys.executable, "-I", "/grader/worker.py", "pool", str(report_w)]

        def setup() -> None:  # in the child, before exec
            preexec()
            for group in self.groups:
                group.enter()

        try:
            self.proc = subprocess.Popen(
                command(shutil.which("bwrap") or "bwrap", str(grader), info_w, argv),
                stdin=subprocess.PIPE,
                stdout=out,
                stderr=subprocess.STDOUT,
                pass_fds=(report_w, info_w),
                preexec_fn=setup,
                start_new_session=True,
            )
        finally:
            out.close()
            os.close(report_w)
            os.close(info_w)
        os.set_blocking(report_r, False)
        self.report_r = report_r
        self.ready = False

    def send(self, request: bytes, timeout: float, warm: list[str] = ()) -> bool:
        """Start the next exercise; False if the pool is gone. ``warm``: modules the exercise's
        spec names, imported by the pool (trusted) before it forks the exercise."""
        header = {"size": len(request), "timeout": timeout, "warm": list(warm)}
        header = json.dumps(header).encode() + b"\n"
        try:
            self.proc.stdin.write(header + request)
            self.proc.stdin.flush()
            return True
        except OSError:
            return False

    def poll(self) -> tuple[dict, bytes] | None:
        """The next whole message from the pool, ``({"ready": true}, b"")`` first, then
        ``(report, result bytes)`` per exercise; None until one has fully arrived."""
        try:
            while chunk := os.read(self.report_r, 1 << 20):
                self.reply += chunk
        except BlockingIOError:
            pass
        if b"\n" not in self.reply:
            return None
        line, rest = self.reply.split(b"\n", 1)
        msg = json.loads(line)
        size = int(msg.get("size", 0))
        if len(rest) < size:
            return None
        self.reply = rest[size:]
        self.ready = self.ready or bool(msg.get("ready"))
        return msg, rest[:size]

    def running(self) -> bool:
        return self.proc.poll() is None

    def _init_pid(self) -> int | None:
        """The host pid of the job's PID-namespace init, which bwrap reports on --info-fd."""
        if self.child is None:
            data = b""
            while select.select([self.info_r], [], [], 1.0)[0]:
                chunk = os.read(self.info_r, 4096)
                if not chunk:
                    break
                data += chunk
            try:
                self.child = int(json.loads(data)["child-pid"])
            except (ValueError, KeyError, TypeError):
                self.child = 0
        return self.child or None

    def kill(self) -> None:
        """SIGKILL the namespace's init: the kernel then kills every process inside it."""
        if not self.running():
            return
        init = self._init_pid()
        if init and self.running():  # still bwrap's child, so the pid is not reused yet
            _kill(init)
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:  # --die-with-parent takes the namespace down too
            _kill(self.proc.pid)

    def close(self) -> int:
        """Exit code of the pool (negative: killed by that signal), once all of it is gone.

        bwrap exits only after the namespace's init has been reaped, and the kernel reaps an
        init only after every other process of its PID namespace has exited."""
        try:
            self.proc.stdin.close()  # the pool's loop ends
        except OSError:
            pass
        try:
            code = self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()
            code = self.proc.wait()
        for group in self.groups:
            group.close()
        for fd in (self.report_r, self.info_r):
            os.close(fd)
        return -(code - 128) if code > 128 else code


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
