"""The grading worker's ``pool`` mode, inside bubblewrap: one interpreter for a notebook's
exercises, each run in a forked child whose traces are wiped before the next.

Like ``worker.py`` it imports nothing from lmlib but ``answers.py`` and ``seccomp.py`` beside it;
``isolation.py`` copies the four files alone into the job's read-only ``/grader``.
"""

from __future__ import annotations

import io
import json
import os
import select
import signal
import sys
import time
import traceback

import torch

if __package__:  # imported as lmlib.grading.pool_worker by the trusted side (tests)
    from lmlib.grading.answers import torch_save
    from lmlib.grading.seccomp import no_new_processes
else:  # imported by worker.py run as a script, alone with its siblings
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from answers import torch_save
    from seccomp import no_new_processes

    del sys.path[0]

SCRATCH = ("/tmp", "/job", "/dev/shm")  # the job's writable places, emptied between exercises
OUTPUT = "/tmp/.lmlib-output"  # an exercise's stdout and stderr, read back by the pool
MAX_RESULT = 64 << 20  # bytes; as outcome.MAX_RESULT_BYTES


def pool(report_fd: int, execute) -> None:
    """Inside bwrap: one interpreter for a notebook's exercises, one at a time. Reads ``{"size":
    N}`` then N bytes of a request on stdin, forks a child that runs it (in the child, from
    before the submission runs, no process may start or be traced: ``no_new_processes``) and
    reports ``{"code", "timeout", "size", "output"}`` then the result's bytes on ``report_fd``.
    ``execute`` is the worker's: it runs one request. Between exercises the child and
    everything it wrote are gone, so one exercise can pass nothing to the next. The pool itself
    never runs student code, and the children it starts can neither trace it (it is not
    dumpable) nor signal it."""
    import ctypes

    import einops  # noqa: F401  (warm imports every forked child shares)
    import numpy  # noqa: F401
    import torch.nn.functional  # noqa: F401

    ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE 0
    # as the PID namespace's init (bwrap --as-pid-1) it gets no signal from inside the namespace
    # that it has no handler for: drop Python's one for SIGINT
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.chdir("/job")
    report = os.fdopen(report_fd, "wb", buffering=0)
    report.write(b'{"ready": true}\n')
    requests = os.fdopen(0, "rb", buffering=0)
    while line := requests.readline():
        header = json.loads(line)
        request = _read_exactly(requests, header["size"])
        _warm(header.get("warm", []))  # before the fork: out of the exercise's clock
        code, timed_out, result = _run_child(request, header["timeout"], execute)
        output = _tail(OUTPUT, 2000)
        for place in SCRATCH:
            _empty(place)
        reply = {"code": code, "timeout": timed_out, "size": len(result), "output": output}
        report.write(json.dumps(reply).encode() + b"\n" + result)


def _run_child(request: bytes, timeout: float, execute) -> tuple[int | None, bool, bytes]:
    """Fork a child that runs ``request``; (exit code, timed out, the result's bytes)."""
    r, w = os.pipe()
    out = os.open(OUTPUT, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    child = os.fork()
    if child == 0:
        code = 70
        try:
            os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
            os.dup2(out, 1)
            os.dup2(out, 2)
            os.dup2(w, 3)
            os.closerange(4, 65536)  # the pool's own pipes are out of reach
            req = torch.load(io.BytesIO(request), weights_only=True)
            no_new_processes()
            buffer = io.BytesIO()
            torch_save(execute(req), buffer)
            data = memoryview(buffer.getvalue())
            while data:
                data = data[os.write(3, data) :]
            code = 0
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(code)
    os.close(w)
    os.close(out)
    chunks, size, status = [], 0, None
    deadline, timed_out = time.monotonic() + timeout, False
    while status is None:
        if size <= MAX_RESULT and select.select([r], [], [], 0.01)[0]:
            chunk = os.read(r, 1 << 20)
            chunks.append(chunk)
            size += len(chunk)
        pid, st = os.waitpid(child, os.WNOHANG)
        if pid:
            status = st
        elif (time.monotonic() > deadline and not timed_out) or size > MAX_RESULT:
            timed_out = timed_out or size <= MAX_RESULT
            os.kill(child, signal.SIGKILL)
            time.sleep(0.01)
    os.set_blocking(r, False)
    try:
        while size <= MAX_RESULT and (chunk := os.read(r, 1 << 20)):
            chunks.append(chunk)
            size += len(chunk)
    except BlockingIOError:
        pass
    os.close(r)  # past MAX_RESULT the trusted side refuses the result for its size
    return os.waitstatus_to_exitcode(status), timed_out, b"".join(chunks)[: MAX_RESULT + 1]


def _warm(modules: list[str]) -> None:
    """Import what the exercise's spec names (trusted, never the submission), once per pool."""
    import importlib

    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:  # the answer meets the same failure, and reports it, when it runs
            pass


def _read_exactly(f, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = f.read(size - len(data))
        if not chunk:
            raise EOFError("the request was cut short")
        data += chunk
    return data


def _tail(path: str, size: int) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, 2)
            f.seek(max(0, f.tell() - size))
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


def _empty(place: str) -> None:
    """Remove everything under ``place``, whatever permissions the exercise gave it."""
    for root, dirs, files in os.walk(place, topdown=False):
        for name in files:
            _try(os.unlink, os.path.join(root, name))
        for name in dirs:
            _try(os.chmod, os.path.join(root, name), 0o700)
            _try(os.rmdir, os.path.join(root, name))
            if os.path.lexists(os.path.join(root, name)):  # a symlink to a directory
                _try(os.unlink, os.path.join(root, name))


def _try(fn, *args) -> None:
    try:
        fn(*args)
    except OSError:
        pass
