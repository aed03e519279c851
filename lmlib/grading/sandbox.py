"""The trusted side of sandboxing: start workers, enforce limits, read back only plain data.

Each request runs in its own process. Where bubblewrap works (``isolation.py``) that process is
a fresh interpreter in its own namespaces, and the grade is tamper-proof. Elsewhere it is forked
by ``worker.py serve`` (or spawned afresh with ``fork=False``): own session, an empty temp cwd,
and the grade records that it is not tamper-proof. Either way: rlimits on address space, CPU and
file size, and a wall-clock timeout that kills everything the job started. What comes back is
read by ``outcome.py``, which accepts only plain data.
"""

from __future__ import annotations

import io
import json
import os
import select
import shutil
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
from lmlib.grading.outcome import Outcome, exit_reason, finish
from lmlib.grading.worker import set_limits

WORKER = Path(__file__).with_name("worker.py")
STARTUP_ALLOWANCE = 60.0  # seconds a spawned worker may take to import torch on a busy machine


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


class _Budget:
    """Each notebook's running time left: a job is granted at most what is left when it starts
    (reserved while it runs), and what it did not use is given back when it ends."""

    def __init__(self, limits: Limits, groups: list):
        self.timeout, self.total = limits.timeout, limits.notebook_seconds
        self.left = dict.fromkeys(groups, self.total)

    def grant(self, group) -> float:
        granted = min(self.timeout, self.left[group])
        self.left[group] -= granted
        return granted

    def settle(self, group, granted: float, used: float) -> None:
        self.left[group] += max(0.0, granted - used)

    def exhausted(self) -> Outcome:
        problem = (
            f"timed out before it started: this notebook's exercises used up their time budget "
            f"of {self.total:g} s"
        )
        return Outcome(None, problem, "", 0.0)

    def cut(self, outcome: Outcome, granted: float) -> Outcome:
        """Say so when a timeout came from the budget rather than the per-exercise limit."""
        if granted < self.timeout and outcome.problem and outcome.problem.startswith("timed out"):
            outcome.problem = (
                f"timed out after {granted:g} s, what was left of this notebook's time budget "
                f"of {self.total:g} s for all its exercises"
            )
        return outcome


MIN_GRANT = 0.2  # seconds: with less left, a job is not started
REPLY_ALLOWANCE = 30.0  # seconds past its timeout a pool may take to report an exercise


@dataclass
class _Slot:
    """A running pool: its job dir, the exercises still to run, the one running now."""

    pool: isolation.Pool
    job: Path
    queue: deque
    t0: float
    current: tuple | None = None  # (request index, sent at, seconds granted)

    def end(self) -> str:
        """Wait until every process of the pool is gone, remove its dir; its own output."""
        self.pool.close()
        output = _tail(self.job / "output.txt")
        shutil.rmtree(self.job, ignore_errors=True)
        return output


def _tail(path: Path, size: int = 2000) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(max(0, path.stat().st_size - size))
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


def _pooled(report: dict, data: bytes, granted: float, sent: float) -> Outcome:
    """The Outcome of one exercise a pool reported, read by ``outcome.finish`` as any other."""
    job = Path(tempfile.mkdtemp(prefix="lmlib-grade-"))
    if data:
        (job / "result.pt").write_bytes(data)
    (job / "output.txt").write_text(str(report.get("output", "")), errors="replace")
    code = report.get("code")
    code = code if type(code) is int else None
    return finish(job, code, bool(report.get("timeout")), granted, sent)


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
        budget = _Budget(self.limits, groups)
        if self.isolation.tamper_proof:
            return self._run_isolated(requests, groups, budget)
        if self.fork:
            return self._run_forked(requests, groups, budget)
        return self._run_spawned(requests, groups, budget)

    def _run_isolated(self, requests: list[dict], groups: list, budget: _Budget) -> list[Outcome]:
        """A pool (one bwrap job, one interpreter) per notebook, or per share of a notebook when
        there are more workers than notebooks; its exercises run one after another."""
        outcomes: list[Outcome | None] = [None] * len(requests)
        by_group: dict = {}
        for i, g in enumerate(groups):
            by_group.setdefault(g, []).append(i)
        share = max(1, self.jobs // max(1, len(by_group)))
        queues = deque(
            deque(order[k :: min(share, len(order))])
            for order in by_group.values()
            for k in range(min(share, len(order)))
        )
        active: list[_Slot] = []
        preexec = _preexec(self._job_limits())
        try:
            while queues or active:
                while queues and len(active) < self.jobs:
                    job = Path(tempfile.mkdtemp(prefix="lmlib-grade-"))
                    pool = isolation.Pool(job, self.limits.processes, preexec)
                    active.append(_Slot(pool, job, queues.popleft(), time.monotonic()))
                time.sleep(0.01)
                for slot in list(active):
                    if not self._step(slot, requests, groups, budget, outcomes, queues):
                        active.remove(slot)
        finally:  # interrupted: nothing may outlive the grader
            for slot in active:
                slot.pool.kill()
                slot.end()
        return outcomes

    def _step(self, slot, requests, groups, budget: _Budget, outcomes, queues) -> bool:
        """Move one pool on: read a result, start the next exercise, or end it. False once the
        pool is gone (what was left of its queue goes to a fresh pool)."""
        now, pool = time.monotonic(), slot.pool
        try:
            msg = pool.poll()
        except (ValueError, TypeError):  # a garbled report: the pool cannot be trusted on
            msg, dead = None, True
        else:
            dead = not pool.running() and msg is None
        if not pool.ready:
            if dead or now - slot.t0 > STARTUP_ALLOWANCE:
                pool.kill()
                output = slot.end()
                why = f"the grading process did not start: {output.strip()[-300:] or '?'}"
                for i in [*([slot.current[0]] if slot.current else []), *slot.queue]:
                    outcomes[i] = Outcome(None, why, output, 0.0)
                return False
            return True
        if slot.current is not None and msg is not None and not msg[0].get("ready"):
            i, sent, granted = slot.current
            report, data = msg
            budget.settle(groups[i], granted, now - sent)
            outcomes[i] = budget.cut(_pooled(report, data, granted, sent), granted)
            slot.current = None
        if slot.current is None:
            while slot.queue:
                i = slot.queue.popleft()
                granted = budget.grant(groups[i])
                if granted >= MIN_GRANT:
                    buffer = io.BytesIO()
                    torch.save(requests[i], buffer)
                    slot.current = (i, time.monotonic(), granted)
                    if pool.send(buffer.getvalue(), granted):
                        return True
                    dead = True
                    break
                budget.settle(groups[i], granted, 0.0)
                outcomes[i] = budget.exhausted()
            if not dead:
                slot.end()
                return False
        i, sent, granted = slot.current
        if dead or now - sent > granted + REPLY_ALLOWANCE:
            pool.kill()
            code = pool.proc.poll()
            output = slot.end()
            budget.settle(groups[i], granted, now - sent)
            problem = "the process ended before returning a result: " + exit_reason(code)
            outcomes[i] = Outcome(None, problem, output, now - sent)
            if slot.queue:  # the other exercises get a fresh pool
                queues.append(slot.queue)
            return False
        return True

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

    def _run_forked(self, requests: list[dict], groups: list, budget: _Budget) -> list[Outcome]:
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
                line = json.dumps({"id": i, "dir": str(running[i][0]), **lim})
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
    def _run_spawned(self, requests: list[dict], groups: list, budget: _Budget) -> list[Outcome]:
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
