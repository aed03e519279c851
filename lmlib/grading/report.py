"""Writing a grading Report for people and machines: a terminal table, grade.json, a Markdown
summary for GitHub Actions, and GitHub Classroom's autograding result.

Every string that can come from a submission (messages, the notebook's path, warnings) is
escaped where it is shown: control characters for the terminal (``printable``), Markdown and
HTML for the summary (``markdown_text``), so a notebook cannot redraw the terminal, fake a row,
or put a link or an image into an instructor's summary.
"""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING

from lmlib.grading.escape import markdown_text, one_line, printable  # noqa: F401

if TYPE_CHECKING:
    from lmlib.grading.judge import Report

_MARK = {"passed": "PASS", "not_implemented": "TODO", "missing": "MISSING", "timeout": "TIMEOUT"}


def _mark(status: str) -> str:
    return _MARK.get(status, "FAIL")


def isolation_line(isolation: dict) -> str:
    """How the exercises were run, for the table: tamper-proof or not, and why not."""
    if isolation.get("tamper_proof"):
        tool, limit = isolation.get("tool"), isolation.get("process_limit")
        return f"isolation: tamper-proof ({tool}, {limit})"
    why = isolation.get("reason") or isolation.get("note")
    return f"isolation: NONE, not tamper-proof: {why}"


def table(report: Report) -> str:
    """Plain-text table for the terminal."""
    rows = [
        (v.name, _mark(v.status), f"{v.points:g}/{v.max_points:g}", printable(v.message))
        for v in report.verdicts
    ]
    w = max([len(r[0]) for r in rows] + [8])
    lines = [f"{printable(report.lab)}  ({printable(report.notebook)})"]
    lines += [f"warning: {printable(text)}" for text in report.warnings]
    lines.append(f"{'exercise':<{w}}  result   points  why")
    lines += [f"{n:<{w}}  {m:<7}  {p:>6}  {one_line(msg, 100)}" for n, m, p, msg in rows]
    lines.append(f"{'total':<{w}}  {'':<7}  {report.points:g}/{report.max_points:g}")
    lines.append(printable(isolation_line(report.isolation)))
    return "\n".join(lines)


def markdown(report: Report) -> str:
    """A Markdown section for ``$GITHUB_STEP_SUMMARY``; submission text is escaped."""
    lines = [
        f"### {markdown_text(report.lab)}: {report.points:g} / {report.max_points:g} points",
        "",
        *[f"> warning: {markdown_text(w, 500)}\n" for w in report.warnings],
        "| exercise | result | points | details |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {v.name} | {_mark(v.status)} | {v.points:g}/{v.max_points:g} | "  # a spec's name
        f"{markdown_text(v.message)} |"
        for v in report.verdicts
    ]
    lines += ["", markdown_text(isolation_line(report.isolation), 500)]
    return "\n".join(lines) + "\n"


def failure_markdown(path: str, error: str) -> str:
    """The summary of a notebook that could not be graded."""
    return f"### {markdown_text(path)}: not graded\n\n{markdown_text(error, 1000)}\n"


def classroom(report: Report, pass_mark: float) -> dict:
    """The result format of GitHub Classroom's autograding runners (``version``, ``status``,
    ``max_score``, ``tests``), read by ``classroom-resources/autograding-grading-reporter``."""
    passed = report.passes(pass_mark)
    tests = [
        {
            "name": f"{report.lab}: {v.name}",
            "status": "pass" if v.status == "passed" else "fail",
            "score": v.points,
            "message": one_line(v.message, 500),
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
