"""The trusted side of sandboxing: start workers, enforce limits, read back only plain data.

Where bubblewrap works (``isolation.py``), each notebook's exercises run in a pool of its own
(``pools.py``): one interpreter in its own namespaces, each exercise in a fresh child of it, and
the grade is tamper-proof. Elsewhere each exercise is forked by ``worker.py serve`` (or spawned
afresh with ``fork=False``): own session, an empty temp cwd, and the grade records that it is
not tamper-proof. Either way: rlimits on address space, CPU and file size, a wall-clock timeout
per exercise that kills everything it started, and a time budget per notebook. What comes back
is read by ``outcome.py``, which accepts only plain data.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import torch

from lmlib.grading import isolation
from lmlib.grading.outcome import Outcome, finish
from lmlib.grading.pools import MIN_GRANT, STARTUP_ALLOWANCE, Budget, run_pools
from lmlib.grading.worker import set_limits

WORKER = Path(__file__).with_name("worker.py")


@dataclass(frozen=True)
class Limits:
    timeout: float = 10.0  # wall-clock seconds per exercise
    memory_mb: int = 3072  # address space, torch included (about 650 MB)
    fsize_mb: int = 16  # largest file the submission may write, its printed output included
    processes: int = 32  # at once, per exercise (a pids cgroup, where there is one)
    budget: float | None = None  # seconds for all of one notebook's exercises (notebook_seconds)

    def __post_init__(self) -> None:
        if self.budget is not None and not self.timeout <= self.budget <= 36000:
            raise ValueError(f"budget={self.budget} is out of range: use {self.timeout} to 36000")
        for name, low, high in [
            ("timeout", 0.5, 3600),
            ("memory_mb", 256, 1 << 20),
            ("fsize_mb", 1, 1 << 14),
            ("processes", 1, 4096),
        ]:
            value = getattr(self, name)
            if not low <= value <= high:
                raise ValueError(f"{name}={value} is out of range: use {low} to {high}")

    @property
    def notebook_seconds(self) -> float:
        """What one notebook's exercises may run in all, so a submission that sleeps in every
        exercise costs this much, not a timeout per exercise."""
        return self.budget if self.budget is not None else max(30.0, 3 * self.timeout)


def _new_job(request: dict) -> Path:
    job = Path(tempfile.mkdtemp(prefix="lmlib-grade-"))
    (job / "work").mkdir()
    torch.save(request, job / "request.pt")
    return job


class Sandbox:
    """Runs worker requests, ``jobs`` at a time. Use as a context manager; reusable across calls."""

    def __init__(
        self,
        limits: Limits = Limits(),
        jobs: int = 2,
        fork: bool = True,
        isolate: bool | None = None,
    ):
        """``isolate``: None uses bubblewrap where it works, True insists on it (RuntimeError
        where it does not), False never uses it (fast, for testing the checks themselves)."""
        self.limits, self.jobs, self.fork = limits, max(1, jobs), fork
        probed = isolation.probe() if isolate is not False else isolation.NONE
        if isolate and not probed.tamper_proof:
            raise RuntimeError(f"isolation was required but is unavailable: {probed.reason}")
        self.isolation = probed
        self._server: subprocess.Popen | None = None
        self._buffer = b""

    def __enter__(self) -> Sandbox:
        if self.fork and not self.isolation.tamper_proof:
            self._start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._server is not None:
            server, self._server = self._server, None
            try:
                server.stdin.close()  # the server kills its children and exits
                server.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                _killpg(server.pid)
                server.wait()

    def run(self, requests: list[dict], groups: list | None = None) -> list[Outcome]:
        """One Outcome per request, in order. Never raises for anything a submission does, and
        returns only once every process of every job is gone. ``groups`` names each request's
        notebook: the requests of one notebook share its time budget
        (``Limits.notebook_seconds``); without it they all share one."""
        groups = list(groups) if groups is not None else [0] * len(requests)
        if len(groups) != len(requests):
            raise ValueError(f"{len(groups)} groups for {len(requests)} requests")
        budget = Budget(self.limits.timeout, self.limits.notebook_seconds, groups)
        if self.isolation.tamper_proof:
            preexec = _preexec(self._job_limits())
            cgroups = (self.limits.processes, self.limits.memory_mb)
            return run_pools(requests, groups, budget, self.jobs, cgroups, preexec)
        if self.fork:
            return self._run_forked(requests, groups, budget)
        return self._run_spawned(requests, groups, budget)

    def _job_limits(self) -> dict:
        lim = self.limits
        cpu = int(lim.timeout) + 5
        return {
            "timeout": lim.timeout,
            "memory_mb": lim.memory_mb,
            "cpu_s": cpu,
            "fsize_mb": lim.fsize_mb,
            "processes": lim.processes,
        }

    # fork server
    def _start(self) -> None:
        self._server = subprocess.Popen(
            [sys.executable, "-I", str(WORKER), "serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            cwd="/",
        )
        self._buffer = b""
        msg = self._read_message(time.monotonic() + 300)
        if not msg or not msg.get("ready"):
            self.close()
            raise RuntimeError("the grading worker did not start (is torch installed?)")

    def _read_message(self, deadline: float) -> dict | None:
        """The server's next JSON line, or None at EOF or deadline."""
        fd = self._server.stdout.fileno()
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                return None
            chunk = os.read(fd, 65536)
            if not chunk:
                return None
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return json.loads(line)

    def _run_forked(self, requests: list[dict], groups: list, budget: Budget) -> list[Outcome]:
        outcomes: list[Outcome | None] = [None] * len(requests)
        queue, alone = deque(range(len(requests))), deque()
        running: dict[int, tuple[Path, float, float]] = {}  # i -> (job dir, t0, granted)
        while queue or alone or running:
            if self._server is None:
                self._start()
            # after the server died, the jobs that were running are retried one at a time: the
            # one that kills it again is the culprit, the others were bystanders
            while (alone and not running) or (queue and not alone and len(running) < self.jobs):
                i = (alone or queue).popleft()
                granted = budget.grant(groups[i])
                if granted < MIN_GRANT:
                    budget.settle(groups[i], granted, 0.0)
                    outcomes[i] = budget.exhausted()
                    continue
                running[i] = (_new_job(requests[i]), time.monotonic(), granted)
                lim = {**self._job_limits(), "timeout": granted}
                warm = requests[i].get("warm", [])
                line = json.dumps({"id": i, "dir": str(running[i][0]), "warm": warm, **lim})
                self._server.stdin.write(line.encode() + b"\n")
                self._server.stdin.flush()
            if not running:
                continue
            msg = self._read_message(time.monotonic() + self.limits.timeout + 30)
            if msg is None or msg.get("id") not in running:
                _killpg(self._server.pid)
                self._server.wait()
                self._server = None
                culprit = len(running) == 1
                now = time.monotonic()
                for i, (job, t0, granted) in running.items():
                    budget.settle(groups[i], granted, now - t0)
                    outcomes[i] = finish(job, None, False, self.limits.timeout, t0)
                    outcomes[i].problem = "the grading process was killed (by the submission?)"
                    if not culprit:
                        alone.append(i)
                running.clear()
                continue
            job, t0, granted = running.pop(msg["id"])
            budget.settle(groups[msg["id"]], granted, time.monotonic() - t0)
            out = finish(job, msg["code"], msg["timeout"], granted, t0)
            outcomes[msg["id"]] = budget.cut(out, granted)
            if msg.get("lost") and out.result is None:
                out.problem = "the grading process was killed (by the submission?)"
        return outcomes

    # one fresh interpreter per request
    def _run_spawned(self, requests: list[dict], groups: list, budget: Budget) -> list[Outcome]:
        outcomes: list[Outcome | None] = [None] * len(requests)
        queue = deque(range(len(requests)))
        running: dict[int, tuple[subprocess.Popen, Path, float, float]] = {}
        started: dict[int, float] = {}
        lim = self._job_limits()
        while queue or running:
            while queue and len(running) < self.jobs:
                i = queue.popleft()
                granted = budget.grant(groups[i])
                if granted < MIN_GRANT:
                    budget.settle(groups[i], granted, 0.0)
                    outcomes[i] = budget.exhausted()
                    continue
                job = _new_job(requests[i])
                with open(job / "output.txt", "wb") as out:
                    proc = subprocess.Popen(
                        [sys.executable, "-I", str(WORKER), "run", str(job)],
                        cwd=job / "work",
                        stdin=subprocess.DEVNULL,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                        preexec_fn=_preexec(lim),
                    )
                running[i] = (proc, job, time.monotonic(), granted)
            time.sleep(0.02)
            now = time.monotonic()
            for i, (proc, job, t0, granted) in list(running.items()):
                if i not in started and (job / "started").exists():
                    started[i] = now  # the clock starts once torch is imported
                late = now - started.get(i, t0 + STARTUP_ALLOWANCE) > granted
                if proc.poll() is None and not late:
                    continue
                if late and proc.poll() is None:
                    _killpg(proc.pid)
                code = proc.wait()
                _killpg(proc.pid)  # whatever it started goes too
                budget.settle(groups[i], granted, now - started[i] if i in started else 0.0)
                out = finish(job, code, late and code < 0, granted, t0)
                outcomes[i] = budget.cut(out, granted)
                del running[i]
        return outcomes


SPAWN_STARTUP_CPU_S = 10  # a spawned worker first starts Python and imports torch


def _preexec(lim: dict):
    def limit() -> None:  # runs in the child between fork and exec
        set_limits(lim["memory_mb"], lim["cpu_s"] + SPAWN_STARTUP_CPU_S, lim["fsize_mb"])

    return limit


def _killpg(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
