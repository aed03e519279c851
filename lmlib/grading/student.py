"""``lmlib student``: generate the student notebooks in ``labs/`` from ``labs/solutions/``.

Each solution block becomes ``raise NotImplementedError(...)`` naming the exercise, at the block's
indentation; outputs and execution counts are cleared; cells tagged ``solution-only`` are dropped;
``{{REPO_URL}}`` becomes ``repository.url`` from the repo-root ``_config.yml``. The cell tagged
``colab-setup`` is written by `setup_source`: it installs lmlib at the tag of this lmlib's version
(``v{lmlib.__version__}``, the one place a release changes) and stops on any other version. The
notebook asks Colab for a T4 GPU runtime. The GitHub Classroom template, which grades every lab, is
written beside them. ``--check`` exits 1 listing stale files, so CI catches a solution edited
without regenerating.
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import sys
from pathlib import Path

import lmlib
from lmlib.grading import classroom, notebook
from lmlib.grading.notebook import BEGIN, END, NotebookError

PLACEHOLDER = "{{REPO_URL}}"
SOLUTION_ONLY = "solution-only"
SETUP = "colab-setup"  # the tag of the cell that `setup_source` writes
# What Colab reads to open a notebook on a GPU runtime, a T4 (its free GPU).
COLAB_GPU = {"accelerator": "GPU", "colab": {"gpuType": "T4", "provenance": []}}


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "notebooks",
        nargs="*",
        type=Path,
        help="solution notebooks (default: every labs/solutions/*.ipynb)",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 listing student notebooks that are stale",
    )
    parser.add_argument(
        "--root",
        type=Path,
        default=Path("."),
        help="repository root, holding _config.yml and labs/ (default: .)",
    )


def run(args: argparse.Namespace) -> int:
    solutions = args.notebooks or sorted((args.root / "labs" / "solutions").glob("*.ipynb"))
    if not solutions:
        print(
            f"error: no solution notebooks in {args.root / 'labs' / 'solutions'}", file=sys.stderr
        )
        return 2
    stale = []
    try:
        url = repo_url(args.root)
        for path in solutions:
            nb = notebook.read(path)
            target = student_path(path)
            generated = student_notebook(nb, url, path.stem)
            if args.check:
                if not _same(target, generated):
                    stale.append(target)
            else:
                notebook.write(generated, target)
                print(f"wrote {target}")
        stale += _template(args.root, args.check, url)
    except (NotebookError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for target in stale:
        print(f"stale: {target} (run `lmlib student` and commit the result)")
    return 1 if stale else 0


def _template(root: Path, check: bool, url: str) -> list[Path]:
    """Write (or with `check`, compare) the Classroom template; the stale path, if it is."""
    path = root / classroom.TEMPLATE
    text = classroom.workflow(url, lmlib.__version__)
    if check:
        same = path.exists() and path.read_text(encoding="utf-8") == text
        return [] if same else [path]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path}")
    return []


def student_path(solution: Path) -> Path:
    """labs/solutions/NN_name.ipynb -> labs/NN_name.ipynb."""
    parent = solution.parent.parent if solution.parent.name == "solutions" else solution.parent
    if parent == solution.parent:
        raise ValueError(f"{solution} is not in a solutions/ directory")
    return parent / solution.name


def _same(target: Path, generated: dict) -> bool:
    try:
        return json.loads(target.read_text(encoding="utf-8")) == json.loads(
            notebook.dumps(generated)
        )
    except (OSError, json.JSONDecodeError):
        return False


def repo_url(root: Path) -> str:
    """``repository.url`` from ``_config.yml`` (repo root, else book/), with PyYAML if present."""
    for path in (root / "_config.yml", root / "book" / "_config.yml"):
        if not path.exists():
            continue
        text = path.read_text(encoding="utf-8")
        try:
            import yaml

            repo = (yaml.safe_load(text) or {}).get("repository") or {}
            url = repo.get("url") if isinstance(repo, dict) else None
        except ImportError:
            block = re.search(r"^repository:[ \t]*\n((?:[ \t]+.*\n?|[ \t]*\n)*)", text, re.M)
            found = block and re.search(
                r"^[ \t]+url:[ \t]*['\"]?([^'\"\s#]+)", block.group(1), re.M
            )
            url = found.group(1) if found else None
        if url:
            return str(url)
    raise ValueError(
        f"no repository.url in {root / '_config.yml'}; the notebooks' setup cell "
        f"needs it to replace {PLACEHOLDER}"
    )


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def strip_solutions(code: str, exercise: str | None, markdown: bool = False) -> str:
    """Replace every solution block by a stub at the block's indentation."""
    lines = code.split("\n")
    for start, end in reversed(notebook.solution_blocks(code)):
        indent = lines[start][: len(lines[start]) - len(lines[start].lstrip())]
        what = f"exercise {exercise}" if exercise else "this exercise"
        stub = (
            "*Your answer here.*"
            if markdown
            else (f'raise NotImplementedError("{what}: replace this line with your code")')
        )
        lines[start : end + 1] = [indent + stub]
    return "\n".join(lines)


def setup_source(url: str, version: str) -> str:
    """The Colab setup cell: install lmlib `version` from its tag when lmlib is missing (Colab),
    then stop, saying how to fix it, if the lmlib found is another version."""
    return f'''# Colab setup: installs lmlib {version}, the version this notebook was written for.
import importlib, importlib.util, subprocess, sys
LMLIB = "lmlib @ git+{url}@v{version}"
if importlib.util.find_spec("lmlib") is None:  # locally, lmlib is already installed
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", LMLIB], check=True)
    importlib.invalidate_caches()
import lmlib
if lmlib.__version__ != "{version}":
    raise RuntimeError(
        "this notebook needs lmlib {version}, but lmlib " + lmlib.__version__ + " is installed: "
        "run  %pip install --no-deps --force-reinstall '" + LMLIB + "'  in a new cell, "
        "restart (Colab: Runtime > Restart session) and run the notebook again"
    )'''


def student_notebook(solution: dict, url: str, lab: str, version: str | None = None) -> dict:
    """The student version of a solution notebook (which is left unchanged); its setup cell
    installs lmlib `version` (default: this lmlib's)."""
    nb = copy.deepcopy(solution)
    setup = [c for c in nb["cells"] if SETUP in (c.get("metadata", {}).get("tags") or [])]
    if len(setup) != 1:
        raise NotebookError(
            f"{lab}: {len(setup)} cells are tagged {SETUP!r}; tag exactly one, the Colab setup "
            "cell (`lmlib student` writes its code)"
        )
    cells = []
    for i, cell in enumerate(nb["cells"]):
        meta = cell.get("metadata", {})
        if SOLUTION_ONLY in (meta.get("tags") or []):
            continue
        text = notebook.source(cell).replace(PLACEHOLDER, url)
        if cell is setup[0]:
            text = setup_source(url, version or lmlib.__version__)
        try:
            text = strip_solutions(text, notebook.exercise_name(cell), cell["cell_type"] != "code")
        except NotebookError as e:
            raise NotebookError(f"{lab}, cell {i}: {e}") from None
        cell["source"] = _lines(text)
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
            meta.pop("execution", None)
        cells.append(cell)
    nb["cells"] = cells
    meta = nb.setdefault("metadata", {})
    meta.pop("widgets", None)
    meta.update(copy.deepcopy(COLAB_GPU))
    meta.setdefault("lmlib", {}).setdefault("lab", lab)
    return nb


def leaked_solution(student: dict, solution: dict) -> list[str]:
    """Solution text found in a student notebook: markers, solution lines, solution-only cells.

    A line counts when it is long enough to be specific and does not also appear in the parts of
    the solution notebook that students are meant to see.
    """
    secret, visible = set(), set()
    for cell in solution["cells"]:
        text = notebook.source(cell)
        lines = text.split("\n")
        hidden = SOLUTION_ONLY in (cell.get("metadata", {}).get("tags") or [])
        inside = set()
        if not hidden:
            try:
                blocks = notebook.solution_blocks(text)
            except NotebookError:
                blocks = []
            inside = {i for s, e in blocks for i in range(s + 1, e)}
        for i, line in enumerate(lines):
            key = line.strip()
            (secret if hidden or i in inside else visible).add(key)
    secret = {s for s in secret - visible if len(s) >= 12}
    found = []
    for cell in student["cells"]:
        for line in notebook.source(cell).split("\n"):
            key = line.strip()
            if key in (BEGIN, END) or key in secret:
                found.append(key)
    return found
