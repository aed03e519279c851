"""``lmlib student``: student notebooks are generated, in sync, leak-free, and run top to bottom."""

import contextlib
import io
import json
import runpy
import sys
from pathlib import Path

import nbformat
import pytest

from lmlib.grading import notebook
from lmlib.grading.student import (
    leaked_solution,
    repo_url,
    strip_solutions,
    student_notebook,
    student_path,
)
from lmlib.tools.cli import main

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = runpy.run_path(str(Path(__file__).parent / "fixtures" / "lab_notebooks.py"))
LABS = sorted(FIXTURES["EXERCISES"])
REAL = sorted((ROOT / "labs" / "solutions").glob("*.ipynb"))
URL = "https://github.com/example/course"


def solution(lab):
    return json.loads(nbformat.writes(FIXTURES["solution_notebook"](lab)))


def test_strip_solutions_keeps_indentation_and_names_the_exercise():
    code = "# EXERCISE: f\ndef f(x):\n    y = 1\n"
    code += "    ### BEGIN SOLUTION\n    return x + y\n    ### END SOLUTION\n"
    out = strip_solutions(code, "f")
    assert (
        out.splitlines()[-1]
        == '    raise NotImplementedError("exercise f: replace this line with your code")'
    )
    assert "return x" not in out and "y = 1" in out
    with pytest.raises(ValueError, match="no ### END SOLUTION"):
        strip_solutions("### BEGIN SOLUTION\nx = 1\n", "f")


@pytest.mark.parametrize("lab", LABS)
def test_student_notebook_is_clean(lab):
    sol = solution(lab)
    sol["cells"][1]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": ["hi\n"]}]
    sol["cells"][1]["execution_count"] = 3
    stu = student_notebook(sol, URL, lab)
    assert "{{REPO_URL}}" in json.dumps(sol) and "{{REPO_URL}}" not in json.dumps(stu)
    assert URL in notebook.source(stu["cells"][1])
    assert all(
        c.get("outputs", []) == [] and c.get("execution_count") is None for c in stu["cells"]
    )
    assert not any("solution-only" in c["metadata"].get("tags", []) for c in stu["cells"])
    assert len(stu["cells"]) == len(sol["cells"]) - 1
    assert stu["metadata"]["lmlib"]["lab"] == lab
    assert leaked_solution(stu, sol) == []
    leaky = json.loads(json.dumps(stu))
    leaky["cells"][-1]["source"] = [
        "scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # (B, H, T, T)\n"
    ]
    assert leaked_solution(leaky, sol) != [] or lab != "3_1_multihead_attention"
    nbformat.validate(nbformat.reads(notebook.dumps(stu), as_version=4))


def _run_cells(nb):
    """Execute the code cells in order in one namespace, as a kernel would."""
    ns, out = {"__name__": "__main__"}, io.StringIO()
    with contextlib.redirect_stdout(out):
        for cell in nb["cells"]:
            if cell["cell_type"] == "code":
                exec(notebook.source(cell), ns)
    return out.getvalue()


@pytest.mark.parametrize("lab", LABS)
def test_untouched_student_notebook_runs_top_to_bottom(lab):
    sol = solution(lab)
    out = _run_cells(student_notebook(sol, URL, lab))
    names = list(FIXTURES["EXERCISES"][lab])
    assert [line.split(":")[0] for line in out.splitlines()] == names
    assert all("not implemented yet" in line for line in out.splitlines())
    assert all(
        ": passed" in line for line in _run_cells(sol).splitlines() if line.split(":")[0] in names
    )


def test_repo_url_with_and_without_yaml(tmp_path, monkeypatch):
    (tmp_path / "_config.yml").write_text(
        "title: Course\nrepository:\n  url: https://github.com/o/r  # the one place\n"
        "  branch: main\n"
    )
    assert repo_url(tmp_path) == "https://github.com/o/r"
    monkeypatch.setitem(sys.modules, "yaml", None)  # as on a machine without PyYAML
    assert repo_url(tmp_path) == "https://github.com/o/r"
    (tmp_path / "_config.yml").write_text("title: Course\n")
    with pytest.raises(ValueError, match="repository.url"):
        repo_url(tmp_path)


def test_cli_generates_and_checks(tmp_path, capsys):
    (tmp_path / "labs" / "solutions").mkdir(parents=True)
    (tmp_path / "_config.yml").write_text(f"repository:\n  url: {URL}\n")
    for lab in LABS:
        notebook.write(solution(lab), tmp_path / "labs" / "solutions" / f"{lab}.ipynb")
    assert main(["student", "--root", str(tmp_path), "--check"]) == 1  # nothing generated yet
    assert main(["student", "--root", str(tmp_path)]) == 0
    assert main(["student", "--root", str(tmp_path), "--check"]) == 0
    path = tmp_path / "labs" / "solutions" / f"{LABS[0]}.ipynb"
    edited = notebook.read(path)
    edited["cells"][0]["source"] = ["# A new title\n"]
    notebook.write(edited, path)
    capsys.readouterr()
    assert main(["student", "--root", str(tmp_path), "--check"]) == 1
    assert f"stale: {tmp_path / 'labs' / LABS[0]}.ipynb" in capsys.readouterr().out


@pytest.mark.skipif(not REAL, reason="no labs/solutions/*.ipynb yet")
@pytest.mark.parametrize("path", REAL, ids=[p.stem for p in REAL])
def test_committed_student_notebook_is_in_sync_and_leak_free(path):
    sol = notebook.read(path)
    url = repo_url(ROOT) if "{{REPO_URL}}" in json.dumps(sol) else ""
    target = student_path(path)
    assert target.exists(), f"{target} is missing: run `lmlib student`"
    committed = notebook.read(target)
    assert committed == json.loads(notebook.dumps(student_notebook(sol, url, path.stem))), (
        f"{target} is stale: run `lmlib student` and commit the result"
    )
    assert leaked_solution(committed, sol) == []
