"""Reading lab notebooks as plain JSON: exercise cells, solution blocks, the code the grader keeps.

An exercise cell starts with ``# EXERCISE: <name>``; its answer sits between ``### BEGIN SOLUTION``
and ``### END SOLUTION`` lines. Nothing here runs a notebook: cells are parsed with ``ast``.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass
from pathlib import Path

EXERCISE = re.compile(r"^\s*#\s*EXERCISE:\s*(\S+)\s*$")
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
_KEEP_ALWAYS = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_KEEP_OWN = (ast.Assign, ast.AnnAssign)


class NotebookError(ValueError):
    """The notebook cannot be read or is malformed."""


def read(path: str | Path) -> dict:
    """The notebook as a dict (nbformat 4 JSON), without nbformat."""
    try:
        nb = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise NotebookError(f"cannot read notebook {path}: {e}") from e
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise NotebookError(f"{path} is not a Jupyter notebook (no 'cells' list)")
    return nb


def write(nb: dict, path: str | Path) -> None:
    """Write like Jupyter does (indent 1, sorted keys, trailing newline) so diffs stay small."""
    Path(path).write_text(dumps(nb), encoding="utf-8")


def dumps(nb: dict) -> str:
    return json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def exercise_name(cell: dict) -> str | None:
    """The name after ``# EXERCISE:`` on the first line of a code cell, else None."""
    if cell.get("cell_type") != "code":
        return None
    first = source(cell).lstrip("\n").split("\n", 1)[0]
    match = EXERCISE.match(first)
    return match.group(1) if match else None


def lab_id(nb: dict, path: str | Path) -> str:
    """``metadata.lmlib.lab``, falling back to the file name's stem."""
    meta = nb.get("metadata", {}).get("lmlib", {})
    lab = meta.get("lab") if isinstance(meta, dict) else None
    return lab if isinstance(lab, str) and lab else Path(path).stem


@dataclass(frozen=True)
class Statement:
    source: str
    line: int  # first line in its cell, so tracebacks point at the student's own line numbers
    cell: str  # exercise name, or "" for a cell that is not an exercise
    assignment: bool
    binds: tuple[str, ...] = ()  # names an import statement defines


@dataclass(frozen=True)
class Cell:
    name: str  # "" when not an exercise cell
    code: str
    statements: tuple[Statement, ...]
    syntax_error: str | None
    uses: frozenset[str] = frozenset()  # every name the cell's code mentions


def _strip_magics(code: str) -> str:
    """IPython lines (``%pip``, ``!ls``) become blank lines, keeping line numbers."""
    return "\n".join("" if ln.lstrip().startswith(("%", "!")) else ln for ln in code.split("\n"))


def parse_cell(code: str, name: str) -> Cell:
    """Keep imports, defs and classes (and, for exercise cells, plain assignments)."""
    try:
        tree = ast.parse(_strip_magics(code))
    except (SyntaxError, ValueError, RecursionError, MemoryError) as e:
        where = f"line {e.lineno}: " if isinstance(e, SyntaxError) and e.lineno else ""
        msg = e.msg if isinstance(e, SyntaxError) else type(e).__name__
        return Cell(name, code, (), f"syntax error in the {name or 'setup'} cell, {where}{msg}")
    lines = _strip_magics(code).split("\n")
    keep = _KEEP_ALWAYS + _KEEP_OWN if name else (ast.Import, ast.ImportFrom)
    body = tree.body
    kept = []
    for i, node in enumerate(body):
        if not isinstance(node, keep):
            continue
        start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        end = node.end_lineno or node.lineno
        shares_line = (i > 0 and body[i - 1].end_lineno == start) or (
            i + 1 < len(body) and body[i + 1].lineno == end
        )
        if shares_line or node.col_offset:
            text, start = ast.unparse(node), node.lineno
        else:
            text = "\n".join(lines[start - 1 : end])
        binds = tuple(
            (a.asname or a.name.split(".")[0]) for a in getattr(node, "names", []) if a.name != "*"
        )
        kept.append(Statement(text, start, name, isinstance(node, _KEEP_OWN), binds))
    uses = frozenset(n.id for n in ast.walk(tree) if isinstance(n, ast.Name))
    return Cell(name, code, tuple(kept), None, uses)


def code_cells(nb: dict) -> list[Cell]:
    """Every code cell, parsed. Cells that are not exercises contribute only their imports."""
    return [
        parse_cell(source(c), exercise_name(c) or "")
        for c in nb["cells"]
        if c.get("cell_type") == "code"
    ]


def program_for(cells: list[Cell], exercise: str) -> list[Statement]:
    """What the worker runs for one exercise: imports, defs and classes of every exercise cell in
    order, assignments only from the exercise's own cell, and those imports of other cells
    (setup) that bind a name the exercise cells use (so ``import matplotlib`` costs nothing)."""
    used = frozenset().union(*(c.uses for c in cells if c.name))
    return [
        st
        for cell in cells
        for st in cell.statements
        if (cell.name and (not st.assignment or cell.name == exercise))
        or (not cell.name and used.intersection(st.binds))
    ]


def solution_blocks(code: str) -> list[tuple[int, int]]:
    """(begin, end) line indices of each solution block; NotebookError when unbalanced."""
    blocks, start = [], None
    for i, line in enumerate(code.split("\n")):
        marker = line.strip()
        if marker == BEGIN:
            if start is not None:
                raise NotebookError(f"nested {BEGIN} at line {i + 1}")
            start = i
        elif marker == END:
            if start is None:
                raise NotebookError(f"{END} without {BEGIN} at line {i + 1}")
            blocks.append((start, i))
            start = None
    if start is not None:
        raise NotebookError(f"{BEGIN} at line {start + 1} has no {END}")
    return blocks
