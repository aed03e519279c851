"""``lmlib grade NOTEBOOK``: grade a lab notebook without running it, each exercise in a sandboxed
process, and report points (terminal, grade.json, GitHub summary, GitHub Classroom).

Exit status: 0 at or above the pass mark, 1 below it, 2 when the notebook cannot be graded (or,
with ``--require-isolation``, cannot be graded in isolation); grade.json then says why.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import torch

from lmlib.grading import isolation, notebook, report
from lmlib.grading.labs import get_lab
from lmlib.grading.sandbox import Limits, Sandbox
from lmlib.grading.spec import passes


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("notebook", type=Path, help="the lab notebook (.ipynb) to grade")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write grade.json here")
    parser.add_argument(
        "--classroom",
        type=Path,
        metavar="PATH",
        help="write the GitHub Classroom result (base64 JSON) here; with "
        "$GITHUB_OUTPUT set it is also the step output `result`",
    )
    parser.add_argument(
        "--pass-mark",
        type=float,
        default=0.5,
        help="fraction of the points needed to pass (default 0.5)",
    )
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per exercise")
    parser.add_argument("--memory-mb", type=int, default=3072, help="address space per exercise")
    parser.add_argument("--jobs", type=int, default=2, help="exercises graded at once")
    parser.add_argument(
        "--isolation",
        choices=("auto", "require", "none"),
        default="auto",
        help="bubblewrap namespaces per exercise: where available (auto, the default), always "
        "(require: fail where bwrap does not work), or never (none: not tamper-proof)",
    )
    parser.add_argument(
        "--require-isolation",
        action="store_true",
        help="the same as --isolation require: where bubblewrap does not work, grade nothing and "
        "exit 2, with the reason in grade.json",
    )
    parser.add_argument(
        "--budget",
        type=float,
        metavar="SECONDS",
        help="seconds all the exercises of the notebook may run in total (default: 30, or 3 "
        "timeouts if that is more)",
    )
    parser.add_argument(
        "--spawn",
        action="store_true",
        help="a fresh interpreter per exercise instead of the fork server",
    )
    parser.add_argument("--only", action="append", metavar="EXERCISE", help="grade only these")
    parser.add_argument("--seed", type=int, help="fix the random inputs (to reproduce a grade)")


def _checked(args: argparse.Namespace) -> tuple[dict, Limits, list[str]]:
    """The notebook, the limits and any warning about the file, or ValueError saying which
    option or what in the file to fix."""
    if not 0 <= args.pass_mark <= 1:
        raise ValueError(f"--pass-mark must be between 0 and 1, got {args.pass_mark}")
    if not 1 <= args.jobs <= 64:
        raise ValueError(f"--jobs must be between 1 and 64, got {args.jobs}")
    try:
        limits = Limits(timeout=args.timeout, memory_mb=args.memory_mb, budget=args.budget)
    except ValueError as e:  # "timeout=0 is out of range: use 0.5 to 3600"
        raise ValueError("--" + str(e).replace("_", "-").replace("=", " ", 1)) from e
    warnings = []
    real = os.path.realpath(args.notebook)
    if real != os.path.abspath(args.notebook):
        warnings.append(f"{args.notebook} is a symbolic link: the file graded is {real}")
    nb = notebook.read(args.notebook)
    exercises = get_lab(notebook.lab_id(nb, args.notebook))
    unknown = sorted(set(args.only or ()) - set(exercises))
    if unknown:
        raise ValueError(
            f"--only {', '.join(unknown)}: no such exercise; this lab has {', '.join(exercises)}"
        )
    return nb, limits, warnings


def run(args: argparse.Namespace) -> int:
    if args.require_isolation:
        args.isolation = "require"
    try:
        nb, limits, warnings = _checked(args)
    except Exception as e:  # NotebookError and an unknown lab are ValueErrors; any other is too
        return _not_graded(args, str(e) if isinstance(e, ValueError) else _failure(e))
    from lmlib.grading.judge import grade_notebook  # imports lmlib's references: only now

    torch.set_num_threads(1)  # the references run on tiny inputs; the workers need the cores
    isolate = {"auto": None, "require": True, "none": False}[args.isolation]
    try:
        with Sandbox(limits, jobs=args.jobs, fork=not args.spawn, isolate=isolate) as sandbox:
            result = grade_notebook(nb, str(args.notebook), sandbox, args.only, args.seed)
    except Exception as e:  # the grader's own failure, or isolation required and unavailable
        return _not_graded(args, f"grading failed: {_failure(e)}")
    # every job's processes are gone by now (Sandbox.run returns only then)
    result.warnings += warnings
    for text in warnings:
        print(f"warning: {report.printable(text)}", file=sys.stderr)
    print(report.table(result))
    if not result.isolation.get("tamper_proof"):
        print(f"warning: {report.printable(result.isolation.get('note'))}", file=sys.stderr)
    _write_json(args.json, result.as_dict())
    encoded = report.classroom_b64(result, args.pass_mark)
    if args.classroom:
        args.classroom.parent.mkdir(parents=True, exist_ok=True)
        args.classroom.write_text(encoded + "\n")
    _append(os.environ.get("GITHUB_OUTPUT"), f"result={encoded}\n")
    _append(os.environ.get("GITHUB_STEP_SUMMARY"), report.markdown(result))
    return exit_status(result.points, result.max_points, args.pass_mark)


def _failure(e: BaseException) -> str:
    return f"{type(e).__name__}: {e}"[:2000]


def _not_graded(args: argparse.Namespace, why: str) -> int:
    """Exit status 2, with the reason on stderr, in grade.json and in the step summary."""
    print(f"error: {report.printable(why)}", file=sys.stderr)
    try:
        _write_json(
            args.json,
            {
                "notebook": str(args.notebook),
                "graded": False,
                "error": why,
                "points": 0.0,
                "max_points": None,
                "isolation": _isolation(args).as_dict(),
                "exercises": [],
            },
        )
        _append(
            os.environ.get("GITHUB_STEP_SUMMARY"),
            report.failure_markdown(str(args.notebook), why),
        )
    except OSError as e:
        print(f"error: cannot write the result: {e}", file=sys.stderr)
    return 2


def _isolation(args: argparse.Namespace) -> isolation.Isolation:
    return isolation.NONE if args.isolation == "none" else isolation.probe()


def _write_json(path: Path | None, data: dict) -> None:
    """grade.json, replaced in one step so a reader never sees half of it."""
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(data, indent=2) + "\n")
        os.replace(tmp, path)


def exit_status(points: float, max_points: float, pass_mark: float) -> int:
    """0 at or above the pass mark (a fraction of the points), 1 below it."""
    return 0 if passes(points, max_points, pass_mark) else 1


def _append(path: str | None, text: str) -> None:
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(text)
