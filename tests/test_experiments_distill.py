"""The distillation experiment at the ci profile: structure, equal budgets, the teacher cache,
the comparisons and the figures."""

import json
from dataclasses import replace

import pytest
import torch

from lmlib.experiments import distill, distill_figures


@pytest.fixture(scope="module")
def record(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("LMLIB_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    try:
        yield json.loads(json.dumps(distill.run("ci", seed=0), default=vars))
    finally:
        mp.undo()


def test_every_student_of_every_seed_is_there_with_equal_steps(record):
    s = distill.settings("ci")
    assert record["seeds"] == [0, 1]
    expected = {(v, sz.name, o) for sz, o, _, _, v in distill.roster(s)}
    for seed in record["seeds"]:
        rows = [r for r in record["students"] if r["seed"] == seed]
        assert {(r["variant"], r["size"], r["objective"]) for r in rows} == expected
    ladder = {(r["size"], r["objective"]) for r in record["students"] if r["variant"] == "ladder"}
    assert ladder == {(sz.name, o) for sz in s.students for o in distill.OBJECTIVES}
    assert all(r["teacher"] is None for r in record["students"] if r["objective"] == "gold")
    assert all(0 <= r["tail_recall"] <= 1 and r["held_out_loss"] > 0 for r in record["students"])
    assert {"teacher", "teacher_noisy", "self"} == set(record["teachers"])
    assert record["git_commit"] is None or isinstance(record["git_commit"], str)


def test_comparisons_are_paired_by_seed(record):
    comp = record["comparisons"]
    gold = distill_figures.losses(record, "ladder", "xs", "gold")
    soft = distill_figures.losses(record, "ladder", "xs", "soft_T1")
    row = comp["ladder/xs/soft_T1"]
    assert row["delta_vs_gold"] == pytest.approx(sum(a - b for a, b in zip(soft, gold)) / 2)
    assert row["seeds_better"] == sum(a < b for a, b in zip(soft, gold))
    assert comp["ladder/xs/gold"]["delta_vs_gold"] == 0
    assert "noise/s/soft+gold" in comp and "self/s/soft+gold" in comp


def test_teacher_is_cached_by_its_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("LMLIB_CACHE_DIR", str(tmp_path))
    s = replace(distill.settings("ci"), teacher_steps=3, steps=2)
    world = distill.build_world(s)
    first, rec = distill.get_teacher(s, "self", world)
    again, rec2 = distill.get_teacher(s, "self", world)
    assert not rec["cached"] and rec2["cached"]
    for p, q in zip(first.parameters(), again.parameters()):
        assert torch.equal(p, q)
    assert distill.teacher_key(replace(s, steps=3), "self") != distill.teacher_key(s, "self")
    assert distill.teacher_key(s, "teacher") != distill.teacher_key(s, "teacher_noisy")
    same = replace(s, seeds=5, jobs=2)
    assert distill.teacher_key(same, "self") == distill.teacher_key(s, "self")
    assert len(list(tmp_path.rglob("*.pt"))) == 1


def test_figures_draw_from_the_record(record, tmp_path):
    paths = distill.figures(record, tmp_path)
    assert [p.name for p in paths] == ["distill_ladder.png", "distill_variants.png"]
    assert all(p.stat().st_size > 10_000 for p in paths)
