"""The grading worker: runs one exercise of a student notebook, returns plain data, decides nothing.

Run as a standalone script with ``python -I worker.py`` so lmlib is never imported next to student
code (the reference answers live there). Two modes:

- ``run JOB_DIR``: run the job in JOB_DIR once (the parent set the limits in ``preexec_fn``);
- ``serve``: a fork server. It imports torch once, then reads ``{"id", "dir", ...}`` lines on stdin
  and forks a monitor per job, which forks the job (own session, rlimits, empty cwd), kills its
  process group at the deadline and answers ``{"id", "code", "timeout", "cpu"}``. Neither the
  server nor a monitor ever runs student code.

A job dir holds ``request.pt`` (torch.save of plain data: the code, the inputs, the forbidden
names), ``work/`` (the empty cwd), and receives ``result.pt`` and ``output.txt``. The parent
loads the result with ``weights_only=True`` and checks every value, so what a submission does in
here (patch torch, rig ``__eq__``, write a fake result) changes nothing but its own answer.
"""

from __future__ import annotations

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

UNSUPPORTED = "__unsupported__"  # the stand-in for an answer that is not plain data
MAX_LIST = 10_000
MAX_TEXT = 2_000
# taken before any submission runs, which may patch torch
_Tensor, _save = torch.Tensor, torch.save
_detach, _clone, _cpu = torch.Tensor.detach, torch.Tensor.clone, torch.Tensor.cpu
_grad, _enable_grad = torch.autograd.grad, torch.enable_grad


class NotAllowed(RuntimeError):
    """Raised by a forbidden library function while an exercise runs."""


class _Refuse:
    """Meta-path finder: lmlib holds the reference solutions, so it cannot be imported here."""

    def find_spec(self, name, path=None, target=None):
        if name == "lmlib" or name.startswith("lmlib."):
            raise ImportError(
                "lmlib is not available while grading: the exercise is yours to write"
            )
        return None


def forbid(forbidden: dict[str, str]):
    """Replace each dotted name with a function that raises; returns an undo function."""
    saved = []
    for dotted, hint in forbidden.items():
        parts = dotted.split(".")
        try:
            owner = importlib.import_module(parts[0])
            for p in parts[1:-1]:
                owner = getattr(owner, p)
            saved.append((owner, parts[-1], getattr(owner, parts[-1])))
        except (ImportError, AttributeError):
            continue

        def refuse(*args, _name=dotted, _hint=hint, **kwargs):
            raise NotAllowed(f"{_name} is not allowed in this exercise: {_hint}")

        setattr(owner, parts[-1], refuse)

    def undo():
        for owner, attr, original in reversed(saved):
            setattr(owner, attr, original)

    return undo


def type_name(x) -> str:
    try:
        cls = type(x)
        name = f"{cls.__module__}.{cls.__qualname__}".removeprefix("builtins.")
        return f"{name} (a torch.Tensor subclass)" if isinstance(x, _Tensor) else name
    except BaseException:
        return "an unnamed type"


def plain(x, depth: int = 0):
    """The answer as plain data; anything else becomes ``{UNSUPPORTED: type name}``."""
    t = type(x)
    if t is _Tensor:
        if x.layout != torch.strided:
            return {UNSUPPORTED: f"a {x.layout} tensor"}
        return _clone(_cpu(_detach(x)))
    if t in (int, float, bool, type(None)):
        return x
    if t is str:
        return x[:MAX_TEXT]
    if t in (list, tuple) and depth < 4 and len(x) <= MAX_LIST:
        return t(plain(i, depth + 1) for i in x)
    if isinstance(x, dict) and depth < 4 and all(type(k) is str for k in x):
        return {k: plain(v, depth + 1) for k, v in x.items()}
    return {UNSUPPORTED: type_name(x)}


def describe_error(e: BaseException) -> str:
    try:
        text = f"{type(e).__name__}: {e}"
    except BaseException:
        text = type_name(e)
    frames = [f for f in traceback.extract_tb(e.__traceback__) if f.filename.startswith("<cell ")]
    if frames:
        text += f" ({frames[-1].filename[6:-1]} cell, line {frames[-1].lineno})"
    return text[:MAX_TEXT]


def call_with_grads(target, args: list, wrt: list[int]) -> tuple:
    """``target(*args)``, and for each position in ``wrt`` the gradient of the answer's sum with
    respect to the float tensor there (None where none reaches it); judge uses it too."""
    args = list(args)
    leaves = [i for i in wrt if type(args[i]) is _Tensor and args[i].is_floating_point()]
    for i in leaves:
        args[i] = _clone(_detach(args[i])).requires_grad_(True)
    with _enable_grad():
        value = target(*args)
        ok = leaves and type(value) is _Tensor and value.requires_grad
        found = _grad(value.sum(), [args[i] for i in leaves], allow_unused=True) if ok else ()
    grads = dict(zip(leaves, found))
    return value, ([grads.get(i) for i in wrt] if wrt else None)


def run_cases(target, cases: list[dict], module: bool) -> list[dict]:
    """Call the answer on every case; never raises. Shared with the in-notebook check."""
    out = []
    for case in cases:
        try:
            if module:
                m = target(*case["init"])
                m.load_state_dict(case["state"], strict=False)  # the grader's random parameters
                m.eval()
                value = m(*case["args"])
                out.append({"state": plain(dict(m.state_dict())), "value": plain(value)})
            else:
                value, grads = call_with_grads(target, case["args"], case.get("grads", []))
                out.append({"value": plain(value), "grads": grads and [plain(g) for g in grads]})
        except BaseException as e:  # SystemExit and KeyboardInterrupt are answers too
            nie = isinstance(e, NotImplementedError)
            out.append({"error": describe_error(e), "not_implemented": nie})
    return out


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


def run_job(job: str) -> None:
    """Execute the request in `job` and write `result.pt`: the whole life of one graded exercise."""
    open(os.path.join(job, "started"), "w").close()  # noqa: SIM115  (the timeout starts now)
    req = torch.load(os.path.join(job, "request.pt"), weights_only=True)
    here = os.path.realpath(os.path.dirname(__file__))
    sys.path[:] = [p for p in sys.path if p and os.path.realpath(p) != here]
    sys.meta_path.insert(0, _Refuse())
    for name in [m for m in sys.modules if m == "lmlib" or m.startswith("lmlib.")]:
        del sys.modules[name]
    torch.set_num_threads(1)
    sys.stdout = sys.stderr = captured = _Capped()
    forbid(req["forbidden"])
    ns: dict = {"__name__": "__main__", "__builtins__": builtins}
    errors = []
    for st in req["statements"]:
        try:
            code = compile("\n" * (st["line"] - 1) + st["source"], f"<cell {st['cell']}>", "exec")
            exec(code, ns)
        except BaseException as e:
            if st["own"]:
                errors.append(describe_error(e))
    target = ns.get(req["exercise"])
    result = {"defined": target is not None, "errors": errors[:5], "cases": []}
    if target is not None:
        result["cases"] = run_cases(target, req["cases"], req["module"])
    result["output"] = "".join(captured.kept)
    tmp = os.path.join(job, "result.tmp")
    _save(result, tmp)
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
    if len(argv) == 2 and argv[0] == "run":
        run_job(argv[1])
        os._exit(0)  # skip atexit hooks a submission may have registered
    print("usage: python -I worker.py serve | run JOB_DIR", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
