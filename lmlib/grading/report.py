"""Writing a grading Report for people and machines: a terminal table, grade.json, a Markdown
summary for GitHub Actions, and GitHub Classroom's autograding result.
"""

from __future__ import annotations

import base64
import json

from lmlib.grading.judge import Report

_MARK = {"passed": "PASS", "not_implemented": "TODO", "missing": "MISSING", "timeout": "TIMEOUT"}


def _mark(status: str) -> str:
    return _MARK.get(status, "FAIL")


def _one_line(text: str, width: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 3] + "..."


def table(report: Report) -> str:
    """Plain-text table for the terminal."""
    rows = [
        (v.name, _mark(v.status), f"{v.points:g}/{v.max_points:g}", v.message)
        for v in report.verdicts
    ]
    w = max([len(r[0]) for r in rows] + [8])
    lines = [f"{report.lab}  ({report.notebook})", f"{'exercise':<{w}}  result   points  why"]
    lines += [f"{n:<{w}}  {m:<7}  {p:>6}  {_one_line(msg, 100)}" for n, m, p, msg in rows]
    lines.append(f"{'total':<{w}}  {'':<7}  {report.points:g}/{report.max_points:g}")
    return "\n".join(lines)


def markdown(report: Report) -> str:
    """A Markdown section for ``$GITHUB_STEP_SUMMARY``; submission text is escaped."""

    def cell(text: str) -> str:
        return _one_line(text, 200).replace("|", "\\|").replace("<", "&lt;").replace("`", "'")

    lines = [
        f"### {cell(report.lab)}: {report.points:g} / {report.max_points:g} points",
        "",
        "| exercise | result | points | details |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {cell(v.name)} | {_mark(v.status)} | {v.points:g}/{v.max_points:g} | "
        f"{cell(v.message)} |"
        for v in report.verdicts
    ]
    return "\n".join(lines) + "\n"


def classroom(report: Report, pass_mark: float) -> dict:
    """The result format of GitHub Classroom's autograding runners (``version``, ``status``,
    ``max_score``, ``tests``), read by ``classroom-resources/autograding-grading-reporter``."""
    passed = report.passes(pass_mark)
    tests = [
        {
            "name": f"{report.lab}: {v.name}",
            "status": "pass" if v.status == "passed" else "fail",
            "score": v.points,
            "message": _one_line(v.message, 500),
            "test_code": v.name,
            "filename": report.notebook,
            "line_no": 0,
            "execution_time": f"{v.seconds:.2f}s",
        }
        for v in report.verdicts
    ]
    return {
        "version": 1,
        "status": "pass" if passed else "fail",
        "max_score": report.max_points,
        "tests": tests,
    }


def classroom_b64(report: Report, pass_mark: float) -> str:
    return base64.b64encode(json.dumps(classroom(report, pass_mark)).encode()).decode()
