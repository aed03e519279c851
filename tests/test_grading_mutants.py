"""Every mutant (a plausible wrong answer, tests/mutants/<lab>.py) scores zero through the real
sandboxed path; all mutants of a lab are graded in one batch on a shared fork server. A mutant
listed in its file's ROUTES is a right answer but for a forbidden shortcut: it must score zero
for that shortcut, and pass once the shortcut is allowed. A file's MUST_PASS holds right answers
written another way (another algorithm, numpy scalars, another tie-break): each scores full.

A mutant whose name starts with a class prefix (KINDS) is wrong in that one way; every lab has
mutants of every class that applies to it, and each fails for its own reason."""

import json
import runpy
from pathlib import Path

import nbformat
import pytest
import torch

from lmlib.grading import answers
from lmlib.grading.checker import run_check
from lmlib.grading.judge import assess, grade_many, prepare
from lmlib.grading.labs import get_lab
from lmlib.grading.sandbox import Limits, Sandbox

HERE = Path(__file__).parent
FIXTURES = runpy.run_path(str(HERE / "fixtures" / "lab_notebooks.py"))
FILES = {
    p.stem: runpy.run_path(str(p))
    for p in sorted((HERE / "mutants").glob("*.py"))
    if not p.name.startswith("_")  # _kinds.py: shared wrappers, not a lab
}
MUTANTS = {lab: found["MUTANTS"] for lab, found in FILES.items()}
MUST_PASS = {lab: found.get("MUST_PASS", {}) for lab, found in FILES.items()}
CASES = [
    (lab, ex, name) for lab, by_ex in MUTANTS.items() for ex, muts in by_ex.items() for name in muts
]
PASSING = [(lab, ex, name) for lab, by in MUST_PASS.items() for ex, ok in by.items() for name in ok]
# class prefix -> what the verdict must say (any of these words): each fails for its own reason
KINDS = {
    # refused when it runs, or before: by the source rules, for a private or internal route
    "route_": ("is not allowed in this exercise", "private attribute", "`torch._", "`.ops`"),
    "sizes_": (),
    "inplace_": ("in place", "in-place"),
    "stale_": ("with new values",),
    "dtype_": ("dtype", "expected a Python", "expected a number", "expected a torch.Tensor"),
    "nograd_": ("gradient",),
    "const_": (),
    "edge_": (),
    "precision_": (),  # a float32 computation where the reference works in float64
}
# the classes that do not apply to a lab: no forbidden shortcut, or no answer with a gradient
NOT_APPLICABLE = {
    "1_2_multitask_learning": {"route_", "nograd_"},
    "1_3_scaling_and_emergence": {"route_", "nograd_"},
    "1_4_compute_optimal": {"route_", "nograd_"},  # floats and int steps: no gradient
    "2_1_driving_force": {"route_", "nograd_"},
    "3_2_mlp": {"route_", "const_", "edge_"},
    "3_3_tokenization": {"route_", "nograd_"},  # lists of ints and floats: no gradient
    "3_4_your_gpt": {"route_"},
    "4_2_pretraining_objectives": {"route_"},
    "4_3_distillation": {"route_", "const_", "edge_"},
    "5_1_incentives": {"route_"},
    "5_2_post_training": {"route_"},
}
ROUTES = [
    (lab, ex, name)
    for lab, found in FILES.items()
    for ex, names in found.get("ROUTES", {}).items()
    for name in names
]


def replace_cell(nb: dict, exercise: str, code: str) -> dict:
    nb = json.loads(json.dumps(nb))
    cells = [c for c in nb["cells"] if "".join(c["source"]).startswith(f"# EXERCISE: {exercise}\n")]
    assert len(cells) == 1, exercise
    cells[0]["source"] = code
    return nb


@pytest.fixture(scope="module")
def verdicts():
    """(lab, exercise, mutant) -> the exercise's verdict, every mutant and every must-pass
    variant graded in one batch."""
    batch = []
    for (lab, exercise, name), code in [(c, MUTANTS[c[0]][c[1]][c[2]]) for c in CASES] + [
        (c, MUST_PASS[c[0]][c[1]][c[2]]) for c in PASSING
    ]:
        solution = json.loads(nbformat.writes(FIXTURES["solution_notebook"](lab)))
        batch.append((replace_cell(solution, exercise, code), name, [exercise]))
    with Sandbox(Limits(timeout=10.0, memory_mb=2048), isolate=False) as sandbox:
        reports = grade_many(batch, sandbox)
    keys = [("mutant", *c) for c in CASES] + [("must_pass", *c) for c in PASSING]
    return {key: report.verdicts[0] for key, report in zip(keys, reports, strict=True)}


def test_every_exercise_has_at_least_five_mutants():
    assert sorted(MUTANTS) == sorted(FIXTURES["EXERCISES"])
    for lab, by_exercise in MUTANTS.items():
        assert list(by_exercise) == list(get_lab(lab)), lab
        for exercise, mutants in by_exercise.items():
            assert len(mutants) >= 5, (lab, exercise)
            for code in mutants.values():
                assert code.startswith(f"# EXERCISE: {exercise}\n")


@pytest.mark.parametrize("lab, exercise, mutant", CASES, ids=["-".join(c) for c in CASES])
def test_mutant_scores_zero(verdicts, lab, exercise, mutant):
    v = verdicts[("mutant", lab, exercise, mutant)]
    assert v.name == exercise
    assert v.points == 0 and v.status in ("failed", "error"), v
    assert v.message


@pytest.mark.parametrize("lab, exercise, mutant", ROUTES, ids=["-".join(c) for c in ROUTES])
def test_route_mutant_is_refused_for_its_route_and_right_without_the_refusal(
    verdicts, lab, exercise, mutant
):
    """Zero for the forbidden shortcut itself, not for an unrelated exception: the same code,
    run without the refusals, passes every case."""
    v = verdicts[("mutant", lab, exercise, mutant)]
    ex = get_lab(lab)[exercise]
    if v.message.startswith("refused:"):  # the source names the route itself (torch.ops, _C)
        route = ("reads `.ops`", "`._", "`torch._")  # torch.ops, a private attribute or module
        assert v.status == "error" and any(r in v.message for r in route), v
    else:
        assert v.status == "error" and "is not allowed in this exercise" in v.message, v
        hints = {**ex.forbidden, **ex.forbidden_ops}.values()
        assert any(hint in v.message for hint in hints), v
    scope: dict = {}
    exec(MUTANTS[lab][exercise][mutant], scope)
    prepared = prepare(ex, torch.Generator().manual_seed(0))
    got = answers.run_cases(scope[exercise], [p.payload for p in prepared], ex.module)
    status, message = assess(ex, prepared, {"defined": True, "cases": got})
    assert status == "passed", message


@pytest.mark.parametrize("lab, exercise, variant", PASSING, ids=["-".join(c) for c in PASSING])
def test_must_pass_variant_scores_full(verdicts, lab, exercise, variant):
    """A right answer written another way (another algorithm, numpy scalars, the other side of
    a tie) gets full marks through the same sandboxed path."""
    v = verdicts[("must_pass", lab, exercise, variant)]
    assert v.status == "passed" and v.points == v.max_points, v


@pytest.mark.parametrize("lab", sorted(MUTANTS))
def test_must_pass_variants_pass_on_every_draw(lab):
    """In-process over 10 draws: full marks never depend on the sizes or values drawn."""
    torch.set_num_threads(1)
    failed = []
    for exercise, variants in MUST_PASS[lab].items():
        for name, code in variants.items():
            scope: dict = {}
            exec(code, scope)
            for seed in range(10):
                verdict = run_check(scope[exercise], lab, exercise, seed)
                if not verdict.passed:
                    failed.append(f"{exercise}/{name} seed {seed}: {verdict.message}")
                    break
    assert not failed


@pytest.mark.parametrize("lab", sorted(MUTANTS))
def test_every_lab_has_mutants_of_every_class_and_a_must_pass_variant(lab):
    names = [name for by_ex in MUTANTS[lab].values() for name in by_ex]
    for kind in set(KINDS) - NOT_APPLICABLE.get(lab, set()) - {"const_", "edge_", "precision_"}:
        assert any(name.startswith(kind) for name in names), (lab, kind)
    if not NOT_APPLICABLE.get(lab, set()) >= {"const_", "edge_"}:
        assert any(name.startswith(("const_", "edge_")) for name in names), lab
    assert sum(len(v) for v in MUST_PASS[lab].values()) >= 1, lab


WORDED = [c for c in CASES if any(c[2].startswith(k) for k, words in KINDS.items() if words)]


@pytest.mark.parametrize("lab, exercise, mutant", WORDED, ids=["-".join(c) for c in WORDED])
def test_mutant_of_a_class_fails_for_that_class(verdicts, lab, exercise, mutant):
    """A class mutant is right but for one thing; its verdict names that thing (a mutant that
    failed for another reason would prove nothing about the check of its class)."""
    kind = next(k for k in KINDS if mutant.startswith(k))
    v = verdicts[("mutant", lab, exercise, mutant)]
    assert any(word in v.message for word in KINDS[kind]), v.message


def test_the_aten_routes_to_lstm_cell_are_route_mutants():
    assert {"via_torch_ops_aten", "via_variable_functions"} <= set(
        FILES["2_2_three_ways_to_read"]["ROUTES"]["lstm_cell"]
    )


def lucky_draws(lab: str, seeds: range) -> list[str]:
    """The mutants of `lab` that pass the checks on some of `seeds`, with those seeds."""
    torch.set_num_threads(1)  # tiny tensors: threads only add overhead (the conftest restores it)
    lucky = []
    for exercise, mutants in MUTANTS[lab].items():
        for name, code in mutants.items():
            scope: dict = {}
            exec(code, scope)
            seeds_passed = [s for s in seeds if run_check(scope[exercise], lab, exercise, s).passed]
            if seeds_passed:
                lucky.append(f"{lab}/{exercise}/{name} passes with seeds {seeds_passed}")
    return lucky


@pytest.mark.parametrize("lab", sorted(MUTANTS))
def test_every_draw_catches_every_mutant(lab):
    """Grading draws fresh cases each time; a mutant that slips through on some draws would pass
    by luck (lab 1.2's exact_match once did, 6% of the time, until a fixed case of tricky rows was
    added to every draw). In-process, through `run_check`; 10 draws here, 30 more under slow."""
    assert not lucky_draws(lab, range(10))


@pytest.mark.slow
@pytest.mark.parametrize("lab", sorted(MUTANTS))
def test_every_draw_catches_every_mutant_over_30_more_draws(lab):
    assert not lucky_draws(lab, range(10, 40))
