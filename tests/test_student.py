"""``lmlib student``: student notebooks are generated, in sync, leak-free, and run top to bottom."""

import contextlib
import io
import json
import runpy
import sys
from pathlib import Path

import nbformat
import pytest

import lmlib
from lmlib.grading import classroom, notebook
from lmlib.grading.notebook import NotebookError
from lmlib.grading.student import (
    leaked_solution,
    repo_url,
    setup_source,
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
    assert stu["metadata"]["accelerator"] == "GPU"  # Colab opens it on a T4 runtime
    assert stu["metadata"]["colab"]["gpuType"] == "T4"
    assert notebook.source(stu["cells"][1]) == setup_source(URL, lmlib.__version__)
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
    lines = [line for line in _run_cells(sol).splitlines() if line.split(":")[0] in names]
    assert all(": passed" in line for line in lines), lines


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
    assert main(["student", "--root", str(tmp_path)]) == 0
    template = tmp_path / classroom.TEMPLATE
    assert template.read_text() == classroom.workflow(URL, lmlib.__version__)
    template.write_text(template.read_text().replace("lab1_1", "lab01"))  # edited by hand
    capsys.readouterr()
    assert main(["student", "--root", str(tmp_path), "--check"]) == 1
    assert f"stale: {template}" in capsys.readouterr().out


@pytest.mark.skipif(not REAL, reason="no labs/solutions/*.ipynb yet")
@pytest.mark.parametrize("path", REAL, ids=[p.stem for p in REAL])
def test_committed_student_notebook_is_in_sync_and_leak_free(path):
    sol = notebook.read(path)
    url = repo_url(ROOT)
    target = student_path(path)
    assert target.exists(), f"{target} is missing: run `lmlib student`"
    committed = notebook.read(target)
    assert committed == json.loads(notebook.dumps(student_notebook(sol, url, path.stem))), (
        f"{target} is stale: run `lmlib student` and commit the result"
    )
    assert leaked_solution(committed, sol) == []


def test_a_solution_needs_exactly_one_setup_cell():
    sol = solution(LABS[0])
    sol["cells"][1]["metadata"]["tags"] = []
    with pytest.raises(NotebookError, match="0 cells are tagged 'colab-setup'"):
        student_notebook(sol, URL, LABS[0])
    sol["cells"][1]["metadata"]["tags"] = ["colab-setup"]
    sol["cells"][2]["metadata"]["tags"] = ["colab-setup"]
    with pytest.raises(NotebookError, match="2 cells are tagged"):
        student_notebook(sol, URL, LABS[0])


class _Pip:
    """Stands in for subprocess.run: records the command instead of installing."""

    def __init__(self):
        self.commands = []

    def __call__(self, command, check):
        self.commands.append(command)


def test_setup_cell_installs_the_tag_of_its_version_only_when_lmlib_is_missing(monkeypatch):
    import importlib.util
    import subprocess

    pip = _Pip()
    monkeypatch.setattr(subprocess, "run", pip)
    exec(setup_source(URL, lmlib.__version__), {})  # lmlib is here, in its version: nothing to do
    assert pip.commands == []
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda n, *a: None if n == "lmlib" else real(n)
    )
    exec(setup_source(URL, lmlib.__version__), {})  # as in a fresh Colab runtime
    assert pip.commands == [
        [sys.executable, "-m", "pip", "install", "-q", f"lmlib @ git+{URL}@v{lmlib.__version__}"]
    ]


def test_setup_cell_stops_on_another_version_and_says_how_to_fix_it(monkeypatch):
    import subprocess

    monkeypatch.setattr(subprocess, "run", _Pip())
    with pytest.raises(RuntimeError) as e:
        exec(setup_source(URL, "9.9.9"), {})
    message = str(e.value)
    assert f"needs lmlib 9.9.9, but lmlib {lmlib.__version__} is installed" in message
    assert f"%pip install --no-deps --force-reinstall 'lmlib @ git+{URL}@v9.9.9'" in message
    assert "Restart session" in message


@pytest.mark.skipif(not REAL, reason="no labs/solutions/*.ipynb yet")
@pytest.mark.parametrize("path", REAL, ids=[p.stem for p in REAL])
def test_committed_student_notebook_installs_this_version_on_a_colab_t4(path):
    nb = notebook.read(student_path(path))
    setup = [c for c in nb["cells"] if "colab-setup" in c["metadata"].get("tags", [])]
    assert [notebook.source(c) for c in setup] == [setup_source(repo_url(ROOT), lmlib.__version__)]
    assert nb["cells"].index(setup[0]) == next(
        i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code"
    ), "the setup cell must be the first code cell"
    assert nb["metadata"]["accelerator"] == "GPU" and nb["metadata"]["colab"]["gpuType"] == "T4"
