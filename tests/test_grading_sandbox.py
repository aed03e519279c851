"""``lmlib grade`` end to end: real worker processes, fixture notebooks, hostile submissions."""

import base64
import json
import os
import runpy
import time
from pathlib import Path

import nbformat
import pytest

from lmlib.grading import isolation
from lmlib.grading.grade import exit_status
from lmlib.grading.judge import grade_many
from lmlib.grading.sandbox import Limits, Sandbox
from lmlib.grading.student import student_notebook
from lmlib.tools.cli import main

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = runpy.run_path(str(Path(__file__).parent / "fixtures" / "lab_notebooks.py"))
LABS = sorted(FIXTURES["EXERCISES"])
LAB2 = "3_1_multihead_attention"
LAYOUTS = FIXTURES["LAYOUTS"]
REAL = sorted((ROOT / "labs" / "solutions").glob("*.ipynb"))


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(Limits(timeout=6.0, memory_mb=2048), isolate=False) as sb:
        yield sb


def solution(lab):
    return json.loads(nbformat.writes(FIXTURES["solution_notebook"](lab)))


def with_cell(nb, exercise, code):
    """A copy of nb whose exercise cell is replaced by code."""
    nb = json.loads(json.dumps(nb))
    for cell in nb["cells"]:
        if cell["cell_type"] == "code" and "".join(cell["source"]).startswith(
            f"# EXERCISE: {exercise}\n"
        ):
            cell["source"] = code
            return nb
    raise KeyError(exercise)


@pytest.mark.parametrize("lab", LABS)
def test_solution_full_marks_student_zero(sandbox, lab):
    nb = solution(lab)
    started = time.monotonic()
    full, zero = grade_many(
        [(nb, f"{lab}.ipynb", None), (student_notebook(nb, "https://x", lab), lab, None)], sandbox
    )
    assert [v.status for v in full.verdicts] == ["passed"] * len(full.verdicts), full.verdicts
    assert full.points == full.max_points == len(FIXTURES["EXERCISES"][lab])
    assert {v.status for v in zero.verdicts} == {"not_implemented"} and zero.points == 0
    assert time.monotonic() - started < 15


HEADER = "# EXERCISE: causal_mask\nimport torch, os, sys\n"
RIGHT = "    return torch.ones(T, T, dtype=torch.bool).tril()\n"
HOSTILE = {  # causal_mask cell -> (status, points, words in the message)
    "raises": (
        HEADER + "def causal_mask(T):\n    raise ValueError('oops')\n",
        "error",
        0,
        "ValueError: oops",
    ),
    "hangs": (
        HEADER + "def causal_mask(T):\n    while True:\n        pass\n",
        "timeout",
        0,
        "timed out",
    ),
    "eats_memory": (
        HEADER + "def causal_mask(T):\n    hog = [torch.empty(1 << 28) for _ in range(100)]\n",
        "error",
        0,
        "allocate",
    ),
    "huge_list": (
        HEADER + "def causal_mask(T):\n    return [0] * 10**11\n",
        "error",
        0,
        "MemoryError",
    ),
    "prints_megabytes": (
        HEADER
        + "def causal_mask(T):\n    print('x' * 10**7)\n    sys.stderr.write('y' * 10**7)\n"
        + RIGHT,
        "passed",
        1,
        "",
    ),
    "os_exit": (HEADER + "def causal_mask(T):\n    os._exit(0)\n", "error", 0, "os._exit"),
    "sys_exit": (HEADER + "def causal_mask(T):\n    sys.exit(0)\n", "error", 0, "SystemExit"),
    "syntax_error": (
        HEADER + "def causal_mask(T)\n    return 1\n",
        "error",
        0,
        "syntax error in the causal_mask cell, line 3",
    ),
    "float64_default": (
        HEADER + "def causal_mask(T):\n    torch.set_default_dtype(torch.float64)\n" + RIGHT,
        "passed",
        1,
        "",
    ),
    "seed_games": (
        HEADER + "def causal_mask(T):\n    torch.manual_seed(0)\n    return torch.rand(T, T) < 2\n",
        "failed",
        0,
        "values differ",
    ),
    "patches_comparisons": (
        HEADER + "torch.allclose = lambda *a, **k: True\ntorch.equal = torch.allclose\n"
        "torch.Tensor.__eq__ = lambda *a: torch.tensor(True)\n"
        "def causal_mask(T):\n    return torch.zeros(T, T, dtype=torch.bool)\n",
        "failed",
        0,
        "values differ",
    ),
    "patches_but_right": (
        HEADER + "torch.Tensor.__eq__ = lambda *a: True\ntorch.isclose = None\n"
        "def causal_mask(T):\n" + RIGHT,
        "passed",
        1,
        "",
    ),
    "imports_lmlib": (
        HEADER + "from lmlib.models.attention import causal_mask\n",
        "error",
        0,
        "lmlib is not available",
    ),
    "forges_result": (
        HEADER + "def causal_mask(T):\n    import pickle\n"
        "    open('../result.pt', 'wb').write(pickle.dumps({'defined': True, 'cases': []}))\n"
        "    os._exit(0)\n",
        "error",
        0,
        "result",
    ),
    "kills_its_parent": (
        HEADER
        + "def causal_mask(T):\n    import signal\n    os.kill(os.getppid(), signal.SIGKILL)\n"
        "    while True:\n        pass\n",
        "error",
        0,
        "killed",
    ),
    "no_definition": (HEADER + "causal = 1\n", "error", 0, "no `causal_mask` is defined"),
}


@pytest.mark.slow  # sixteen hostile programs, each run to its limit
def test_hostile_submissions_only_lose_their_own_exercise(sandbox):
    base = solution(LAB2)
    notebooks = [
        (with_cell(base, "causal_mask", cell), name, None) for name, (cell, *_) in HOSTILE.items()
    ]
    started = time.monotonic()
    reports = grade_many(notebooks, sandbox, source_rules=False)  # what the sandbox alone does
    assert time.monotonic() - started < 60
    for (name, (_, status, points, words)), report in zip(HOSTILE.items(), reports, strict=True):
        verdicts = {v.name: v for v in report.verdicts}
        v = verdicts.pop("causal_mask")
        assert (v.status, v.points) == (status, points), (name, v)
        assert words in v.message, (name, v.message)
        others = [
            o for o in verdicts.values() if o.name != "MultiHeadAttention"
        ]  # it uses causal_mask
        assert all(o.status == "passed" for o in others), (name, others)


@pytest.mark.slow  # spawns fresh interpreters
def test_spawned_workers_kill_the_whole_process_group(tmp_path):
    """The one-interpreter-per-exercise path: limits via preexec_fn, timeout kills grandchildren."""
    pidfile = tmp_path / "sleeper.pid"
    hang = (
        HEADER + "import subprocess\ndef causal_mask(T):\n"
        "    p = subprocess.Popen(['sleep', '300'])\n"
        f"    open({str(pidfile)!r}, 'w').write(str(p.pid))\n"
        "    while True:\n        pass\n"
    )
    memory = (
        "# EXERCISE: split_heads\ndef split_heads(x, n_heads):\n    return bytearray(1 << 32)\n"
    )
    nb = with_cell(with_cell(solution(LAB2), "causal_mask", hang), "split_heads", memory)
    with Sandbox(Limits(timeout=10.0, memory_mb=2048), fork=False, isolate=False) as sb:
        only = ["split_heads", "causal_mask"]  # the rules would refuse subprocess: no rules here
        (report,) = grade_many([(nb, "hostile.ipynb", only)], sb, None, source_rules=False)
    status = {v.name: (v.status, v.message) for v in report.verdicts}
    assert status["split_heads"][0] == "error" and "MemoryError" in status["split_heads"][1]
    assert status["causal_mask"][0] == "timeout"
    sleeper = int(pidfile.read_text())
    time.sleep(0.2)
    assert (
        not os.path.exists(f"/proc/{sleeper}")
        or "Z" in Path(f"/proc/{sleeper}/stat").read_text().split()[2]
    )


def test_cli_outputs_and_exit_codes(tmp_path, monkeypatch, capsys):
    nb = solution(LAB2)
    for name in ("attention", "MultiHeadAttention", "merge_heads"):  # 2 of 5: below the pass mark
        nb = with_cell(nb, name, f"# EXERCISE: {name}\nraise RuntimeError('nope')\n")
    path = tmp_path / "my_lab.ipynb"  # the lab comes from the metadata, not the name
    path.write_text(json.dumps(nb))
    summary, output = tmp_path / "summary.md", tmp_path / "output.txt"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.setenv("GITHUB_OUTPUT", str(output))
    rc = main(
        [
            "grade",
            str(path),
            "--json",
            str(tmp_path / "grade.json"),
            "--classroom",
            str(tmp_path / "c.b64"),
        ]
    )
    assert rc == 1
    grade = json.loads((tmp_path / "grade.json").read_text())
    assert grade["lab"] == LAB2 and (grade["points"], grade["max_points"]) == (2, 5)
    assert all(
        len(e["submission_sha256"]) == 64 and len(e["checks_sha256"]) == 64
        for e in grade["exercises"]
    )
    result = json.loads(base64.b64decode((tmp_path / "c.b64").read_text()))
    assert result["status"] == "fail" and result["max_score"] == 5 and len(result["tests"]) == 5
    assert (
        output.read_text().startswith("result=") and "| split_heads | PASS |" in summary.read_text()
    )
    assert "total" in capsys.readouterr().out

    assert (exit_status(2, 5, 0.4), exit_status(2, 5, 0.5), exit_status(0, 5, 0.0)) == (0, 1, 0)
    (tmp_path / "broken.ipynb").write_text("{not json")
    assert main(["grade", str(tmp_path / "broken.ipynb")]) == 2
    nb["metadata"]["lmlib"]["lab"] = "99_unknown"
    path.write_text(json.dumps(nb))
    assert main(["grade", str(path)]) == 2


def test_helpers_and_constants_of_earlier_cells_reach_the_grader(sandbox):
    nb = solution(LAB2)
    setup = {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None}
    nb["cells"].insert(
        1,
        dict(setup, source="AXIS = 1\ndef heads_first(x):\n    return x.transpose(AXIS, 2)\n"),
    )
    nb["cells"].insert(2, dict(setup, source="import lmlib\nOFFSET = lmlib.no_such_helper()\n"))
    nb = with_cell(
        nb,
        "split_heads",
        "# EXERCISE: split_heads\nimport torch\ndef split_heads(x, n_heads):\n"
        "    B, T, D = x.shape\n"
        "    return heads_first(x.reshape(B, T, n_heads, D // n_heads))\n",
    )
    nb = with_cell(
        nb,
        "merge_heads",
        "# EXERCISE: merge_heads\ndef merge_heads(x):\n    return x + OFFSET\n",
    )
    (report,) = grade_many([(nb, "layout", ["split_heads", "merge_heads"])], sandbox)
    split, merge = report.verdicts
    assert split.status == "passed", split
    assert merge.points == 0 and "`OFFSET` is set in cell 3 (line 2) with lmlib" in merge.message


def test_layouts_grade_as_in_jupyter_or_name_the_missing_name_and_its_cell(sandbox, tmp_path):
    """Every layout in LAYOUTS is right in Jupyter. Where the grader sees the names it gives full
    marks; elsewhere zero, with a reason that names the name and its cell in the words check's
    warning uses on the same saved notebook."""
    names = sorted(LAYOUTS)
    books = {name: FIXTURES["layout_notebook"](name) for name in names}
    batch = [(json.loads(nbformat.writes(books[n])), n, [LAYOUTS[n][0]]) for n in names]
    for name, report in zip(names, grade_many(batch, sandbox), strict=True):
        exercise, seen, words = LAYOUTS[name]
        (v,) = report.verdicts
        if seen:
            assert v.status == "passed", (name, v)
            continue
        assert v.points == 0 and all(w in v.message for w in words), (name, v.message)
        path = tmp_path / f"{name}.ipynb"
        path.write_text(nbformat.writes(books[name]))
        ns, _ = FIXTURES["run_in_kernel"](books[name], session=str(path))
        printed = FIXTURES["run_cell"](ns, f"check({exercise})")
        warning = printed.split("warning, lmlib grade differs: ", 1)[1].strip()
        assert warning in v.message, (name, warning, v.message)


@pytest.mark.parametrize(
    "options, words",
    [
        (["--only", "typo"], "--only typo: no such exercise; this lab has split_heads"),
        (["--timeout", "0"], "--timeout 0.0 is out of range"),
        (["--timeout", "1e9"], "--timeout"),
        (["--memory-mb", "-1"], "--memory-mb -1 is out of range"),
        (["--memory-mb", "10"], "--memory-mb 10 is out of range"),
        (["--pass-mark", "1.5"], "--pass-mark must be between 0 and 1"),
        (["--jobs", "0"], "--jobs"),
    ],
)
def test_cli_refuses_bad_options_with_exit_2(tmp_path, capsys, options, words):
    path = tmp_path / "lab.ipynb"
    path.write_text(json.dumps(solution(LAB2)))
    assert main(["grade", str(path), "--json", str(tmp_path / "g.json"), *options]) == 2
    assert words in capsys.readouterr().err
    recorded = json.loads((tmp_path / "g.json").read_text())  # says why nothing was graded
    assert recorded["graded"] is False and words in recorded["error"] and not recorded["exercises"]


@pytest.mark.parametrize("metadata", [[], "lab", 3])
def test_malformed_metadata_exits_2_with_a_message(tmp_path, capsys, metadata):
    nb = solution(LAB2)
    nb["metadata"] = metadata
    path = tmp_path / "lab.ipynb"
    path.write_text(json.dumps(nb))
    assert main(["grade", str(path)]) == 2
    assert "metadata" in capsys.readouterr().err


@pytest.mark.skipif(not REAL, reason="no labs/solutions/*.ipynb yet")
@pytest.mark.parametrize("path", REAL, ids=[p.stem for p in REAL])
def test_real_lab_solution_full_marks_student_zero(sandbox, path):
    from lmlib.grading import notebook

    nb = notebook.read(path)
    full, zero = grade_many(
        [(nb, str(path), None), (student_notebook(nb, "https://x", path.stem), path.stem, None)],
        sandbox,
    )
    assert full.points == full.max_points, [v for v in full.verdicts if v.status != "passed"]
    assert zero.points == 0, [v for v in zero.verdicts if v.status == "passed"]


def test_a_memory_cgroup_kills_a_job_over_its_memory():
    """The memory cgroup each isolated pool runs in: 400 MB written in a group of 128 MB is
    killed by the kernel; 16 MB is not."""
    import subprocess
    import sys

    from lmlib.grading.cgroup import MemoryCgroup

    def run(mb: int) -> int:
        group = MemoryCgroup.create(128 << 20)
        if group is None:
            pytest.skip("no writable memory cgroup here")
        try:
            fill = f"x = b'x' * ({mb} << 20)"
            return subprocess.run(
                [sys.executable, "-S", "-c", fill], preexec_fn=group.enter, timeout=120
            ).returncode
        finally:
            assert group.close()

    assert run(16) == 0
    assert run(400) == -9


def _sees_module(name: str, warm: list[str]) -> dict:
    """A request whose answer reports whether `name` was imported before it ran."""
    source = f"import sys\ndef f():\n    return {name!r} in sys.modules\n"
    return {
        "exercise": "f",
        "module": False,
        "statements": [{"source": source, "line": 1, "cell": "f", "own": True}],
        "forbidden": {},
        "forbidden_ops": {},
        "cases": [{"args": []}],
        "warm": warm,
    }


@pytest.mark.parametrize(
    "fork, isolate",
    [(True, False), (False, False), (True, True)],
    ids=["forked", "spawned", "pool"],
)
def test_an_exercise_warms_the_modules_its_spec_names_before_it_runs(fork, isolate):
    """Lab 3.4's training loop names torch._dynamo, which the first optimizer imports for
    seconds; the worker imports a spec's `warm` modules before the answer's clock starts."""
    requests = [_sees_module("colorsys", ["colorsys"]), _sees_module("wave", [])]
    if isolate and not isolation.probe().tamper_proof:
        pytest.skip("the pool path needs bubblewrap")
    with Sandbox(Limits(timeout=6.0, memory_mb=2048), fork=fork, isolate=isolate) as sb:
        warmed, cold = sb.run(requests)
    assert [c["value"] for c in warmed.result["cases"]] == [True], warmed
    assert [c["value"] for c in cold.result["cases"]] == [False], cold


def test_the_training_loop_exercise_warms_torch_dynamo():
    from lmlib.grading.labs import get_lab

    assert get_lab("3_4_your_gpt")["train_gpt"].warm == ("torch._dynamo",)
