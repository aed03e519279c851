"""What comes back from a job, read by the trusted process within bounds.

A job's answer is ``result.pt``: loaded with ``torch.load(weights_only=True)`` (no code runs) and
accepted only if it is plain data, checked iteratively under a cap on the values visited and a
wall-clock deadline, so a forged result can be wrong but can neither run code here nor hang the
grader.
"""

from __future__ import annotations

import shutil
import signal
import threading
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

MAX_RESULT_BYTES = 64 << 20
MAX_NODES = 200_000  # values in one result, counted with repeats
CHECK_SECONDS = 10.0  # to load and check one result in the trusted process


@dataclass
class Outcome:
    result: dict | None  # the worker's plain-data answer, None when there is none
    problem: str | None  # why there is no result
    output: str  # the tail of what the process wrote to its stdout/stderr
    seconds: float = 0.0


def check_plain(x: Any, max_nodes: int = MAX_NODES) -> None:
    """TypeError unless x is exact tensors, numbers, strings, None, and containers of those.

    Iterative and bounded: at most ``max_nodes`` values are visited, counting a value each time it
    is reached, so a forged result whose lists share references (300 wide, 5 deep: 2e12 paths)
    is refused after a few hundred thousand steps instead of hanging the grader."""
    stack, seen = [(x, 0)], 0
    while stack:
        x, depth = stack.pop()
        seen += 1
        if seen > max_nodes:
            raise TypeError(f"more than {max_nodes} values (shared references?)")
        if depth > 8:
            raise TypeError("nested too deeply")
        t = type(x)
        if t is Tensor:
            if x.layout != torch.strided or x.device.type != "cpu" or x.requires_grad:
                raise TypeError("a tensor that is not a plain dense CPU tensor")
        elif t in (list, tuple):
            if len(x) > max_nodes:
                raise TypeError(f"a list of {len(x)} items")
            stack.extend((item, depth + 1) for item in x)
        elif t is dict:
            for key, value in x.items():
                if not (
                    type(key) in (str, int)
                    or type(key) is tuple
                    and len(key) <= 8
                    and all(type(i) in (str, int) for i in key)
                ):
                    raise TypeError("a dict key that is not a str, an int or a tuple of them")
                stack.append((value, depth + 1))
        elif t not in (int, float, bool, str, type(None)):
            raise TypeError(f"a value of type {t.__name__}")


@contextmanager
def deadline(seconds: float, what: str):
    """TimeoutError if the block runs longer than ``seconds`` (main thread only; elsewhere the
    block runs unbounded). Guards the trusted process against a result built to be slow."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum, frame):
        raise TimeoutError(f"{what} took longer than {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def load_result(job: Path) -> dict:
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


def exit_reason(code: int | None) -> str:
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


def finish(job: Path, code: int | None, timed_out: bool, timeout: float, t0: float) -> Outcome:
    try:
        out = job / "output.txt"
        with open(out, "rb") as f:
            f.seek(max(0, out.stat().st_size - 2000))
            output = f.read().decode("utf-8", "replace")
    except OSError:
        output = ""
    result, problem = None, None
    if timed_out:
        problem = f"timed out after {timeout:g} s (an infinite loop, or far too slow)"
    elif code not in (0, None) and (job / "result.pt").exists():
        # the worker exits 0 once every case ran and its refusals were checked after each: a
        # result from a process that ended otherwise was not produced by that path
        problem = "a result came from a process that did not finish: " + exit_reason(code)
    elif (job / "result.pt").exists() and (job / "result.pt").stat().st_size:
        try:
            with deadline(CHECK_SECONDS, "reading the result"):
                result = load_result(job)
        except Exception as e:  # a forged or damaged result is the submission's problem
            problem = f"unreadable result from the worker ({type(e).__name__}: {e})"[:300]
    else:
        problem = "the process ended before returning a result: " + exit_reason(code)
    shutil.rmtree(job, ignore_errors=True)
    return Outcome(result, problem, output, time.monotonic() - t0)
