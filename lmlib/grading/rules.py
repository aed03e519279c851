"""What graded code may say: source-level rules, checked in the trusted process before it runs.

The refusals of forbidden shortcuts (``answers.py``) live in the same process as the submission,
so code that can reach torch's internals, the interpreter's frames or the result file could
switch them off for one call and put them back, or write a result of its own. What it cannot
do is hide from its own source. Every statement the grader would run is read here first, and
one that breaks a rule is never sent to the worker:

- it imports only modules of ``MODULES`` (torch, numpy, einops and pure-Python helpers; lmlib's
  imports pass here and fail in the worker, where lmlib does not exist);
- it names none of the builtins that reach objects by a computed name or run computed code
  (``getattr``, ``vars``, ``globals``, ``eval``, ``exec``, ``open``...), and no dunder name;
- it reads no private attribute (``torch._C``, ``x._foo``; ``self._foo`` inside a method is
  fine), no dunder attribute but ``__init__`` and ``__name__`` (``__dict__``, ``__class__``,
  ``__globals__``...), and no attribute of ``ATTRIBUTES`` (``torch.ops``, ``torch.library``,
  ``torch.save``, a frame's ``f_globals``...), whatever object it is read from.

Names are checked wherever they appear, so an alias (``t = torch; t.ops``) changes nothing.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

MODULES = frozenset(
    {"torch", "numpy", "einops", "math", "cmath", "random", "statistics", "numbers"}
    | {"fractions", "decimal", "functools", "itertools", "collections", "heapq", "bisect"}
    | {"dataclasses", "typing", "enum", "abc", "copy", "re", "time", "__future__"}
    | {"lmlib"}  # passes here; the worker refuses it with a message that says why
)
BUILTINS = frozenset(
    {"getattr", "setattr", "delattr", "vars", "globals", "locals", "eval", "exec", "compile"}
    | {"__import__", "open", "breakpoint", "input", "help", "exit", "quit"}
)
DUNDERS = frozenset({"__init__", "__name__"})  # the only dunder attributes code may read
ATTRIBUTES = frozenset(
    {"ops", "library", "overrides", "jit", "fx", "compiler", "export", "package", "hub"}
    | {"cpp_extension", "classes", "serialization", "multiprocessing", "testing"}
    | {"save", "savez", "savez_compressed", "savetxt", "tofile", "from_file", "fromfile"}
    | {"load", "loads", "dump", "get_type_hints", "ForwardRef"}  # pickles, string annotations
    | {"memmap", "ctypeslib", "DataSource", "f2py", "distutils", "load_library"}
    | {"f_globals", "f_locals", "f_builtins", "f_back", "f_code", "gi_frame", "gi_code"}
    | {"cr_frame", "cr_code", "ag_frame", "ag_code", "tb_frame", "tb_next", "co_code"}
)


@dataclass(frozen=True)
class Breach:
    line: int  # in the statement's cell
    what: str  # "imports `os`"

    def __str__(self) -> str:
        return f"line {self.line} {self.what}"


def breaches(source: str, first_line: int = 1) -> list[Breach]:
    """Every rule ``source`` (a statement of a cell, starting at ``first_line``) breaks."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []  # the worker reports it; nothing of it runs
    found: list[Breach] = []
    methods = _methods(tree)
    for node, owner in _walk(tree):
        at = first_line + getattr(node, "lineno", 1) - 1
        if isinstance(node, ast.Import):
            found += [Breach(at, f"imports `{a.name}`") for a in node.names if _refused(a.name)]
        elif isinstance(node, ast.ImportFrom):
            module = "." * node.level + (node.module or "")
            if node.level or _refused(module):
                found.append(Breach(at, f"imports from `{module}`"))
            found += [
                Breach(at, f"imports `{a.name}` from `{module}`")
                for a in node.names
                if _private(a.name) or a.name in ATTRIBUTES or a.name == "*"
            ]
        elif isinstance(node, ast.Name) and (node.id in BUILTINS or _dunder(node.id)):
            if not (node.id == "__name__" and isinstance(node.ctx, ast.Load)):
                found.append(Breach(at, f"uses `{node.id}`"))
        elif isinstance(node, ast.Attribute):
            if why := _attribute(node, owner in methods and _is_self(node.value, owner)):
                found.append(Breach(at, why))
        elif isinstance(node, ast.MatchClass):
            found += [
                Breach(at, f"reads `.{a}` in a pattern")
                for a in node.kwd_attrs
                if _private(a) or a in ATTRIBUTES
            ]
    return found


def _refused(module: str) -> bool:
    root, *rest = module.split(".")
    return root not in MODULES or any(_private(p) or p in ATTRIBUTES for p in rest)


def _dunder(name: str) -> bool:
    return name.startswith("__") and name.endswith("__") and len(name) > 4


def _private(name: str) -> bool:
    return name.startswith("_")


def _attribute(node: ast.Attribute, on_self: bool) -> str:
    """Why reading ``node.attr`` is refused, or ''."""
    name = node.attr
    if _dunder(name):
        return "" if name in DUNDERS else f"reads `.{name}`"
    if name in ATTRIBUTES:
        return f"reads `.{name}`"
    if _private(name) and not on_self:
        return f"reads the private attribute `.{name}` (only `self.{name}` in a method may)"
    return ""


def _walk(tree: ast.AST):
    """(node, the innermost function that contains it, or None) for every node."""
    stack = [(tree, None)]
    while stack:
        node, owner = stack.pop()
        yield node, owner
        inner = node if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) else owner
        stack.extend((child, inner) for child in ast.iter_child_nodes(node))


def _methods(tree: ast.AST) -> set:
    """Functions defined directly in a class body whose first parameter (``self``) the body
    never rebinds: there, ``self._x`` is the instance's own attribute."""
    found = set()
    for cls in (n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)):
        for fn in cls.body:
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            params = fn.args.posonlyargs + fn.args.args
            if not params or params[0].arg not in ("self", "cls"):
                continue
            first = params[0].arg
            rebinds = any(
                isinstance(n, ast.Name) and n.id == first and not isinstance(n.ctx, ast.Load)
                for n in ast.walk(fn)
            )
            others = [a.arg for a in fn.args.args[1:] + fn.args.kwonlyargs] + [
                a.arg for a in (fn.args.vararg, fn.args.kwarg) if a
            ]
            if not rebinds and first not in others and not _nested_binds(fn, first):
                found.add(fn)
    return found


def _nested_binds(fn: ast.AST, name: str) -> bool:
    """Whether a function or lambda inside ``fn`` takes a parameter called ``name``."""
    for n in ast.walk(fn):
        if n is not fn and isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            a = n.args
            every = a.posonlyargs + a.args + a.kwonlyargs + [x for x in (a.vararg, a.kwarg) if x]
            if any(p.arg == name for p in every):
                return True
    return False


def _is_self(value: ast.expr, owner: ast.AST) -> bool:
    params = owner.args.posonlyargs + owner.args.args
    return isinstance(value, ast.Name) and bool(params) and value.id == params[0].arg
