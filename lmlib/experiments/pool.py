"""A sweep's independent runs, `jobs` at a time in spawned worker processes, one torch thread each.

Spawned workers start a fresh interpreter and share nothing with this process; with one thread
each, a run gives the same numbers in a worker as on its own. The workers sit in a process group
of their own, so Ctrl-C and SIGTERM reach this process alone: it then cancels the runs not yet
started, stops the workers and raises. Nothing is left running, and no worker cut short by the
signal goes on to report a half-trained run as finished.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

import torch

R = TypeVar("R")
_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def map_spawned(
    fn: Callable[..., R],
    args: Iterable[tuple],
    jobs: int,
    on_result: Callable[[R], None] | None = None,
) -> list[R]:
    """[fn(*a) for a in args], `jobs` at a time in spawned processes with one torch thread each.

    Results come back in the order of `args`, and on_result(result) is called here as each one
    arrives, in that order. With jobs == 1 or fewer than two calls everything runs in this
    process, its thread count untouched. An exception raised by fn in a worker is raised here,
    with its message, once the other workers are stopped. fn must be importable by name (a
    module-level function) and the arguments picklable.
    """
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be an integer >= 1, got {jobs!r}")
    args = list(args)
    for a in args:
        if not isinstance(a, tuple):
            raise TypeError(
                f"args must be tuples of fn's arguments, e.g. [(x,) for x in xs]; got {a!r}"
            )
    if jobs == 1 or len(args) < 2:
        return [_deliver(fn(*a), on_result) for a in args]
    before = set(multiprocessing.active_children())
    ctx = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(
        min(jobs, len(args)), mp_context=ctx, initializer=_worker_setup, initargs=(os.getpid(),)
    )
    try:
        with _sigterm_raises():
            futures = [pool.submit(fn, *a) for a in args]
            results = [_deliver(f.result(), on_result) for f in futures]
    except BaseException:
        _stop(pool, set(multiprocessing.active_children()) - before)
        raise
    pool.shutdown()
    return results


def _deliver(result: R, on_result: Callable[[R], None] | None) -> R:
    if on_result is not None:
        on_result(result)
    return result


def _worker_setup(parent: int) -> None:
    if sys.platform.startswith("linux"):  # die with the parent, even when it is killed (SIGKILL)
        try:
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        except (OSError, AttributeError):
            pass  # no prctl here: the parent's own cleanup still stops the workers
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)
    if hasattr(os, "setpgid"):
        os.setpgid(0, 0)  # out of the terminal's foreground group: Ctrl-C is the parent's to handle
    torch.set_num_threads(1)


def _stop(pool: ProcessPoolExecutor, workers: set) -> None:
    """Cancel the calls not yet started and end the workers (terminate, then kill)."""
    for p in workers:
        p.terminate()
    for p in workers:
        p.join(timeout=10)
        if p.is_alive():
            p.kill()
            p.join()
    pool.shutdown(wait=True, cancel_futures=True)  # its threads end once the workers are gone


@contextmanager
def _sigterm_raises() -> Iterator[None]:
    """SIGTERM raises SystemExit here while the pool runs, so the workers are stopped too (only
    in the main thread, and only where no one else has claimed SIGTERM)."""
    claim = (
        threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    )
    if claim:
        signal.signal(signal.SIGTERM, _exit_on_signal)
    try:
        yield
    finally:
        if claim:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _exit_on_signal(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)
