"""Grading in-process: comparisons, the spec format, notebook parsing, ``check``, reports."""

import base64
import json
import runpy
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch
from torch import nn

from lmlib.grading import Case, Exercise, answers, check, checker, layout, run_check
from lmlib.grading import notebook as nbio
from lmlib.grading.judge import ExerciseScore, Report, assess, prepare
from lmlib.grading.report import classroom, markdown, table
from lmlib.grading.spec import compare

FIXTURES = runpy.run_path(str(Path(__file__).parent / "fixtures" / "lab_notebooks.py"))
LAB2 = "3_1_multihead_attention"


class Rigged(torch.Tensor):
    def __eq__(self, other):
        return True


def test_compare_accepts_only_exact_tensors_of_the_right_shape_kind_and_values():
    e = torch.arange(6.0).reshape(2, 3)
    assert compare(e, e.clone()) is None
    assert "dtype torch.float32" in compare(e, e.double())  # the reference's dtype exactly
    assert "dtype torch.int64" in compare(e.long(), e.int())  # int32 indices are another answer
    assert "subclass" in compare(e, e.clone().as_subclass(Rigged))
    assert "numpy.ndarray" in compare(e, e.numpy())
    assert "list" in compare(e, e.tolist())
    assert "shape (2, 3)" in compare(e, e.T)
    assert "float tensor" in compare(e, e.long())
    msg = compare(e, e + torch.tensor([[0, 0, 0], [0, 1.0, 0]]))
    assert "1 of 6" in msg and "(1, 1)" in msg and "expected 4" in msg and "got 5" in msg
    assert compare(torch.tensor([float("nan")]), torch.tensor([float("nan")])) is not None


def test_compare_scalars_and_tuples():
    assert compare((torch.ones(2), 3.0), [torch.ones(2), 3.0000001]) is None
    assert "at [1]" in compare((torch.ones(2), 3.0), (torch.ones(2), 4.0))
    assert "2 items" in compare((1, 2), (1,))
    assert "number" in compare(1.0, "1.0")
    assert compare(True, 1) is not None  # a bool answer must be a bool
    assert compare(None, None) is None


def test_spec_format_supports_tuple_scalar_and_module_exercises():
    """What the next labs need: a tuple of tensors, a Python scalar, a module built with args."""

    def cases(rng):
        return [Case((torch.randn(3, 4, generator=rng),))]

    stats = Exercise("stats", cases, lambda x: (x.sum(0), float(x.abs().max())))
    prepared = prepare(stats, torch.Generator().manual_seed(0))
    good = answers.run_cases(
        lambda x: (x.sum(0), x.abs().max().item()), [p.payload for p in prepared], False
    )
    bad = answers.run_cases(lambda x: (x.sum(1), 0.0), [p.payload for p in prepared], False)
    assert assess(stats, prepared, {"defined": True, "cases": good})[0] == "passed"
    status, msg = assess(stats, prepared, {"defined": True, "cases": bad})
    assert status == "failed" and "[0]" in msg

    def layer_cases(rng):
        return [Case((torch.randn(2, 5, generator=rng),), init=(5, 3))]

    layer = Exercise("Layer", layer_cases, nn.Linear, module=True)
    prepared = prepare(layer, torch.Generator().manual_seed(1))
    got = answers.run_cases(nn.Linear, [p.payload for p in prepared], True)
    assert assess(layer, prepared, {"defined": True, "cases": got}) == (
        "passed",
        "all 2 cases match",  # the case and its twin (same shapes, new values)
    )


def test_parse_cell_keeps_imports_defs_classes_and_own_assignments():
    code = "%matplotlib inline\nimport torch\nX = 3\nprint('hi')\n"
    code += "torch.set_default_dtype(torch.float64)\n"
    code += "@staticmethod\ndef f(x):\n    return x + X\nclass C:\n    pass\na = 1; b = 2\n"
    cell = nbio.parse_cell(code, "f")
    kinds = [s.source.split("\n")[0] for s in cell.statements]
    assert kinds == ["import torch", "X = 3", "@staticmethod", "class C:", "a = 1", "b = 2"]
    assert cell.statements[2].line == 6  # line numbers kept for tracebacks
    plain = [s.source.split("\n")[0] for s in nbio.parse_cell(code, "").statements]
    assert plain == kinds  # a plain cell keeps the same; program_for chooses what runs
    bad = nbio.parse_cell("def f(:\n", "f")
    assert (
        bad.statements == () and "syntax error" in bad.syntax_error and "line 1" in bad.syntax_error
    )


def test_program_takes_assignments_only_from_the_exercise_own_cell():
    cells = [
        nbio.parse_cell("import math\nimport matplotlib.pyplot as plt\nY = 1", ""),
        nbio.parse_cell("# EXERCISE: a\nA = 1\ndef a(): return math.pi", "a"),
        nbio.parse_cell("# EXERCISE: b\nB = 2\ndef b(): pass", "b"),
    ]
    program = [s.source for s in nbio.program_for(cells, "b")]
    # setup imports only when an exercise uses the name; assignments only from b's own cell
    assert program == ["import math", "def a(): return math.pi", "B = 2", "def b(): pass"]


def test_program_brings_earlier_helpers_and_constants_in_notebook_order():
    cells = [
        nbio.parse_cell(
            "import torch\nD = 4\nmodel = train()\ndef helper(a):\n    return a * S\nS = 2", "", 1
        ),
        nbio.parse_cell("# EXERCISE: f\nWIDTH = 3\ndef f(x):\n    return helper(x) + D", "f", 2),
        nbio.parse_cell("# EXERCISE: g\ndef g(x):\n    model = 1\n    return x * WIDTH", "g", 3),
        nbio.parse_cell("LATE = 1\ndef late():\n    pass", "", 4),
    ]
    program = [s.source.split("\n")[0] for s in nbio.program_for(cells, "g")]
    # `model` is g's own local: the training run that binds it at top level is not needed
    assert program == ["D = 4", "def helper(a):", "S = 2", "WIDTH = 3", "def f(x):", "def g(x):"]
    # f's own cell runs whole; nothing of the cell after it (LATE, late) is needed
    assert [s.source.split("\n")[0] for s in nbio.program_for(cells, "f")] == program


def test_a_missing_name_is_explained_with_where_it_is_defined():
    cells = [
        nbio.parse_cell("import lmlib\nTABLE = lmlib.make_table()", "", 3),
        nbio.parse_cell("# EXERCISE: f\ndef f(x):\n    return TABLE[x] + LATE + NOPE", "f", 5),
        nbio.parse_cell("LATE = 1", "", 7),
    ]
    msg = layout.explain("raised NameError: name 'TABLE' is not defined", cells, "f")
    assert msg.startswith(". `TABLE` is set in cell 3 (line 2) with lmlib")
    assert "`LATE` is set in cell 7 (line 1), after this exercise's cell (cell 5)" in msg
    msg = layout.explain("raised NameError: name 'NOPE' is not defined", cells, "f")
    assert msg.startswith(". `NOPE` is not set at the top level of any cell")
    assert layout.explain("raised ValueError: x", cells, "f").startswith(". `LATE`")


def test_augmented_assignments_reach_the_grader_and_annotations_stay_unevaluated():
    cells = [
        nbio.parse_cell(
            "import lmlib\nN = 1\nN += 1\ndef helper(m: lmlib.Model) -> int:\n    return N", "", 1
        ),
        nbio.parse_cell("# EXERCISE: f\ndef f():\n    return helper(None)", "f", 2),
    ]
    program = [s.source.split("\n")[0] for s in nbio.program_for(cells, "f")]
    assert program == [
        "import lmlib",
        "N = 1",
        "N += 1",
        "def helper(m: lmlib.Model) -> int:",
        "def f():",
    ]
    assert layout.problems(cells, "f") == {}  # the annotation needs no lmlib in the grader


def run_check_cell(ns: dict, exercise: str) -> str:
    return FIXTURES["run_cell"](ns, f"check({exercise})")


@pytest.mark.parametrize("name", sorted(FIXTURES["LAYOUTS"]))
def test_check_warns_where_lmlib_grade_would_not_see_a_name(name, tmp_path):
    """In a kernel (cells run top to bottom, then the check once more, as after running a later
    cell) check passes every layout; where the grader would lack a name or see another value it
    warns, naming the name and the cell, from the kernel's ``In`` or from the saved notebook."""
    exercise, seen, words = FIXTURES["LAYOUTS"][name]
    nb = FIXTURES["layout_notebook"](name)
    ns, printed = FIXTURES["run_in_kernel"](nb)
    again = run_check_cell(ns, exercise)
    assert again.startswith(f"{exercise}: passed"), again
    if seen:
        assert "warning" not in "".join(printed) + again
        return
    assert "warning, lmlib grade differs: " in again and all(w in again for w in words), again
    assert " In [" in again  # the kernel's numbering: no notebook file is known
    path = tmp_path / "lab.ipynb"
    path.write_text(nbformat.writes(nb))
    ns, printed = FIXTURES["run_in_kernel"](nb, session=str(path))
    again = run_check_cell(ns, exercise)
    assert all(w in again for w in words) and " In [" not in again and " cell " in again, again


def test_check_says_when_the_saved_notebook_has_no_cell_for_the_exercise(tmp_path):
    nb = FIXTURES["solution_notebook"](LAB2)
    for cell in nb.cells:
        cell.source = cell.source.replace("# EXERCISE: split_heads\n", "# split_heads\n")
    path = tmp_path / "lab.ipynb"
    path.write_text(nbformat.writes(nb))
    ns, printed = FIXTURES["run_in_kernel"](nb, session=str(path))
    out = run_check_cell(ns, "split_heads")
    assert out.startswith("split_heads: passed")
    assert (
        "no code cell of the saved notebook lab.ipynb starts with `# EXERCISE: split_heads`" in out
    )


def test_check_prints_no_warning_without_a_notebook_or_kernel_history(capsys):
    scope: dict = {}
    exec(
        "def causal_mask(T):\n    return torch.ones(T, T, dtype=torch.bool).tril()",
        {"torch": torch},
        scope,
    )
    check(scope["causal_mask"], LAB2)
    assert capsys.readouterr().out == "causal_mask: passed (all 5 cases match)\n"


def test_check_on_the_fixture_solutions_passes(capsys):
    namespace = {}
    for code in FIXTURES["EXERCISES"][LAB2].values():
        exec(FIXTURES["IMPORTS"].format(lab=LAB2) + code, namespace)
    for name in FIXTURES["EXERCISES"][LAB2]:
        assert run_check(namespace[name], LAB2).passed, name
    namespace["check"](namespace["split_heads"])
    assert "split_heads: passed" in capsys.readouterr().out


def test_check_never_raises_and_says_why(capsys):
    chk = checker(LAB2)

    def split_heads(x, n_heads):
        raise NotImplementedError("exercise split_heads")

    def causal_mask(T):
        raise SystemExit(3)

    chk(split_heads)
    chk(causal_mask)
    chk(lambda T: torch.ones(T, T).tril(), name="causal_mask")
    chk(lambda *a: 1 / 0, name="no_such_exercise")
    check(split_heads, lab="99_no_such_lab")
    out = capsys.readouterr().out.splitlines()
    assert (
        out[0] == "split_heads: not implemented yet (replace the `raise NotImplementedError` with "
        "your code)"
    )
    assert "ERROR" in out[1] and "SystemExit" in out[1]
    assert "FAILED" in out[2] and "expected a bool tensor" in out[2]
    assert "no exercise 'no_such_exercise'" in out[3]
    assert "unknown lab" in out[4]


def test_check_forbids_shortcuts_then_restores_torch():
    sdpa = torch.nn.functional.scaled_dot_product_attention

    def attention(q, k, v, mask):
        torch.set_default_dtype(torch.float64)
        torch.manual_seed(123)
        return torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask)

    rng_before = torch.get_rng_state()
    verdict = run_check(attention, LAB2)
    assert verdict.status == "error" and "not allowed" in verdict.message
    assert torch.nn.functional.scaled_dot_product_attention is sdpa
    assert torch.get_default_dtype() == torch.float32
    assert torch.equal(torch.get_rng_state(), rng_before)


def test_check_rejects_type_cheats():
    def split_heads(x, n_heads):
        return x.reshape(x.shape[0], x.shape[1], n_heads, -1).transpose(1, 2).as_subclass(Rigged)

    assert "subclass" in run_check(split_heads, LAB2).message
    assert (
        "numpy" in run_check(lambda T: np.tril(np.ones((T, T), bool)), LAB2, "causal_mask").message
    )


def _report():
    r = Report("labs/02.ipynb", LAB2, seed=1)
    r.verdicts = [
        ExerciseScore("split_heads", "passed", 1, 1, "all 3 cases match"),
        ExerciseScore("attention", "failed", 0, 1, "case 1 | <b>bad</b> `x`"),
    ]
    return r


def test_reports():
    r = _report()
    result = classroom(r, pass_mark=0.5)
    assert result["status"] == "pass" and result["max_score"] == 2
    assert [t["status"] for t in result["tests"]] == ["pass", "fail"]
    assert [t["score"] for t in result["tests"]] == [1, 0]
    json.loads(base64.b64decode(base64.b64encode(json.dumps(result).encode())))
    md = markdown(r)
    assert "\\|" in md and "<b>" not in md and "1 / 2 points" in md
    assert "total" in table(r) and "FAIL" in table(r)


def test_lab_registry_is_consistent():
    from lmlib.grading.labs import get_lab, lab_ids

    assert lab_ids() == sorted(FIXTURES["EXERCISES"])
    for lab in lab_ids():
        assert list(get_lab(lab)) == list(FIXTURES["EXERCISES"][lab])
    with pytest.raises(ValueError, match="known labs"):
        get_lab("nope")


def test_one_pass_mark_for_the_exit_status_and_the_classroom_json():
    from lmlib.grading.grade import exit_status
    from lmlib.grading.spec import passes

    r = Report("nb.ipynb", "lab", 0, [ExerciseScore("e", "passed", 14, 25, "")])
    assert 0.56 * 25 > 14  # floating point: the naive comparison would fail 14 points
    assert passes(14, 25, 0.56) and r.passes(0.56)
    assert exit_status(14, 25, 0.56) == 0 and classroom(r, pass_mark=0.56)["status"] == "pass"
    assert exit_status(13.9, 25, 0.56) == 1 and classroom(r, pass_mark=0.57)["status"] == "fail"


def test_gradient_checks_catch_a_right_value_with_a_wrong_gradient():
    """Exercise.grads: a backward pass through the answer is compared with the reference's."""

    def attached(student_logits, teacher_logits, temperature):  # the teacher is not detached
        p_t = (teacher_logits / temperature).softmax(dim=-1)
        logp_s = (student_logits / temperature).log_softmax(dim=-1)
        return -(p_t * logp_s).sum(dim=-1).mean() * temperature**2

    def detached(student_logits, teacher_logits, temperature):
        return attached(student_logits, teacher_logits.detach(), temperature)

    def floated(student_logits, teacher_logits, temperature):  # the graph is lost
        return torch.tensor(detached(student_logits, teacher_logits, temperature).item())

    lab = "4_3_distillation"
    assert run_check(detached, lab, "soft_cross_entropy", seed=0).passed
    v = run_check(attached, lab, "soft_cross_entropy", seed=0)
    assert v.status == "failed" and "gradient with respect to teacher_logits" in v.message
    assert "detach it" in v.message
    v = run_check(floated, lab, "soft_cross_entropy", seed=0)
    assert v.status == "failed" and "gradient with respect to student_logits" in v.message


def test_gradient_tolerance_follows_the_gradients_largest_entry():
    """A float32 backward pass rounds an entry near zero by about 1e-7 of the largest entries:
    that passes; a gradient off by a thousandth of its scale, or one wrong sign, does not."""
    from lmlib.grading.verdict import Prepared, _grad_problem

    ex = Exercise("f", cases=lambda rng: [], reference=lambda x: x)
    expected = torch.tensor([40.0, -25.0, 3e-6, 0.5])
    p = Prepared(Case((torch.ones(4),)), None, {"grads": [0]}, [expected])
    rounded = expected + torch.tensor([0.0, 0.0, 2e-5 * 40, 0.0])  # near-zero entry, 2e-5 of max
    assert _grad_problem(p, [rounded], ("x",), ex) is None
    off = expected + torch.tensor([0.0, 0.0, 1e-3 * 40, 0.0])
    assert "gradient with respect to x is wrong" in _grad_problem(p, [off], ("x",), ex)
    assert _grad_problem(p, [expected * torch.tensor([1.0, 1.0, 1.0, -1.0])], ("x",), ex)
    small = torch.tensor([1e-3, -2e-3])  # below 1: the absolute tolerance stays 1e-4
    q = Prepared(Case((torch.ones(2),)), None, {"grads": [0]}, [small])
    assert _grad_problem(q, [small + 5e-5], ("x",), ex) is None
    assert _grad_problem(q, [small + 5e-4], ("x",), ex)


def test_checks_fingerprint_covers_the_grader_and_every_reference_it_uses():
    from lmlib.grading.labs import checked_sources

    root = Path(__file__).resolve().parents[1] / "lmlib"
    files = {p.relative_to(root).as_posix() for p in checked_sources("2_2_three_ways_to_read")}
    assert {"models/cnn.py", "models/rnn.py", "grading/judge.py", "grading/spec.py"} <= files
    assert {"grading/worker.py", "grading/labs/lab2_2.py", "grading/sandbox.py"} <= files
    assert "models/attention.py" not in files  # lab 2.2 does not use it


def test_instructors_page_quotes_the_measured_grading_times():
    """The grading times on the instructors' page are those of results/grading/times.json
    (``python -m lmlib.grading.timing``), each in its sentence, within 1% (they are rounded)."""
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from claims import find_claim

    root = Path(__file__).resolve().parents[1]
    record = json.loads((root / "results" / "grading" / "times.json").read_text())
    page = (root / "book" / "instructors.md").read_text()
    summary = record["summary"]
    claims = {
        "median_cpu_s_per_notebook": ("median", "CPU seconds"),
        "max_cpu_s_per_notebook": ("at most", "for a lab"),
        "max_wall_s_per_notebook": ("wall time",),
        "median_cpu_ratio_per_exercise_to_per_notebook": ("one interpreter per exercise",),
    }
    for key, words in claims.items():
        value = summary[key]
        assert find_claim(page, f"{value:g}", words), (key, value)
    for lab in record["labs"]:  # the summary is of these runs, every solution at full marks
        for mode in ("per_notebook", "per_exercise"):
            assert lab[mode]["points"] == lab[mode]["max_points"], lab
    ratios = sorted(r["per_exercise"]["cpu_s"] / r["per_notebook"]["cpu_s"] for r in record["labs"])
    median = (ratios[(len(ratios) - 1) // 2] + ratios[len(ratios) // 2]) / 2
    assert abs(median - summary["median_cpu_ratio_per_exercise_to_per_notebook"]) <= 0.01 * median


def _linear_exercise(**kw) -> Exercise:
    def cases(rng):
        return [Case((torch.randn(2, 3, generator=rng), torch.randn(3, generator=rng)))]

    return Exercise("shift", cases, lambda x, b: x + b, **kw)


def _verdict(ex: Exercise, fn, seed: int = 0) -> tuple[str, str]:
    prepared = prepare(ex, torch.Generator().manual_seed(seed))
    got = answers.run_cases(fn, [p.payload for p in prepared], ex.module)
    return assess(ex, prepared, {"defined": True, "cases": got})


def test_each_case_has_a_twin_with_the_same_shapes_and_new_values():
    ex = _linear_exercise()
    first, twin = prepare(ex, torch.Generator().manual_seed(0))
    assert not first.again and twin.again
    for a, b in zip(first.case.args, twin.case.args, strict=True):
        assert a.shape == b.shape and not torch.equal(a, b)
    seen = {}

    def cached(x, b):  # right on a first call, stale on the second of a shape
        return seen.setdefault(x.shape, x + b)

    status, message = _verdict(ex, cached)
    assert status == "failed" and "case 2 of 2 (the shapes of case 1 with new values" in message


def test_an_answer_that_writes_into_its_inputs_fails_naming_the_argument():
    def shift_in_place(x, b):
        with torch.no_grad():
            return x.add_(b).clone().requires_grad_()

    status, message = _verdict(_linear_exercise(), shift_in_place)
    assert status == "failed" and "changed its argument b" not in message
    assert "changed its argument x in place" in message


def test_gradients_are_checked_wherever_the_reference_has_them_and_dtypes_exactly():
    ex = _linear_exercise()
    assert _verdict(ex, lambda x, b: x + b)[0] == "passed"
    status, message = _verdict(ex, lambda x, b: (x + b).detach())
    assert status == "failed" and "gradient with respect to x" in message
    status, message = _verdict(ex, lambda x, b: (x + b).double())
    assert status == "failed" and "dtype torch.float32" in message
    status, message = _verdict(ex, lambda x, b: x + b.detach())  # right value, no gradient to b
    assert status == "failed" and "gradient with respect to b" in message


def test_an_exercise_that_samples_must_not_touch_the_global_generator():
    def reseeds(x, b):
        torch.manual_seed(1234)
        return x + b

    assert _verdict(_linear_exercise(), reseeds)[0] == "passed"  # only sampling is judged
    status, message = _verdict(_linear_exercise(samples=True), reseeds)
    assert status == "failed" and "global random generator" in message


def test_numpy_scalars_count_as_python_numbers_and_arrays_do_not():
    assert answers.plain(np.float64(0.25)) == 0.25 and type(answers.plain(np.float64(1))) is float
    assert type(answers.plain(np.int64(3))) is int and answers.plain(np.bool_(True)) is True
    assert answers.plain(np.ones(2)) == {answers.UNSUPPORTED: "numpy.ndarray"}
    assert compare(3, answers.plain(np.int64(3))) is None
    assert "Python int" in compare(3, 3.0)


def test_a_forbidden_class_is_refused_under_every_alias_and_subclass_then_restored():
    conv, lazy = torch.nn.Conv1d, torch.nn.LazyConv1d
    refusals = answers.forbid({"torch.nn.Conv1d": "write it yourself"})
    try:
        for route in (torch.nn.modules.Conv1d, torch.nn.modules.conv.Conv1d, torch.nn.LazyConv1d):
            with pytest.raises(answers.NotAllowed, match="write it yourself"):
                route(2, 3, 1)
        assert refusals.tampered() == ""
        torch.nn.modules.Conv1d = conv  # putting one back is seen
        assert "Conv1d" in refusals.tampered()
    finally:
        refusals.undo()
    assert torch.nn.modules.Conv1d is conv and torch.nn.LazyConv1d is lazy


def test_a_forbidden_op_is_refused_in_torchs_python_decompositions_too():
    import torch._decomp
    import torch._decomp.decompositions as decomps

    op = torch.ops.aten.nll_loss_forward.default
    original = torch._decomp.decomposition_table[op]
    logp, target = torch.randn(4, 3).log_softmax(-1), torch.tensor([0, 2, 1, 0])
    refusals = answers.forbid({}, {"nll_loss_forward": "no shortcut"})
    try:
        with pytest.raises(answers.NotAllowed, match="no shortcut"):
            decomps.nll_loss_forward(logp, target, None, 1, -100)
        with pytest.raises(answers.NotAllowed, match="no shortcut"):
            torch._decomp.decomposition_table[op](logp, target, None, 1, -100)
    finally:
        refusals.undo()
    assert torch._decomp.decomposition_table[op] is original
    assert torch.isclose(decomps.nll_loss_forward(logp, target, None, 1, -100)[0],
                         -logp[range(4), target].mean())  # fmt: skip


def test_optimal_action_accepts_either_side_of_a_tie():
    from lmlib.rewards.qa import ACCURACY, expected_rewards

    lab = "5_1_incentives"
    earlier = run_check(lambda p, t: expected_rewards(p, t).argmax(-1), lab, "optimal_action", 0)
    safer = run_check(
        lambda p, t: 2 - expected_rewards(p, t).flip(-1).argmax(-1), lab, "optimal_action", 0
    )
    assert earlier.passed and safer.passed, (earlier, safer)
    r = expected_rewards(torch.tensor([0.3]), ACCURACY)
    assert r[0, 0] == r[0, 1]  # answering and hedging tie in this table: both are right
