"""What ``check()`` reads of the notebook a kernel is running, to warn where ``lmlib grade`` would
see the notebook differently (``lmlib.grading.layout.problems``): the saved notebook when the
kernel knows its path, else the cells the kernel ran, in the order it ran them.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from lmlib.grading import notebook
from lmlib.grading.layout import problems
from lmlib.grading.notebook import Cell


def warnings(fn: Any, lab: str, exercise: str) -> list[str]:
    """What ``lmlib grade`` would see differently from this kernel, for ``check(fn)``: read from
    the saved notebook where the kernel knows its path, else from the cells the kernel ran."""
    ns = namespace_of(fn)
    if ns is None:
        return []
    cells, source = saved_cells(ns, lab) or kernel_cells(ns) or ([], "")
    if not cells:
        return []
    if not any(c.name == exercise for c in cells):
        return [
            f"no code cell of {source} starts with `# EXERCISE: {exercise}`, so `lmlib grade` "
            f"would find no `{exercise}`"
        ]
    return [text for name, text in problems(cells, exercise).items() if name in ns]


def namespace_of(fn: Any) -> dict | None:
    """The globals ``fn`` (a function, or a class through its methods) was defined in."""
    found = getattr(fn, "__globals__", None)
    if isinstance(found, dict):
        return found
    if isinstance(fn, type):
        for attr in vars(fn).values():
            found = getattr(attr, "__globals__", None)
            if isinstance(found, dict):
                return found
    module = sys.modules.get(getattr(fn, "__module__", None) or "")
    return vars(module) if module is not None else None


def saved_cells(ns: dict, lab: str) -> tuple[list[Cell], str] | None:
    """The cells of the notebook file the kernel runs (Jupyter's ``__session__``, VS Code's
    ``__vsc_ipynb_file__``), if it is there and is this lab."""
    for candidate in (
        ns.get("__session__"),
        ns.get("__vsc_ipynb_file__"),
        os.environ.get("JPY_SESSION_NAME"),
    ):
        if not isinstance(candidate, str) or not candidate.endswith(".ipynb"):
            continue
        for path in (Path(candidate), Path.cwd() / Path(candidate).name):
            try:
                nb = notebook.read(path)
                if notebook.lab_id(nb, path) == lab:
                    return notebook.code_cells(nb), f"the saved notebook {path.name}"
            except (notebook.NotebookError, OSError):
                continue
    return None


def kernel_cells(ns: dict) -> tuple[list[Cell], str] | None:
    """The cells an IPython kernel ran (``In``), in the order it ran them; of an exercise cell
    run several times, only the last run."""
    history = ns.get("In")
    if not isinstance(history, list) or not all(isinstance(h, str) for h in history):
        return None
    names = [notebook.exercise_name({"cell_type": "code", "source": h}) for h in history]
    last = {name: i for i, name in enumerate(names) if name}
    return [
        notebook.parse_cell(h, name or "", i, f"In [{i}]")
        for i, (h, name) in enumerate(zip(history, names))
        if h.strip() and (not name or last[name] == i)
    ], "the cells this kernel ran"
