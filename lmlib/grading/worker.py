"""The grading worker: runs one exercise of a student notebook, returns plain data, decides nothing.

Run as a standalone script with ``python -I worker.py`` so lmlib is never imported next to student
code (the reference answers live there). It imports nothing from lmlib but ``answers.py`` and
``seccomp.py`` beside it (and ``pool_worker.py`` in pool mode); under bubblewrap the four are
copied alone into the job's read-only ``/grader``, where no lmlib source exists. Three modes:

- ``pool REPORT_FD``: inside bwrap (``isolation.py``), one interpreter for a notebook's exercises:
  it reads requests on stdin, runs each in a forked child and reports the results on an
  inherited fd; the children may start threads but no process (``no_new_processes``), and
  nothing one of them writes is left for the next;
- ``run JOB_DIR``: run the job in JOB_DIR once (the parent set the limits in ``preexec_fn``);
- ``serve``: a fork server. It imports torch once, then reads ``{"id", "dir", ...}`` lines on stdin
  and forks a monitor per job, which forks the job (own session, rlimits, empty cwd), kills its
  process group at the deadline and answers ``{"id", "code", "timeout", "cpu"}``. Neither the
  server nor a monitor ever runs student code.

A job dir holds ``request.pt`` (torch.save of plain data: the code, the inputs, the forbidden
names), ``work/`` (the empty cwd), and receives ``result.pt`` and ``output.txt``. The parent
loads the result with ``weights_only=True`` and checks every value, so what a submission does in
here (patch torch, rig ``__eq__``, write a fake result) changes nothing but its own answer.
The modules a request names in ``warm`` (from the exercise's spec, never from the submission) are
imported before the job's clock starts; the fork server imports them once, before forking.
"""

from __future__ import annotations
import __future__

import builtins
import importlib
import io
import json
import os
import resource
import select
import signal
import sys
import time
import traceback

import torch

if __package__:  # imported as lmlib.grading.worker by the trusted side, for set_limits
    from lmlib.grading.answers import Refuse, describe_error, forbid, run_cases, torch_save
else:  # run as a script, alone with its siblings (in /grader under bubblewrap)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from answers import Refuse, describe_error, forbid, run_cases, torch_save

    del sys.path[0]


# the notebook's code is compiled with annotations left unevaluated, so a helper annotated with a
# type from lmlib (``lm: lmlib.TransformerLM``) is still defined where lmlib is absent
LAZY = __future__.annotations.compiler_flag


class _Capped(io.TextIOBase):
    """Keeps the first `limit` characters printed, drops the rest."""

    def __init__(self, limit: int = 20_000):
        self.kept, self.room = [], limit

    def writable(self):
        return True

    def write(self, s):
        s = str(s)
        if self.room > 0:
            self.kept.append(s[: self.room])
            self.room -= len(self.kept[-1])
        return len(s)


def execute(req: dict) -> dict:
    """Run the request's statements, then its cases: the whole life of one graded exercise."""
    here = os.path.realpath(os.path.dirname(__file__))
    sys.path[:] = [p for p in sys.path if p and os.path.realpath(p) != here]
    sys.meta_path.insert(0, Refuse())
    for name in [m for m in sys.modules if m == "lmlib" or m.startswith("lmlib.")]:
        del sys.modules[name]
    torch.set_num_threads(1)
    sys.stdout = sys.stderr = captured = _Capped()
    tampered = forbid(req["forbidden"], req.get("forbidden_ops")).tampered  # bound now
    ns: dict = {"__name__": "__main__", "__builtins__": builtins}
    errors = []
    for st in req["statements"]:
        try:
            text = "\n" * (st["line"] - 1) + st["source"]
            code = compile(text, f"<cell {st['cell']}>", "exec", flags=LAZY, dont_inherit=True)
            exec(code, ns)
        except BaseException as e:
            if st["own"]:
                errors.append(describe_error(e))
    target = ns.get(req["exercise"])
    result = {"defined": target is not None, "errors": errors[:5], "cases": []}
    if target is not None:
        result["cases"] = run_cases(target, req["cases"], req["module"], tampered)
    result["output"] = "".join(captured.kept)
    return result


def warm(modules: list[str]) -> None:
    """Import the modules the exercise's spec names (trusted), before the clock starts."""
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:  # the answer meets the same failure, and reports it, when it runs
            pass


def run_job(job: str) -> None:
    """Execute the request in `job` and write `result.pt` (the unisolated paths)."""
    req = torch.load(os.path.join(job, "request.pt"), weights_only=True)
    warm(req.get("warm", []))
    open(os.path.join(job, "started"), "w").close()  # noqa: SIM115  (the timeout starts now)
    result = execute(req)
    tmp = os.path.join(job, "result.tmp")
    torch_save(result, tmp)
    os.replace(tmp, os.path.join(job, "result.pt"))


def set_limits(memory_mb: int, cpu_s: int, fsize_mb: int) -> None:
    """rlimits for one job: address space, CPU seconds, file size; no core dumps."""
    mem, fsize = memory_mb << 20, fsize_mb << 20
    resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 1))
    resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _child(job: dict) -> None:
    """In a freshly forked child of the server: isolate, limit, run. Never returns."""
    code = 70
    try:
        os.setsid()
        _die_with_parent()
        out = os.open(os.path.join(job["dir"], "output.txt"), os.O_WRONLY | os.O_CREAT, 0o600)
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        os.dup2(out, 1)
        os.dup2(out, 2)
        os.closerange(3, 65536)
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        set_limits(job["memory_mb"], job["cpu_s"], job["fsize_mb"])
        os.chdir(os.path.join(job["dir"], "work"))
        run_job(job["dir"])
        code = 0
    except BaseException:
        traceback.print_exc()
    finally:
        os._exit(code)


def _die_with_parent() -> None:
    """Linux: SIGKILL this child if the server dies (a submission may kill it)."""
    try:
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _reply(msg: dict) -> None:
    os.write(1, (json.dumps(msg) + "\n").encode())  # one short write: lines never interleave


def _monitor(job: dict) -> None:
    """Between the server and one job: fork it, kill its group at the deadline, report. A job
    that kills its parent kills only this monitor, never the server."""
    code = 0
    try:
        _die_with_parent()
        child = os.fork()
        if child == 0:
            _child(job)
        deadline, timed_out = time.monotonic() + job["timeout"], False
        while True:
            pid, status, usage = os.wait4(child, os.WNOHANG)
            if pid:
                break
            if not timed_out and time.monotonic() > deadline:
                timed_out = True
                _killpg(child)
            time.sleep(0.005)
        _killpg(child)  # whatever it started goes too
        cpu = usage.ru_utime + usage.ru_stime
        code = os.waitstatus_to_exitcode(status)
        _reply({"id": job["id"], "code": code, "timeout": timed_out, "cpu": cpu})
        code = 0
    except BaseException:
        code = 70
    finally:
        os._exit(code)


def serve() -> None:
    import einops  # noqa: F401  (warm imports shared by every forked child)
    import numpy  # noqa: F401
    import torch.nn.functional  # noqa: F401

    _reply({"ready": True, "pid": os.getpid()})
    monitors: dict[int, dict] = {}  # pid -> job
    pending, open_input = b"", True
    while open_input or monitors:
        ready, _, _ = select.select([0] if open_input else [], [], [], 0.01 if monitors else None)
        if ready:
            chunk = os.read(0, 65536)
            open_input, pending = bool(chunk), pending + chunk
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                job = json.loads(line)
                warm(job.get("warm", []))  # once for the server's life, before the job's clock
                pid = os.fork()
                if pid == 0:
                    _monitor(job)
                monitors[pid] = job
        if not open_input:  # the parent is done or gone: nothing may outlive it
            for pid in monitors:
                _killpg(pid)
        while monitors:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                break
            job = monitors.pop(pid, None)
            if job is not None and os.waitstatus_to_exitcode(status) != 0:
                _reply({"id": job["id"], "code": None, "timeout": False, "lost": True})


def _killpg(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def main(argv: list[str]) -> int:
    if argv[:1] == ["serve"]:
        serve()
        os._exit(0)  # no interpreter teardown: torch's takes seconds
    if len(argv) == 2 and argv[0] == "pool":
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from pool_worker import pool  # beside this file, in /grader under bubblewrap

        pool(int(argv[1]), execute)
        os._exit(0)
    if len(argv) == 2 and argv[0] == "run":
        run_job(argv[1])
        os._exit(0)  # skip atexit hooks a submission may have registered
    print("usage: python -I worker.py serve | run JOB_DIR | pool REPORT_FD", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
