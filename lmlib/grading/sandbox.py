"""The trusted side of sandboxing: start workers, enforce limits, read back only plain data.

Each request runs in its own process (forked by ``worker.py serve``, or spawned afresh with
``fork=False``): own session, rlimits on address space, CPU and file size, an empty temp cwd, a
wall-clock timeout that kills the whole process group. What comes back is loaded with
``torch.load(weights_only=True)`` and accepted only if it is plain data.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from lmlib.grading.worker import set_limits

WORKER = Path(__file__).with_name("worker.py")
MAX_RESULT_BYTES = 64 << 20
STARTUP_ALLOWANCE = 60.0  # seconds a spawned worker may take to import torch on a busy machine


@dataclass(frozen=True)
class Limits:
    timeout: float = 10.0  # wall-clock seconds per exercise
    memory_mb: int = 3072  # address space, torch included (about 650 MB)
    fsize_mb: int = 16  # largest file the submission may write, its printed output included


@dataclass
class Outcome:
    result: dict | None  # the worker's plain-data answer, None when there is none
    problem: str | None  # why there is no result
    output: str  # the tail of what the process wrote to its stdout/stderr
    seconds: float = 0.0


def check_plain(x: Any, depth: int = 0) -> None:
    """TypeError unless x is exact tensors, numbers, strings, None, and containers of those."""
    if depth > 8:
        raise TypeError("nested too deeply")
    if type(x) is Tensor:
        if x.layout != torch.strided or x.device.type != "cpu" or x.requires_grad:
            raise TypeError("a tensor that is not a plain dense CPU tensor")
    elif type(x) in (list, tuple):
        for item in x:
            check_plain(item, depth + 1)
    elif type(x) is dict:
        for key, value in x.items():
            if type(key) is not str:
                raise TypeError("a dict key that is not a str")
            check_plain(value, depth + 1)
    elif type(x) not in (int, float, bool, str, type(None)):
        raise TypeError(f"a value of type {type(x).__name__}")


def _load_result(job: Path) -> dict:
    path = job / "result.pt"
    if path.stat().st_size > MAX_RESULT_BYTES:
        raise ValueError(f"result is larger than {MAX_RESULT_BYTES >> 20} MB")
    with warnings.catch_warnings():  # a forged file may warn; it is rejected or checked anyway
        warnings.simplefilter("ignore")
        result = torch.load(path, weights_only=True)
    check_plain(result)
    if type(result) is not dict or type(result.get("cases")) is not list:
        raise TypeError("the result is not a dict with a list of cases")
    return result


def _exit_reason(code: int | None, limits: Limits) -> str:
    if code is not None and code < 0:
        sig = signal.Signals(-code).name if -code in signal.valid_signals() else str(-code)
        hint = {
            "SIGXCPU": " (CPU time limit)",
            "SIGXFSZ": " (file size limit)",
            "SIGKILL": " (killed: memory or time limit?)",
            "SIGSEGV": " (crashed)",
        }
        return f"killed by {sig}{hint.get(sig, '')}"
    return f"exit code {code}; did the code call os._exit or kill its own process?"


def _finish(job: Path, code: int | None, timed_out: bool, limits: Limits, t0: float) -> Outcome:
    try:
        out = job / "output.txt"
        with open(out, "rb") as f:
            f.seek(max(0, out.stat().st_size - 2000))
            output = f.read().decode("utf-8", "replace")
    except OSError:
        output = ""
    result, problem = None, None
    if timed_out:
        problem = f"timed out after {limits.timeout:g} s (an infinite loop, or far too slow)"
    elif (job / "result.pt").exists():
        try:
            result = _load_result(job)
        except Exception as e:  # a forged or damaged result is the submission's problem
            problem = f"unreadable result from the worker ({type(e).__name__}: {e})"[:300]
    else:
        problem = "the process ended before returning a result: " + _exit_reason(code, limits)
    shutil.rmtree(job, ignore_errors=True)
    return Outcome(result, problem, output, time.monotonic() - t0)


def _new_job(request: dict) -> Path:
    job = Path(tempfile.mkdtemp(prefix="lmlib-grade-"))
    (job / "work").mkdir()
    torch.save(request, job / "request.pt")
    return job


class Sandbox:
    """Runs worker requests, ``jobs`` at a time. Use as a context manager; reusable across calls."""

    def __init__(self, limits: Limits = Limits(), jobs: int = 2, fork: bool = True):
        self.limits, self.jobs, self.fork = limits, max(1, jobs), fork
        self._server: subprocess.Popen | None = None
        self._buffer = b""

    def __enter__(self) -> Sandbox:
        if self.fork:
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

    def run(self, requests: list[dict]) -> list[Outcome]:
        """One Outcome per request, in order. Never raises for anything a submission does."""
        return self._run_forked(requests) if self.fork else self._run_spawned(requests)

    def _job_limits(self) -> dict:
        lim = self.limits
        cpu = int(lim.timeout) + 5
        return {
            "timeout": lim.timeout,
            "memory_mb": lim.memory_mb,
            "cpu_s": cpu,
            "fsize_mb": lim.fsize_mb,
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

    def _run_forked(self, requests: list[dict]) -> list[Outcome]:
        outcomes: list[Outcome | None] = [None] * len(requests)
        queue, alone = deque(range(len(requests))), deque()
        running: dict[int, tuple[Path, float]] = {}
        while queue or alone or running:
            if self._server is None:
                self._start()
            # after the server died, the jobs that were running are retried one at a time: the
            # one that kills it again is the culprit, the others were bystanders
            while (alone and not running) or (queue and not alone and len(running) < self.jobs):
                i = (alone or queue).popleft()
                running[i] = (_new_job(requests[i]), time.monotonic())
                line = json.dumps({"id": i, "dir": str(running[i][0]), **self._job_limits()})
                self._server.stdin.write(line.encode() + b"\n")
                self._server.stdin.flush()
            msg = self._read_message(time.monotonic() + self.limits.timeout + 30)
            if msg is None or msg.get("id") not in running:
                _killpg(self._server.pid)
                self._server.wait()
                self._server = None
                culprit = len(running) == 1
                for i, (job, t0) in running.items():
                    outcomes[i] = _finish(job, None, False, self.limits, t0)
                    outcomes[i].problem = "the grading process was killed (by the submission?)"
                    if not culprit:
                        alone.append(i)
                running.clear()
                continue
            job, t0 = running.pop(msg["id"])
            outcomes[msg["id"]] = out = _finish(job, msg["code"], msg["timeout"], self.limits, t0)
            if msg.get("lost") and out.result is None:
                out.problem = "the grading process was killed (by the submission?)"
        return outcomes

    # one fresh interpreter per request
    def _run_spawned(self, requests: list[dict]) -> list[Outcome]:
        outcomes: list[Outcome | None] = [None] * len(requests)
        queue = deque(range(len(requests)))
        running: dict[int, tuple[subprocess.Popen, Path, float]] = {}
        started: dict[int, float] = {}
        lim = self._job_limits()
        while queue or running:
            while queue and len(running) < self.jobs:
                i = queue.popleft()
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
                running[i] = (proc, job, time.monotonic())
            time.sleep(0.02)
            now = time.monotonic()
            for i, (proc, job, t0) in list(running.items()):
                if i not in started and (job / "started").exists():
                    started[i] = now  # the clock starts once torch is imported
                late = now - started.get(i, t0 + STARTUP_ALLOWANCE) > self.limits.timeout
                if proc.poll() is None and not late:
                    continue
                if late and proc.poll() is None:
                    _killpg(proc.pid)
                code = proc.wait()
                _killpg(proc.pid)  # whatever it started goes too
                outcomes[i] = _finish(job, code, late and code < 0, self.limits, t0)
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
