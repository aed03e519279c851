"""The sft_vs_rl experiment: seeds per profile, equal FLOPs per arm, results with provenance,
resume, same seed same numbers."""

import pytest

from lmlib.experiments import EXPERIMENTS, sft_vs_rl
from lmlib.experiments.results import read_results, seed_path

SETTINGS = sft_vs_rl.settings


def tiny(profile: str) -> dict:
    s = SETTINGS("ci")
    s.update(d_model=16, pre_steps=6, batch_size=8, demos=8, budget_sft_steps=4, rl_prompts=2,
             n_eval=4)  # fmt: skip
    return s


def test_seeds_per_profile_and_registration():
    assert SETTINGS("cpu")["seeds"] == [0, 1, 2] == SETTINGS("gpu")["seeds"]
    assert EXPERIMENTS["sft_vs_rl"] == "lmlib.experiments.sft_vs_rl"


def test_sweep_writes_each_seed_once_with_provenance(tmp_path, monkeypatch):
    monkeypatch.setattr(sft_vs_rl, "settings", tiny)
    sft_vs_rl.run_sweep("ci", tmp_path)
    path = seed_path(tmp_path, "ci", 0)
    first = read_results(path)
    for key in ("git_commit", "torch", "device", "wall_time_s", "cpu_time_s", "settings", "seed"):
        assert key in first
    arms = first["arms"]
    assert set(arms) == {*sft_vs_rl.FLOORS, *sft_vs_rl.ARMS}
    assert set(arms["pretrained"]["accuracy"]) == set(sft_vs_rl.EVALS)
    assert arms["sft"]["rl_steps"] == 0 and arms["rl"]["sft_steps"] == 0
    assert arms["sft_then_rl"]["sft_steps"] > 0 and arms["sft_then_rl"]["rl_steps"] > 0
    budget = arms["sft"]["flops"]
    for arm in sft_vs_rl.ARMS:  # equal compute, up to one step of rounding
        assert arms[arm]["flops"] == pytest.approx(budget, rel=0.2)
    stamp = path.stat().st_mtime_ns
    sft_vs_rl.run_sweep("ci", tmp_path)  # resume: an existing seed is not run again
    assert path.stat().st_mtime_ns == stamp


def test_equal_flops_at_the_cpu_profile():
    from lmlib.models.transformer import TransformerConfig, TransformerLM
    from lmlib.rewards import sums

    s = SETTINGS("cpu")
    model = TransformerLM(TransformerConfig(13, context=16, d_model=s["d_model"], n_heads=4))
    T, width = 2 * 3 + 2 + sums.answer_width(3) - 1, sums.answer_width(3)
    sft = sft_vs_rl.step_flops(model, s["batch_size"], T)
    rl = sft_vs_rl.step_flops(model, s["rl_prompts"] * s["samples"], T, width)
    assert sft < rl < 1.5 * sft  # sampling costs a forward pass per word, a third of training


def test_same_seed_same_numbers(monkeypatch):
    monkeypatch.setattr(sft_vs_rl, "settings", tiny)
    a, b = (sft_vs_rl.run("ci", seed=1)["arms"] for _ in range(2))
    for name in a:
        assert a[name]["accuracy"] == b[name]["accuracy"]
    assert a["rl"]["rl_reward"] == b["rl"]["rl_reward"]
    assert a["sft"]["sft_loss"] == pytest.approx(b["sft"]["sft_loss"], rel=1e-6)
