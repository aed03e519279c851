"""Reading lab notebooks as plain JSON: exercise cells, solution blocks, the code the grader keeps.

An exercise cell starts with ``# EXERCISE: <name>``; its answer sits between ``### BEGIN SOLUTION``
and ``### END SOLUTION`` lines. Nothing here runs a notebook: cells are parsed with ``ast``.
"""

from __future__ import annotations

import ast
import json
import os
import re
import stat
import symtable
from dataclasses import dataclass
from pathlib import Path

EXERCISE = re.compile(r"^\s*#\s*EXERCISE:\s*(\S+)\s*$")
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
_KEEP_ALWAYS = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_KEEP_OWN = (ast.Assign, ast.AnnAssign, ast.AugAssign)


class NotebookError(ValueError):
    """The notebook cannot be read or is malformed."""


MAX_BYTES = 16 << 20  # a lab notebook with its outputs is well under 1 MB
MAX_DEPTH = 100  # nesting of a cell's syntax tree: hand-written code stays far below


def read(path: str | Path) -> dict:
    """The notebook as a dict (nbformat 4 JSON), without nbformat; NotebookError for anything
    that is not a readable notebook file, in bounded time and memory: a FIFO or a device (even
    through a symlink) is refused without reading it, a file over ``MAX_BYTES`` is refused, and
    so is a cell whose source is not text (``check_cells``)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    except OSError as e:
        raise NotebookError(f"cannot read notebook {path}: {e.strerror}") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        kind = _KINDS.get(stat.S_IFMT(info.st_mode), "not a regular file")
        raise NotebookError(f"{path} is {kind}, not a notebook file")
    with os.fdopen(fd, "rb") as f:
        if info.st_size > MAX_BYTES:
            raise NotebookError(
                f"{path} is {info.st_size >> 20} MB, over the {MAX_BYTES >> 20} MB a notebook "
                "may have: clear its outputs (Edit > Clear All Outputs) and save it again"
            )
        data = f.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise NotebookError(f"{path} grew past {MAX_BYTES >> 20} MB while it was read")
    try:
        nb = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        why = "nested too deeply" if isinstance(e, RecursionError) else str(e)
        raise NotebookError(f"cannot read notebook {path}: {why}") from None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise NotebookError(f"{path} is not a Jupyter notebook (no 'cells' list)")
    check_cells(nb, path)
    return nb


_KINDS = {
    stat.S_IFIFO: "a FIFO (named pipe)",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFDIR: "a directory",
    stat.S_IFSOCK: "a socket",
}


def check_cells(nb: dict, path: str | Path) -> None:
    """NotebookError unless every cell is an object whose source is a string or a list of
    strings, all valid Unicode text (no lone surrogate, which cannot be written as UTF-8)."""
    for i, cell in enumerate(nb["cells"], 1):
        if not isinstance(cell, dict):
            raise NotebookError(f"{path}: cell {i} is a {type(cell).__name__}, not an object")
        src = cell.get("source", "")
        parts = src if isinstance(src, list) else [src]
        for part in parts:
            if not isinstance(part, str):
                raise NotebookError(
                    f"{path}: cell {i}'s source holds a {type(part).__name__}, not text; "
                    "restore the cell from the lab's original notebook"
                )
            try:
                part.encode("utf-8")
            except UnicodeEncodeError as e:
                raise NotebookError(
                    f"{path}: cell {i}'s source holds a lone surrogate "
                    f"(U+{ord(part[e.start]):04X}), which is not text"
                ) from None
    lab = nb.get("metadata", {}).get("lmlib", {}) if isinstance(nb.get("metadata"), dict) else {}
    name = lab.get("lab") if isinstance(lab, dict) else None
    if isinstance(name, str) and not name.isprintable():
        raise NotebookError(f"{path}: the notebook's lab name {name!r} is not printable text")


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
    meta = nb.get("metadata", {})
    if not isinstance(meta, dict):
        raise NotebookError(
            f"{path}: the notebook's metadata is a {type(meta).__name__}, not an object; "
            "restore it from the lab's original notebook"
        )
    meta = meta.get("lmlib", {})
    lab = meta.get("lab") if isinstance(meta, dict) else None
    return lab if isinstance(lab, str) and lab else Path(path).stem


@dataclass(frozen=True)
class Statement:
    source: str
    line: int  # first line in its cell, so tracebacks point at the student's own line numbers
    cell: str  # exercise name, or "" for a cell that is not an exercise
    assignment: bool
    binds: tuple[str, ...] = ()  # names the statement defines
    uses: frozenset[str] = frozenset()  # names its code mentions


@dataclass(frozen=True)
class Cell:
    name: str  # "" when not an exercise cell
    code: str
    statements: tuple[Statement, ...]
    syntax_error: str | None
    uses: frozenset[str] = frozenset()  # every name the cell's code mentions
    index: int = 0  # 1-based position among the notebook's cells
    label: str = ""  # how messages name it: "cell 7" unless set (``In [7]`` for a kernel's)

    @property
    def where(self) -> str:
        return self.label or f"cell {self.index}"


def _strip_magics(code: str) -> str:
    """IPython lines (``%pip``, ``!ls``) become blank lines, keeping line numbers."""
    return "\n".join("" if ln.lstrip().startswith(("%", "!")) else ln for ln in code.split("\n"))


def global_names(code: str) -> frozenset[str]:
    """The module-level names ``code`` reads (a function's own locals and parameters excluded)."""
    try:
        stack = [symtable.symtable(code, "<cell>", "exec")]
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return frozenset()
    names = set()
    while stack:
        table = stack.pop()
        module = table.get_type() == "module"
        names.update(
            s.get_name()
            for s in table.get_symbols()
            if s.is_referenced() and (module or s.is_global())
        )
        stack.extend(table.get_children())
    return frozenset(names)


def _binds(node: ast.stmt) -> tuple[str, ...]:
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return tuple((a.asname or a.name.split(".")[0]) for a in node.names if a.name != "*")
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return (node.name,)
    if isinstance(node, ast.AnnAssign) and node.value is None:  # `x: int` binds nothing
        return ()
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    return tuple(n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name))


def parse_cell(code: str, name: str, index: int = 0, label: str = "") -> Cell:
    """Keep module-level imports, defs, classes and assignments, as the grader may run them."""
    try:
        tree = ast.parse(_strip_magics(code))
    except (SyntaxError, ValueError, RecursionError, MemoryError) as e:
        where = f"line {e.lineno}: " if isinstance(e, SyntaxError) and e.lineno else ""
        msg = e.msg if isinstance(e, SyntaxError) else type(e).__name__
        error = f"syntax error in the {name or 'setup'} cell, {where}{msg}"
        return Cell(name, code, (), error, index=index, label=label)
    if (depth := _depth(tree)) > MAX_DEPTH:
        error = (
            f"the {name or 'setup'} cell nests its code {depth} levels deep; the grader reads "
            f"at most {MAX_DEPTH}: split the expression into named steps"
        )
        return Cell(name, code, (), error, index=index, label=label)
    lines = _strip_magics(code).split("\n")
    keep = _KEEP_ALWAYS + _KEEP_OWN
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
        uses = global_names(text)
        kept.append(Statement(text, start, name, isinstance(node, _KEEP_OWN), _binds(node), uses))
    uses = frozenset(n.id for n in ast.walk(tree) if isinstance(n, ast.Name))
    return Cell(name, code, tuple(kept), None, uses, index, label)


def _depth(tree: ast.AST) -> int:
    """How deep the syntax tree goes (iteratively: a deep tree must not exhaust the stack)."""
    deepest, stack = 0, [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth <= MAX_DEPTH:  # past the limit the answer is already known
            stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return deepest


def code_cells(nb: dict) -> list[Cell]:
    """Every code cell, parsed. Cells that are not exercises contribute only their imports."""
    return [
        parse_cell(source(c), exercise_name(c) or "", i)
        for i, c in enumerate(nb["cells"], 1)
        if isinstance(c, dict) and c.get("cell_type") == "code"
    ]


def program_for(cells: list[Cell], exercise: str) -> list[Statement]:
    """What the worker runs for one exercise, in notebook order: everything the exercise's own
    cell keeps; the imports, defs and classes of every exercise cell; and, from the cells up to
    the exercise's, each module-level import, def, class or assignment that binds a name the kept
    code needs (found transitively), so helpers and constants of earlier cells are there as in
    Jupyter, while a plot or a training run that nothing needs costs nothing."""
    own = max((c.index for c in cells if c.name == exercise), default=0)
    always = [
        st
        for c in cells
        for st in c.statements
        if c.name == exercise or (c.name and not st.assignment)
    ]
    first = {id(st) for st in always}
    optional = [st for c in cells if c.index <= own for st in c.statements if id(st) not in first]
    binders: dict[str, list[int]] = {}  # name -> the optional statements that bind it
    for k, st in enumerate(optional):
        for name in st.binds:
            binders.setdefault(name, []).append(k)
    needed = set().union(*(st.uses for st in always))
    todo, chosen = list(needed), set()
    while todo:  # each name and each statement is visited once: linear in the notebook
        for k in binders.pop(todo.pop(), ()):
            if k not in chosen:
                chosen.add(k)
                todo += [n for n in optional[k].uses if n not in needed]
                needed |= optional[k].uses
    keep = first | {id(optional[k]) for k in chosen}
    return [st for c in cells for st in c.statements if id(st) in keep]


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
