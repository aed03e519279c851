"""Real isolation for one graded job: bubblewrap (``bwrap``) namespaces and cgroups.

Each notebook's exercises run in a job ``bwrap ... python -I /grader/worker.py pool``, one
interpreter that runs them one after another in forked children, in its own user, PID,
mount, network, IPC, UTS and cgroup namespaces. Its filesystem is the system's libraries, the
interpreter and site-packages, all read-only; ``/grader`` (the worker's scripts, read-only; each
request reaches the pool on its stdin when its turn comes); and three empty tmpfs of 64 MB each,
``/job`` (the cwd), ``/tmp`` and ``/dev/shm``, the only places it can write (the root and
``/dev`` are read-only). lmlib's source is not mounted,
and a copy of lmlib inside site-packages is covered by an empty directory, so the reference
answers cannot be read, imported or exec'd. The job's processes live in their own PID namespace:
when its first process ends, the kernel kills every process the job started (a ``setsid``
daemon included), and it cannot see, signal or stop the grader. Where ``/sys/fs/cgroup`` is
writable, a pids cgroup per job caps how many processes it may have at once, and a memory
cgroup the memory they use together, its tmpfs files included. Before the
submission runs, the child that runs it forbids itself to start any process or program, or to
trace one (a seccomp filter, ``seccomp.no_new_processes``), so the refusals of forbidden
shortcuts cannot be left behind in a fresh interpreter or a forked child, and the pool that
started it is out of its reach; between exercises the pool empties the scratch directories.

``probe()`` says once per process whether this works here; without it the grader still grades,
and records that the grade is not tamper-proof.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from lmlib.grading.cgroup import MemoryCgroup, PidsCgroup

HERE = Path(__file__).resolve().parent
# all of lmlib a job gets
GRADER_FILES = ("worker.py", "pool_worker.py", "answers.py", "forbidden.py", "seccomp.py")
SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc/ld.so.cache")
SYSTEM += ("/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/alternatives", "/etc/localtime")
TMPFS_BYTES = 64 << 20  # each of /job, /tmp and /dev/shm; the rest of the tree is read-only


@dataclass(frozen=True)
class Isolation:
    """What protects a grade: ``tamper_proof`` only when every job runs under bwrap."""

    tamper_proof: bool
    tool: str  # "bwrap 0.8.0", or "" when none is used
    process_limit: str  # "pids and memory cgroups", or which there are not
    note: str  # one line for people
    reason: str = ""  # why there is no isolation ("" when there is)

    def as_dict(self) -> dict:
        return {
            "tamper_proof": self.tamper_proof,
            "tool": self.tool,
            "process_limit": self.process_limit,
            "note": self.note,
            "reason": self.reason,
        }


def unavailable(reason: str) -> Isolation:
    """The isolation of a grader that runs exercises in plain processes, and why it does."""
    note = (
        "NOT tamper-proof: exercises ran in plain processes (rlimits and a timeout only), so a "
        f"submission could change this grade or later ones ({reason})"
    )
    return Isolation(False, "", "none", note, reason)


NONE = unavailable("isolation was turned off")
NO_BWRAP = "bubblewrap is not installed: apt-get install bubblewrap (or dnf, apk, brew: bubblewrap)"
USERNS_SYSCTL = Path("/proc/sys/kernel/apparmor_restrict_unprivileged_userns")


def why_bwrap_fails(stderr: str) -> str:
    """The reason bwrap could not start a job, with the platform's usual cause where known."""
    last = (stderr.strip().splitlines() or ["no message"])[-1]
    hint = ""
    try:
        restricted = USERNS_SYSCTL.read_text().strip() == "1"
    except OSError:
        restricted = False
    if restricted:
        hint = (
            "; AppArmor restricts unprivileged user namespaces here "
            "(kernel.apparmor_restrict_unprivileged_userns=1, Ubuntu 24.04 and later): "
            "see 'Isolation' on the instructors' page"
        )
    elif Path("/.dockerenv").exists():
        hint = (
            "; inside Docker, whose default seccomp profile refuses the namespaces bwrap needs: "
            "see 'Isolation' on the instructors' page"
        )
    return f"bwrap fails here: {last}{hint}"


def lmlib_dirs() -> list[str]:
    """Every directory holding an importable lmlib: this one, and any copy in site-packages."""
    here = Path(__file__).resolve().parents[1]  # .../lmlib
    found = {str(here)}
    for entry in sys.path:
        candidate = Path(entry or ".") / "lmlib"
        if candidate.is_dir():
            found.add(str(candidate.resolve()))
    return sorted(found)


def _python_roots() -> list[str]:
    """The interpreter's prefixes and its site-packages (never a directory holding lmlib)."""
    import site

    roots = {os.path.realpath(p) for p in (sys.base_prefix, sys.prefix, sys.exec_prefix)}
    for p in site.getsitepackages():
        if os.path.isdir(p) and not any(p.startswith(r + os.sep) for r in roots):
            roots.add(os.path.realpath(p))
    for p in sys.path:  # a site-packages a .pth file adds (another venv's, shared by this one)
        if os.path.basename(p) in ("site-packages", "dist-packages") and os.path.isdir(p):
            if not any(os.path.realpath(p).startswith(r + os.sep) for r in roots):
                roots.add(os.path.realpath(p))
    exe = os.path.realpath(sys.executable)
    if not any(exe.startswith(r + os.sep) for r in roots):
        roots.add(os.path.dirname(exe))
    return sorted(roots)


def mounts(grader_dir: str) -> list[str]:
    """bwrap arguments for the job's filesystem: read-only system and Python, no lmlib, and
    every writable place a tmpfs of a fixed size.

    bwrap applies them in order, so the scratch tmpfs come first and the interpreter is bound
    over them: a Python that lives under ``/tmp`` (a virtualenv in a ``mktemp -d`` clone) is
    still there inside. The root and ``/dev`` are made read-only last, so nothing but ``/tmp``,
    ``/job`` and ``/dev/shm`` can be written, each within ``TMPFS_BYTES``."""
    args: list[str] = []
    for place in ("/tmp", "/job"):
        args += ["--size", str(TMPFS_BYTES), "--tmpfs", place]
    for p in SYSTEM:
        if os.path.islink(p):
            args += ["--symlink", os.readlink(p), p]
        elif os.path.exists(p):
            args += ["--ro-bind", p, p]
    roots = _python_roots()
    for root in roots:
        args += ["--ro-bind", root, root]
    for hidden in lmlib_dirs():  # under a mounted root: cover it with an empty read-only dir
        if any(hidden.startswith(r + os.sep) for r in roots + list(SYSTEM)):
            args += ["--tmpfs", hidden, "--remount-ro", hidden]
    args += ["--ro-bind", grader_dir, "/grader", "--proc", "/proc", "--dev", "/dev"]
    args += ["--size", str(TMPFS_BYTES), "--tmpfs", "/dev/shm"]
    return args + ["--remount-ro", "/dev", "--remount-ro", "/"]


def command(bwrap: str, grader_dir: str, info_fd: int, argv: list[str]) -> list[str]:
    """The full bwrap command line for one job running ``argv`` in ``/job``."""
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": "/job",
        "TMPDIR": "/tmp",
        "OMP_NUM_THREADS": "1",
        "MPLBACKEND": "Agg",
        "LANG": "C.UTF-8",
    }
    setenv = [a for k, v in env.items() for a in ("--setenv", k, v)]
    return [
        bwrap,
        "--unshare-all",  # user, pid, mount, network, ipc, uts, cgroup
        "--as-pid-1",  # the pool is the namespace's init: its children cannot signal it
        "--die-with-parent",
        "--new-session",
        "--cap-drop",
        "ALL",
        "--uid",
        "65534",
        "--gid",
        "65534",
        "--hostname",
        "grader",
        "--clearenv",
        *setenv,
        *mounts(grader_dir),
        "--chdir",
        "/job",
        "--info-fd",
        str(info_fd),
        *argv,
    ]


@functools.cache
def probe() -> Isolation:
    """Whether jobs can run under bwrap here (tried once, with the real mounts)."""
    if os.environ.get("LMLIB_GRADE_ISOLATION", "").lower() == "none":
        return unavailable("LMLIB_GRADE_ISOLATION=none turned it off")
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return unavailable(NO_BWRAP)
    try:
        version = subprocess.run(
            [bwrap, "--version"], capture_output=True, text=True, timeout=10
        ).stdout.strip()
        with tempfile.TemporaryDirectory(prefix="lmlib-probe-") as grader:
            r, w = os.pipe()
            argv = [sys.executable, "-I", "-S", "-c", "import os; os.listdir('/job')"]
            try:
                done = subprocess.run(
                    command(bwrap, grader, w, argv),
                    pass_fds=(w,),
                    capture_output=True,
                    timeout=30,
                )
            finally:
                os.close(w)
                os.close(r)
        if done.returncode != 0:
            return unavailable(why_bwrap_fails(done.stderr.decode(errors="replace")))
    except (OSError, subprocess.SubprocessError) as e:
        return unavailable(f"bwrap fails here: {e}")
    found = [
        kind
        for kind, cls, limit in (("pids", PidsCgroup, 8), ("memory", MemoryCgroup, 1 << 30))
        if (group := cls.create(limit)) is not None and group.close()
    ]
    limit = " and ".join(found) + " cgroup" + "s" * (len(found) > 1) if found else "none"
    if len(found) < 2:
        limit += " (no writable cgroup for " + " or ".join({"pids", "memory"} - set(found)) + ")"
    note = "tamper-proof: every exercise ran under " + version + " in its own namespaces"
    return Isolation(True, version, limit, note)
