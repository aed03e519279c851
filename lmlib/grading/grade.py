"""``lmlib grade NOTEBOOK``: grade a lab notebook without running it, one sandboxed process per
exercise, and report points (terminal, grade.json, GitHub summary, GitHub Classroom).

Exit status: 0 at or above the pass mark, 1 below it, 2 when the notebook cannot be graded.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import torch

from lmlib.grading import notebook, report
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
        "--spawn",
        action="store_true",
        help="a fresh interpreter per exercise instead of the fork server",
    )
    parser.add_argument("--only", action="append", metavar="EXERCISE", help="grade only these")
    parser.add_argument("--seed", type=int, help="fix the random inputs (to reproduce a grade)")


def _checked(args: argparse.Namespace) -> tuple[dict, Limits]:
    """The notebook and the limits, or ValueError saying which option to fix."""
    if not 0 <= args.pass_mark <= 1:
        raise ValueError(f"--pass-mark must be between 0 and 1, got {args.pass_mark}")
    if not 1 <= args.jobs <= 64:
        raise ValueError(f"--jobs must be between 1 and 64, got {args.jobs}")
    try:
        limits = Limits(timeout=args.timeout, memory_mb=args.memory_mb)
    except ValueError as e:  # "timeout=0 is out of range: use 0.5 to 3600"
        raise ValueError("--" + str(e).replace("_", "-").replace("=", " ", 1)) from e
    nb = notebook.read(args.notebook)
    exercises = get_lab(notebook.lab_id(nb, args.notebook))
    unknown = sorted(set(args.only or ()) - set(exercises))
    if unknown:
        raise ValueError(
            f"--only {', '.join(unknown)}: no such exercise; this lab has {', '.join(exercises)}"
        )
    return nb, limits


def run(args: argparse.Namespace) -> int:
    try:
        nb, limits = _checked(args)
    except ValueError as e:  # NotebookError is a ValueError, as is an unknown lab
        print(f"error: {e}", file=sys.stderr)
        return 2
    from lmlib.grading.judge import (
        grade_notebook,  # imports lmlib's references, so only once needed
    )

    torch.set_num_threads(1)  # the references run on tiny inputs; the workers need the cores
    isolate = {"auto": None, "require": True, "none": False}[args.isolation]
    try:
        with Sandbox(limits, jobs=args.jobs, fork=not args.spawn, isolate=isolate) as sandbox:
            result = grade_notebook(nb, str(args.notebook), sandbox, args.only, args.seed)
    except Exception as e:  # the grader's own failure, never the submission's
        print(f"error: grading failed: {type(e).__name__}: {e}", file=sys.stderr)
        return 2
    # every job's processes are gone by now (Sandbox.run returns only then)
    print(report.table(result))
    if not result.isolation.get("tamper_proof"):
        print(f"warning: {result.isolation.get('note')}", file=sys.stderr)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        tmp = args.json.with_name(args.json.name + ".tmp")
        tmp.write_text(json.dumps(result.as_dict(), indent=2) + "\n")
        os.replace(tmp, args.json)
    encoded = report.classroom_b64(result, args.pass_mark)
    if args.classroom:
        args.classroom.parent.mkdir(parents=True, exist_ok=True)
        args.classroom.write_text(encoded + "\n")
    _append(os.environ.get("GITHUB_OUTPUT"), f"result={encoded}\n")
    _append(os.environ.get("GITHUB_STEP_SUMMARY"), report.markdown(result))
    return exit_status(result.points, result.max_points, args.pass_mark)


def exit_status(points: float, max_points: float, pass_mark: float) -> int:
    """0 at or above the pass mark (a fraction of the points), 1 below it."""
    return 0 if passes(points, max_points, pass_mark) else 1


def _append(path: str | None, text: str) -> None:
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(text)
