"""What ``lmlib grade`` sees of a notebook's top-level names, next to what Jupyter sees.

For each exercise the grader runs only the top-level imports, functions, classes and assignments
its code needs, in notebook order up to the exercise's cell, without lmlib and with annotations
left unevaluated (``notebook.program_for``, ``worker.py``). ``problems(cells, exercise)`` finds
each name the exercise needs that the grader will not have, or will have with another value, and
says where the notebook sets it: after the exercise, inside a block the grader skips, from lmlib,
or changed afterwards by a statement the grader skips. The grade adds these to the reason of an
exercise that did not pass (``explain``); ``check()`` prints them as warnings
(``lmlib.grading.kernel_view``).
"""

from __future__ import annotations

import ast
import builtins
import copy
import re
import symtable

from lmlib.grading import notebook
from lmlib.grading.notebook import Cell, Statement

BUILTINS = frozenset(dir(builtins)) | {"__name__", "__builtins__", "__doc__"}
_COMPREHENSIONS = ("listcomp", "setcomp", "dictcomp", "genexpr")  # they run where they stand
_BLOCKS = {
    ast.For: "a `for` loop",
    ast.AsyncFor: "an `async for` loop",
    ast.While: "a `while` loop",
    ast.If: "an `if` block",
    ast.With: "a `with` block",
    ast.AsyncWith: "an `async with` block",
    ast.Try: "a `try` block",
    ast.Match: "a `match` block",
}
_MUTATING = frozenset(
    ("append", "extend", "insert", "update", "setdefault", "pop", "popitem", "clear")
    + ("remove", "discard", "add", "sort", "reverse")
)
_SKIP = (
    "which the grader skips (of each cell it runs only the top-level imports, functions, "
    "classes and assignments)"
)


class _NoAnnotations(ast.NodeTransformer):
    """Annotations removed: the grader compiles with them unevaluated."""

    def visit_arg(self, node: ast.arg) -> ast.arg:
        node.annotation = None
        return node

    def visit_FunctionDef(self, node):
        node.returns = None
        self.generic_visit(node)
        return node

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_AnnAssign(self, node: ast.AnnAssign):
        if node.value is None:
            return ast.copy_location(ast.Pass(), node)
        return ast.copy_location(ast.Assign([node.target], self.visit(node.value)), node)


def scan(st: Statement) -> tuple[frozenset[str], frozenset[str]]:
    """(names the statement reads when it runs, names it or its functions may read later)."""
    try:
        tree = _NoAnnotations().visit(copy.deepcopy(ast.parse(st.source)))
        table = symtable.symtable(ast.unparse(ast.fix_missing_locations(tree)), "<cell>", "exec")
    except (SyntaxError, ValueError, RecursionError):
        return frozenset(), frozenset()
    now, later, stack = set(), set(), [(table, True)]
    while stack:
        t, runs_now = stack.pop()
        module = t.get_type() == "module"
        found = {s.get_name() for s in t.get_symbols() if s.is_referenced()}
        found = {n for n in found if module or t.lookup(n).is_global()}
        (now if runs_now else later).update(found)
        for child in t.get_children():
            deferred = child.get_type() == "function" and child.get_name() not in _COMPREHENSIONS
            stack.append((child, runs_now and not deferred))
    return frozenset(now), frozenset(now | later)


def _node(st: Statement) -> ast.stmt:
    return ast.parse(st.source).body[0]


def _imports_lmlib(st: Statement) -> bool:
    node = _node(st)
    if isinstance(node, ast.ImportFrom):
        return (node.module or "").split(".")[0] == "lmlib"
    return isinstance(node, ast.Import) and any(a.name.split(".")[0] == "lmlib" for a in node.names)


def _skipped(cell: Cell) -> list[ast.stmt]:
    """The top-level statements of ``cell`` that the grader never runs."""
    try:
        body = ast.parse(notebook._strip_magics(cell.code)).body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    kept = notebook._KEEP_ALWAYS + notebook._KEEP_OWN
    return [node for node in body if not isinstance(node, kept)]


def _inside(node: ast.AST):
    """``node`` and what it contains, except the bodies of functions, lambdas and classes."""
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        if not isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            stack.extend(ast.iter_child_nodes(n))


def _sets(node: ast.stmt) -> list[tuple[str, int]]:
    """(name, line) for each top-level name a skipped statement binds, inside its blocks."""
    found = []
    for n in _inside(node):
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found.append((n.name, n.lineno))
        elif isinstance(n, (ast.Import, ast.ImportFrom)):
            found += [(a.asname or a.name.split(".")[0], n.lineno) for a in n.names]
        elif isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
            found.append((n.id, n.lineno))
        elif isinstance(n, ast.ExceptHandler) and n.name:
            found.append((n.name, n.lineno))
    return found


def _changes(node: ast.stmt) -> list[tuple[str, int, str]]:
    """(name, line, how) for each change a skipped statement makes to an object it names."""
    found = []
    for n in _inside(node):
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute):
            owner, method = n.func.value, n.func.attr
            in_place = method.endswith("_") and not method.startswith("_")  # torch's add_, fill_
            if isinstance(owner, ast.Name) and (method in _MUTATING or in_place):
                found.append((owner.id, n.lineno, f"`{owner.id}.{method}(...)`"))
        elif isinstance(n, (ast.Subscript, ast.Attribute)) and isinstance(
            n.ctx, (ast.Store, ast.Del)
        ):
            if isinstance(n.value, ast.Name):
                found.append((n.value.id, n.lineno, f"`{ast.unparse(n)} = ...`"))
        elif isinstance(n, ast.AugAssign) and isinstance(n.target, ast.Name):
            found.append((n.target.id, n.lineno, f"`{n.target.id} {ast.unparse(n.op)}= ...`"))
    return found


def _what(node: ast.stmt) -> str:
    return next((text for kind, text in _BLOCKS.items() if isinstance(node, kind)), "a statement")


def problems(cells: list[Cell], exercise: str) -> dict[str, str]:
    """For each name the exercise's code needs that the grader will lack or see changed: why,
    and where the notebook sets it. Empty when there is no exercise cell (the grade says so)."""
    mine = [c for c in cells if c.name == exercise]
    if not mine:
        return {}
    own = max(mine, key=lambda c: c.index)
    program = notebook.program_for(cells, exercise)
    cell_of = {id(st): c for c in cells for st in c.statements}
    scanned = {id(st): scan(st) for st in program}
    bound, failed, binder = set(BUILTINS), {}, {}  # failed: name -> (statement, what it lacked)
    star = False
    for st in program:
        now = scanned[id(st)][0]
        node = _node(st)
        star = star or isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names)
        lacking = sorted(now - bound, key=lambda n: (n not in failed, n))
        cause = lacking[0] if lacking else None
        if _imports_lmlib(st) or cause in failed and failed[cause][1] == "lmlib":
            cause = "lmlib"  # the root of the failure, however many statements down
        for name in st.binds:
            if cause is None:
                bound.add(name)
                failed.pop(name, None)
                binder[name] = st
            elif name not in bound:
                failed[name] = (st, cause)
    needed = set().union(*(scanned[id(st)][1] for st in program if st.cell == exercise))
    by_name: dict[str, list[Statement]] = {}
    for st in program:
        for name in st.binds:
            by_name.setdefault(name, []).append(st)
    todo = list(needed)
    while todo:
        for st in by_name.get(todo.pop(), []):
            for name in scanned[id(st)][1] - needed:
                needed.add(name)
                todo.append(name)
    found, where = {}, _Skipped(cells, own)
    from_lmlib = {n for n, (_, cause) in failed.items() if cause == "lmlib"} & needed
    modules = {n for n in from_lmlib if isinstance(_node(failed[n][0]), ast.Import)}
    for name in sorted(needed - BUILTINS):
        if name in modules and from_lmlib - modules:
            continue  # `import lmlib` itself: the names set with it say so
        if name in failed:
            found[name] = _failed(name, *failed[name], cell_of)
        elif name in bound:
            if changed := _changed(name, binder[name], cell_of[id(binder[name])], where):
                found[name] = changed
        elif text := _elsewhere(name, own, where):
            found[name] = text
        elif not star:
            found[name] = f"`{name}` is not set at the top level of any cell"
    return found


def _failed(name: str, st: Statement, cause: str, cell_of: dict) -> str:
    cell = cell_of[id(st)].where
    if cause == "lmlib" and _imports_lmlib(st):
        return (
            f"`{name}` comes from lmlib ({cell}, line {st.line}), which the grader does not "
            "have: the exercise's code must work without lmlib"
        )
    if cause == "lmlib":
        return (
            f"`{name}` is set in {cell} (line {st.line}) with lmlib, which the grader does not "
            "have: compute it without lmlib"
        )
    return (
        f"`{name}` is set in {cell} (line {st.line}) with `{cause}`, which the grader does not "
        "have there"
    )


class _Skipped:
    """What the statements the grader skips do, by name, read once per notebook: each cell is
    parsed once, so explaining a notebook stays linear in its length."""

    def __init__(self, cells: list[Cell], own: Cell):
        self.changes: dict[str, list[tuple[Cell, int, str]]] = {}  # cells up to the exercise's
        self.sets: dict[str, list[tuple[Cell, int, ast.stmt]]] = {}  # those cells first
        self.later: dict[str, tuple[Cell, Statement]] = {}  # first binding after the exercise
        for c in sorted(cells, key=lambda c: c.index > own.index):
            for node in _skipped(c):
                if c.index <= own.index:
                    for name, line, text in _changes(node):
                        self.changes.setdefault(name, []).append((c, line, text))
                    for name, line in _sets(node):
                        self.changes.setdefault(name, []).append((c, line, _what(node)))
                for name, line in _sets(node):
                    self.sets.setdefault(name, []).append((c, line, node))
        for c in cells:
            for st in c.statements:
                for name in st.binds if c.index > own.index else ():
                    self.later.setdefault(name, (c, st))


def _changed(name: str, st: Statement, cell: Cell, where: _Skipped) -> str:
    """Why the grader's value of ``name`` (set by ``st``) differs from Jupyter's, or ''."""
    if not isinstance(_node(st), notebook._KEEP_OWN):
        return ""  # a module, function or class: calls on it change nothing the grader lacks
    after = (cell.index, st.line)
    for c, line, text in sorted(where.changes.get(name, []), key=lambda x: x[0].index):
        if (c.index, line) > after:
            return (
                f"`{name}` is changed in {c.where} (line {line}) by {text}, {_SKIP}; "
                f"so the grader keeps the value set in {cell.where} (line {st.line})"
            )
    return ""


def _elsewhere(name: str, own: Cell, where: _Skipped) -> str:
    """Where the notebook sets ``name`` out of the grader's reach, or ''."""
    if name in where.later:
        c, st = where.later[name]
        return (
            f"`{name}` is set in {c.where} (line {st.line}), after this exercise's cell "
            f"({own.where}): the grader runs the notebook from the top and stops at the "
            "exercise, so move it above the exercise or into its cell"
        )
    for c, line, node in where.sets.get(name, [])[:1]:
        return (
            f"`{name}` is set in {c.where} (line {line}) inside {_what(node)}, "
            f"{_SKIP}: define it at the top level of a cell above the exercise"
        )
    return ""


def explain(message: str, cells: list[Cell], exercise: str) -> str:
    """What to add to the reason of an exercise that did not pass: for a NameError, where the
    notebook sets that name and why the grader lacks it; then any other name the grader lacks."""
    found = problems(cells, exercise)
    match = re.search(r"NameError: name '(\w+)' is not defined", message)
    notes = []
    if match:
        name = match.group(1)
        notes.append(found.pop(name, "") or _raised(name, cells, exercise))
    notes += [text for text in found.values() if "is not set at the top level" not in text]
    return "".join(f". {text}" for text in notes[:3] if text)


def _raised(name: str, cells: list[Cell], exercise: str) -> str:
    for c in cells:
        for st in c.statements:
            if name in st.binds:
                return (
                    f"`{name}` is set in {c.where} (line {st.line}), but that statement failed "
                    "in the grader"
                )
    return f"`{name}` is not set at the top level of any cell"
