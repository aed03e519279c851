"""A seccomp filter for a graded job: from the moment it is installed, the process may start
threads but no process or program, nor read or write another process's memory.

Like ``worker.py`` it imports nothing from lmlib: it is copied alone into a bubblewrap job.
"""

from __future__ import annotations

# the syscalls that start a process or a program, or reach into another process, per architecture
_AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
_SYSCALLS = {
    "x86_64": {"fork": 57, "vfork": 58, "execve": 59, "execveat": 322, "clone": 56}
    | {"ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311},
    "aarch64": {"execve": 221, "execveat": 281, "clone": 220}
    | {"ptrace": 117, "process_vm_readv": 270, "process_vm_writev": 271},
}
_CLONE3, _CLONE_THREAD, _EPERM, _ENOSYS = 435, 0x00010000, 1, 38
_SECCOMP_SYSCALL = {"x86_64": 317, "aarch64": 277}


def no_new_processes() -> bool:
    """From now on this process (every thread) may start threads, but no process or program:
    fork, vfork, clone of a process and exec fail with EPERM (clone3 with ENOSYS, so the C
    library falls back to clone for threads), as do ptrace and process_vm_readv/writev. A graded
    job then cannot hand its work to a fresh interpreter, to a child that undoes the refusals of
    ``answers.py``, or to the pool process that started it. A seccomp filter, so Linux on x86_64
    or aarch64 only; False where it cannot be installed."""
    import ctypes
    import platform
    import struct

    machine = platform.machine()
    if machine not in _SYSCALLS:
        return False
    calls = _SYSCALLS[machine]
    allow, deny, nosys = 0x7FFF0000, 0x00050000 | _EPERM, 0x00050000 | _ENOSYS
    # (code, jump if true, jump if false, k); jumps are labels resolved below
    load, jeq, jge, jset, ret = 0x20, 0x15, 0x35, 0x45, 0x06
    prog = [(load, 0, 0, 4), (jeq, 0, "deny", _AUDIT_ARCH[machine]), (load, 0, 0, 0)]
    if machine == "x86_64":
        prog.append((jge, "deny", 0, 0x40000000))  # the x32 ABI's numbers
    prog += [(jeq, "deny", 0, nr) for name, nr in calls.items() if name != "clone"]
    prog += [(jeq, "nosys", 0, _CLONE3), (jeq, 0, "allow", calls["clone"])]
    prog += [(load, 0, 0, 16), (jset, "allow", "deny", _CLONE_THREAD)]  # clone's flags
    labels = {"allow": len(prog), "deny": len(prog) + 1, "nosys": len(prog) + 2}
    prog += [(ret, 0, 0, allow), (ret, 0, 0, deny), (ret, 0, 0, nosys)]

    def jump(target, i: int) -> int:
        return target if isinstance(target, int) else labels[target] - i - 1

    code = b"".join(
        struct.pack("=HBBI", op, jump(jt, i), jump(jf, i), k)
        for i, (op, jt, jf, k) in enumerate(prog)
    )
    buf = ctypes.create_string_buffer(code, len(code))

    class Program(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    program = Program(len(prog), ctypes.addressof(buf))
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS
        return False
    # seccomp(SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &program): every thread
    done = libc.syscall(_SECCOMP_SYSCALL[machine], 1, 1, ctypes.byref(program))
    return done == 0
