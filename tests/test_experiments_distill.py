"""The distillation experiment at the ci profile: structure, equal budgets, the data-limited arm,
the teacher and seed caches, the comparisons, the device and the figures."""

import json
from dataclasses import replace

import pytest
import torch

from lmlib.data.multitask import MultitaskCorpus
from lmlib.experiments import distill, distill_figures
from lmlib.models.transformer import TransformerConfig, TransformerLM
from lmlib.tools.budget import T4_ACHIEVED_FLOPS
from lmlib.tools.memory import T4_USABLE_BYTES, transformer_training_bytes
from lmlib.training.flops import LEDGER_ENV, read_ledger


@pytest.fixture(scope="module")
def ledger(tmp_path_factory):
    return tmp_path_factory.mktemp("ledger") / "ledger.jsonl"


@pytest.fixture(scope="module")
def record(tmp_path_factory, ledger):
    mp = pytest.MonkeyPatch()
    mp.setenv("LMLIB_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    try:
        with pytest.MonkeyPatch.context() as run_only:  # what the run's models spend, no more
            run_only.setenv(LEDGER_ENV, str(ledger))
            out = json.loads(json.dumps(distill.run("ci", seed=0), default=vars))
        yield out
    finally:
        mp.undo()


def test_every_student_of_every_seed_is_there_with_equal_steps(record):
    s = distill.settings("ci")
    assert record["seeds"] == [0, 1]
    expected = {(v, sz.name, o) for sz, o, _, _, v in distill.roster(s) + distill.limited_roster(s)}
    for seed in record["seeds"]:
        rows = [r for r in record["students"] if r["seed"] == seed]
        assert {(r["variant"], r["size"], r["objective"]) for r in rows} == expected
    ladder = {(r["size"], r["objective"]) for r in record["students"] if r["variant"] == "ladder"}
    assert ladder == {(sz.name, o) for sz in s.students for o in distill.OBJECTIVES}
    assert all(r["teacher"] is None for r in record["students"] if r["objective"] == "gold")
    assert all(0 <= r["tail_recall"] <= 1 and r["held_out_loss"] > 0 for r in record["students"])
    assert all(0 <= r["held_out_accuracy"] <= 1 for r in record["students"])
    assert {"teacher", "teacher2", "teacher_noisy", "self"} == set(record["teachers"])
    t = record["teachers"]
    assert t["teacher"]["held_out_loss"] != t["teacher2"]["held_out_loss"]  # other weights


def test_the_data_limited_arm_reads_its_fraction_for_several_epochs(record):
    s = distill.settings("ci")
    world = distill.build_world(s)
    assert len(world.limited_ids) == int(len(world.ids) * s.limited_fraction)
    assert torch.equal(world.limited_ids, world.ids[: len(world.limited_ids)])
    limited = [r for r in record["students"] if r["variant"].startswith("limited")]
    assert {(r["variant"], r["objective"], r["teacher"]) for r in limited} == {
        ("limited", "gold", None), *(("limited", o, "teacher") for o in ("labels", "soft_T1",
        "soft+gold")), *(("limited2", o, "teacher2") for o in ("labels", "soft_T1", "soft+gold"))
    }  # fmt: skip
    assert all(r["size"] == s.limited.name and r["steps"] == s.limited_steps for r in limited)
    assert all(r["epochs"] > 2 for r in limited)
    full = [r for r in record["students"] if not r["variant"].startswith("limited")]
    assert all(r["epochs"] < 1 for r in full)
    with pytest.raises(ValueError, match="limited_fraction"):
        distill.build_world(replace(s, limited_fraction=1e-5))
    assert record["git_commit"] is None or isinstance(record["git_commit"], str)


def test_comparisons_are_paired_by_seed(record):
    comp = record["comparisons"]
    gold = distill_figures.losses(record, "ladder", "xs", "gold")
    soft = distill_figures.losses(record, "ladder", "xs", "soft_T1")
    row = comp["ladder/xs/soft_T1"]
    assert row["delta_vs_gold"] == pytest.approx(sum(a - b for a, b in zip(soft, gold)) / 2)
    assert row["seeds_better"] == sum(a < b for a, b in zip(soft, gold))
    spread = max(max(soft) - min(soft), max(gold) - min(gold))
    assert row["spread"] == pytest.approx(spread)
    assert row["seeds_better_by_spread"] == sum(b - a > spread for a, b in zip(soft, gold))
    assert comp["ladder/xs/gold"]["delta_vs_gold"] == 0
    assert "noise/s/soft+gold" in comp and "self/s/soft+gold" in comp
    # the data-limited students are paired with the data-limited gold student, by accuracy too
    m = distill.settings("ci").limited.name
    acc = distill_figures.scores(record, "limited2", m, "soft_T1", "held_out_accuracy")
    acc_gold = distill_figures.scores(record, "limited", m, "gold", "held_out_accuracy")
    vs = comp[f"limited2/{m}/soft_T1"]["accuracy_vs_gold"]
    assert vs["deltas"] == pytest.approx([a - g for a, g in zip(acc, acc_gold)])
    assert vs["seeds_better"] == sum(a > g for a, g in zip(acc, acc_gold))


def test_teacher_is_cached_by_its_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("LMLIB_CACHE_DIR", str(tmp_path))
    s = replace(distill.settings("ci"), teacher_steps=3, steps=2, limited=None)
    world = distill.build_world(s)
    first, rec = distill.get_teacher(s, "self", world)
    again, rec2 = distill.get_teacher(s, "self", world)
    assert not rec["cached"] and rec2["cached"]
    for p, q in zip(first.parameters(), again.parameters()):
        assert torch.equal(p, q)
    assert distill.teacher_key(replace(s, steps=3), "self") != distill.teacher_key(s, "self")
    assert distill.teacher_key(s, "teacher") != distill.teacher_key(s, "teacher_noisy")
    assert distill.teacher_key(s, "teacher") != distill.teacher_key(s, "teacher2")
    same = replace(s, seeds=5, jobs=2, limited_steps=7, device="auto")
    assert distill.teacher_key(same, "self") == distill.teacher_key(s, "self")
    assert len(list(tmp_path.rglob("*.pt"))) == 1


def test_figures_draw_from_the_record(record, tmp_path):
    paths = distill.figures(record, tmp_path)
    assert [p.name for p in paths] == [
        "distill_ladder.png",
        "distill_variants.png",
        "distill_limited.png",
    ]
    assert all(p.stat().st_size > 10_000 for p in paths)


def test_a_finished_seed_is_read_back_not_trained_again(tmp_path, monkeypatch):
    monkeypatch.setenv("LMLIB_CACHE_DIR", str(tmp_path))
    calls = []
    monkeypatch.setattr(distill, "train_seed", lambda s, seed: calls.append(seed) or [{"a": seed}])
    s = distill.settings("ci")
    assert distill._cached_seed(s, 3) == distill._cached_seed(s, 3) == [{"a": 3}]
    assert calls == [3]
    distill._cached_seed(replace(s, limited_steps=3), 3)  # other settings: trained again
    assert calls == [3, 3]


def test_training_runs_on_the_device_of_the_settings():
    from unittest import mock

    from lmlib.training.students import training_device

    assert distill.settings("cpu").device == distill.settings("ci").device == "cpu"
    assert distill.settings("gpu").device == "auto"
    assert distill.lab_settings("gpu").device == "auto"
    for profile in ("ci", "cpu", "gpu"):
        s = distill.settings(profile)
        assert distill.train_config(s, 5, 0).device == s.device
        assert distill.train_config(s, 5, 0, device="cpu").device == "cpu"
    with mock.patch.object(torch.cuda, "is_available", return_value=True):
        assert training_device(distill.train_config(distill.settings("gpu"), 5, 0)).type == "cuda"
        assert training_device(distill.train_config(distill.settings("cpu"), 5, 0)).type == "cpu"


def _config(s: distill.Settings, size, vocab_size: int) -> TransformerConfig:
    return TransformerConfig(
        vocab_size, s.context, size.d_model, size.n_heads, size.n_layers, pos="rope"
    )


def planned_flops(s: distill.Settings) -> float:
    """Training FLOPs of the whole experiment: every teacher once; in every seed, each student
    of both rosters, and a forward pass of each teacher they read at every step."""
    V = MultitaskCorpus(s.n_entities, s.n_quotes, seed=0).tokenizer.vocab_size  # build_world's
    fpt = {z: TransformerLM(_config(s, z, V)).flops_per_token() for z in {s.teacher, *s.students}}
    fpt.update({s.limited: TransformerLM(_config(s, s.limited, V)).flops_per_token()})
    specs = distill.teacher_specs(s)
    teachers = sum(fpt[size] * steps for size, steps, _, _ in specs.values())
    per_seed = 0.0
    for roster, steps in (
        (distill.roster(s), s.steps),
        (distill.limited_roster(s), s.limited_steps),
    ):
        read = {teacher for _, _, teacher, _, _ in roster if teacher is not None}
        students = sum(fpt[size] for size, *_ in roster)
        per_seed += steps * (students + sum(fpt[specs[t][0]] / 3 for t in read))
    return s.batch_size * s.context * (teachers + s.seeds * per_seed)


def test_the_plan_is_what_the_ci_run_spent(record, ledger):
    assert read_ledger(ledger) == pytest.approx(planned_flops(distill.settings("ci")), rel=1e-9)


def test_the_gpu_profile_fits_a_t4_and_about_ten_minutes_of_it():
    s = distill.settings("gpu")
    minutes = planned_flops(s) / T4_ACHIEVED_FLOPS / 60
    assert 5 <= minutes <= 10, minutes
    assert planned_flops(s) >= 30 * planned_flops(distill.settings("cpu"))
    V = MultitaskCorpus(s.n_entities, s.n_quotes, seed=0).tokenizer.vocab_size  # build_world's
    for size in (s.teacher, *s.students, s.limited):
        assert transformer_training_bytes(_config(s, size, V), s.batch_size) < T4_USABLE_BYTES
