"""Running notebooks' exercises under bubblewrap, a pool (one interpreter) per notebook, and the
time budget every way of running them shares.

A notebook's exercises run one after another in its pool (``bwrap_job.Pool``, ``worker.py
pool``); with more workers than notebooks, a notebook's exercises are shared among several
pools. A pool that dies or stops answering is killed with all it started: its current exercise
gets the reason, and the exercises it had left go to a fresh pool.
"""

from __future__ import annotations

import io
import shutil
import tempfile
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import torch

from lmlib.grading import bwrap_job
from lmlib.grading.outcome import Outcome, exit_reason, finish

STARTUP_ALLOWANCE = 60.0  # seconds a worker may take to import torch on a loaded machine
MIN_GRANT = 0.2  # seconds: with less left of a notebook's budget, an exercise is not started


class Budget:
    """Each notebook's running time left: a job is granted at most what is left when it starts
    (reserved while it runs), and what it did not use is given back when it ends."""

    def __init__(self, timeout: float, total: float, groups: list):
        self.timeout, self.total = timeout, total
        self.left = dict.fromkeys(groups, total)

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


REPLY_ALLOWANCE = 30.0  # seconds past its timeout a pool may take to report an exercise


@dataclass
class _Slot:
    """A running pool: its job dir, the exercises still to run, the one running now."""

    pool: bwrap_job.Pool
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


def run_pools(
    requests: list[dict], groups: list, budget: Budget, jobs: int, cgroups: tuple, preexec
) -> list[Outcome]:
    """A pool (one bwrap job, one interpreter) per notebook, or per share of a notebook when
    there are more workers than notebooks; its exercises run one after another. ``cgroups``:
    (processes, memory in MB) each pool may have at once."""
    outcomes: list[Outcome | None] = [None] * len(requests)
    by_group: dict = {}
    for i, g in enumerate(groups):
        by_group.setdefault(g, []).append(i)
    share = max(1, jobs // max(1, len(by_group)))
    queues = deque(
        deque(order[k :: min(share, len(order))])
        for order in by_group.values()
        for k in range(min(share, len(order)))
    )
    active: list[_Slot] = []
    try:
        while queues or active:
            while queues and len(active) < jobs:
                job = Path(tempfile.mkdtemp(prefix="lmlib-grade-"))
                pool = bwrap_job.Pool(job, *cgroups, preexec)
                active.append(_Slot(pool, job, queues.popleft(), time.monotonic()))
            time.sleep(0.01)
            for slot in list(active):
                if not _step(slot, requests, groups, budget, outcomes, queues):
                    active.remove(slot)
    finally:  # interrupted: nothing may outlive the grader
        for slot in active:
            slot.pool.kill()
            slot.end()
    return outcomes


def _step(slot: _Slot, requests, groups, budget: Budget, outcomes, queues) -> bool:
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
                if pool.send(buffer.getvalue(), granted, requests[i].get("warm", [])):
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
