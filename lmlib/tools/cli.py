"""The `lmlib` command (also `python -m lmlib`): one entry point, one module per subcommand.

Each subcommand module defines ``configure(parser)`` and ``run(args) -> int`` and is imported
only when its subcommand is used, so `lmlib --help` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

SUBCOMMANDS = {
    "grade": ("lmlib.grading.grade", "grade a lab notebook in sandboxed subprocesses"),
    "student": ("lmlib.grading.student", "generate student notebooks from solution notebooks"),
    "run": ("lmlib.experiments.runner", "run an experiment and write its results"),
    "bench": ("lmlib.tools.bench", "measure training throughput against other libraries"),
    "budget": (
        "lmlib.tools.budget",
        "time every lab per profile; estimate the gpu profile on a T4",
    ),
    "doctor": (
        "lmlib.tools.doctor",
        "check this machine: device, dtypes, compile, a numeric self-test",
    ),
    "gpu-check": (
        "lmlib.tools.gpu_check",
        "on a CUDA GPU: CUDA tests, bench, a grade, every lab at gpu, results to files",
    ),
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="lmlib", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    available = {}
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as e:
            if e.name and module_name.startswith(e.name):
                continue  # subcommand not part of this version of lmlib
            raise
        module.configure(sub.add_parser(name, help=help_text, description=help_text))
        available[name] = module
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    return int(available[args.command].run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
