"""map_spawned: the same results here and in workers, in order, and nothing left running."""

import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from lmlib.experiments.pool import map_spawned

ROOT = Path(__file__).resolve().parents[1]


# Module-level, so that spawned workers can import them by name.
def _where(x: int, delay: float = 0.0) -> tuple[int, int, int]:
    time.sleep(delay)
    return x * x, os.getpid(), torch.get_num_threads()


def _sleep_then_mark(seconds: float, marker: str) -> str:
    time.sleep(seconds)
    Path(marker).write_text("finished")
    return marker


def _fail_or_sleep(x: str, marker: str) -> str:
    if x == "fail":
        raise ValueError(f"bad input {x!r}: use a number")
    return _sleep_then_mark(60.0, marker)


def test_in_process_results_come_in_order_with_one_callback_each():
    seen = []
    threads = torch.get_num_threads()
    out = map_spawned(_where, [(i,) for i in range(4)], jobs=1, on_result=seen.append)
    assert [r[0] for r in out] == [0, 1, 4, 9]
    assert seen == out
    assert {r[1] for r in out} == {os.getpid()}
    assert torch.get_num_threads() == threads  # this process's threads are left alone
    assert map_spawned(_where, [(3,)], jobs=4)[0][1] == os.getpid()  # one call: no workers
    assert map_spawned(_where, [], jobs=2) == []


@pytest.mark.parametrize("jobs", [0, -1, 1.5, True])
def test_jobs_must_be_a_positive_integer(jobs):
    with pytest.raises(ValueError, match="jobs must be an integer >= 1"):
        map_spawned(_where, [(1,), (2,)], jobs=jobs)


def test_args_must_be_tuples():
    with pytest.raises(TypeError, match=r"tuples of fn's arguments, e.g. \[\(x,\) for x in xs\]"):
        map_spawned(_where, [1, 2], jobs=1)


@pytest.mark.slow  # starts worker processes
def test_two_workers_give_the_same_results_in_order():
    args = [(0, 1.0), (1, 0.0), (2, 0.0), (3, 0.0)]  # the first call finishes last
    seen = []
    spawned = map_spawned(_where, args, jobs=2, on_result=seen.append)
    assert [r[0] for r in spawned] == [r[0] for r in map_spawned(_where, args, 1)] == [0, 1, 4, 9]
    assert seen == spawned  # once per result, in the order of the arguments
    assert os.getpid() not in {r[1] for r in spawned}
    assert {r[2] for r in spawned} == {1}  # one torch thread per worker
    assert multiprocessing.active_children() == []


@pytest.mark.slow  # starts worker processes
def test_a_worker_exception_is_raised_here_and_stops_the_other_runs(tmp_path):
    marker = tmp_path / "finished"
    with pytest.raises(ValueError, match="bad input 'fail': use a number"):
        map_spawned(_fail_or_sleep, [("fail", str(marker)), ("sleep", str(marker))], jobs=2)
    assert multiprocessing.active_children() == []
    assert not marker.exists()  # the sleeping run was stopped, not waited for


@pytest.mark.slow  # starts worker processes
def test_an_interrupt_stops_every_worker(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"

    def interrupt(result):  # Ctrl-C as the first result arrives, the second still sleeping
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        map_spawned(
            _sleep_then_mark, [(0.0, str(first)), (60.0, str(second))], 2, on_result=interrupt
        )
    assert multiprocessing.active_children() == []
    assert first.exists() and not second.exists()


def _stat(pid: int) -> list[str]:
    """Fields of /proc/PID/stat after the command name: state, ppid, pgrp, ... ([] if gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return []


def _children(pid: int) -> list[int]:
    return [int(p.name) for p in Path("/proc").glob("[0-9]*") if _stat(p.name)[1:2] == [str(pid)]]


def _gone(pid: int) -> bool:
    return _stat(pid)[:1] in ([], ["Z"])


@pytest.mark.slow  # starts a Python process and its workers
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_workers_end_with_a_terminated_or_killed_parent(sig):
    script = "import time; from lmlib.experiments.pool import map_spawned\n"
    script += "map_spawned(time.sleep, [(60,), (60,), (60,)], jobs=2)\n"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    parent = subprocess.Popen([sys.executable, "-c", script], env=env)
    try:
        workers = []
        for _ in range(1200):  # until both workers are set up: each in a process group of its own
            workers = [p for p in _children(parent.pid) if _stat(p)[2:3] == [str(p)]]
            if len(workers) == 2:
                break
            time.sleep(0.1)
        assert len(workers) == 2, "the workers never started"
        parent.send_signal(sig)
        parent.wait(timeout=60)
        for _ in range(100):
            if all(_gone(p) for p in workers):
                break
            time.sleep(0.1)
        assert all(_gone(p) for p in workers), f"workers {workers} outlived their parent"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
        for p in workers:  # should the test fail, nothing of it goes on sleeping
            if not _gone(p):
                os.kill(p, signal.SIGKILL)
