"""The abstain experiment: seeds per profile, results with provenance, resume, same seed same
numbers."""

import pytest

from lmlib.experiments import EXPERIMENTS, abstain
from lmlib.experiments.results import read_results

SETTINGS = abstain.settings


def tiny(profile: str) -> dict:
    s = SETTINGS("ci")
    s.update(n_entities=12, d_model=16, steps=10, rl_steps=3, rl_batch=8, policy_steps=5)
    return s


def test_seeds_per_profile_and_registration():
    assert abstain.settings("cpu")["seeds"] == [0, 1, 2]
    assert abstain.settings("gpu")["seeds"] == [0, 1, 2]
    assert EXPERIMENTS["abstain"] == "lmlib.experiments.abstain"


def test_sweep_writes_each_seed_once_with_provenance(tmp_path, monkeypatch):
    monkeypatch.setattr(abstain, "settings", tiny)
    abstain.run_sweep("ci", tmp_path)
    path = abstain.seed_path(tmp_path, "ci", 0)
    first = read_results(path)
    for key in ("git_commit", "torch", "device", "wall_time_s", "settings", "seed"):
        assert key in first
    policies = first["policies"]
    assert set(policies) == {"untuned", "threshold_policy", "tuned_penalty", "tuned_accuracy"}
    assert sum(row["n"] for row in policies["untuned"]["by_bucket"]) == first["held_out"]
    assert policies["untuned"]["abstain"] == 0  # "I don't know" starts below the best answer
    stamp = path.stat().st_mtime_ns
    abstain.run_sweep("ci", tmp_path)  # resume: an existing seed is not run again
    assert path.stat().st_mtime_ns == stamp


def test_same_seed_same_numbers(monkeypatch):
    monkeypatch.setattr(abstain, "settings", tiny)
    a, b = (abstain.run("ci", seed=1)["policies"] for _ in range(2))
    for name in a:
        assert a[name]["reward"] == pytest.approx(b[name]["reward"], rel=1e-6)
        assert a[name]["by_bucket"] == b[name]["by_bucket"]
