"""The chat-caching experiment at the ci profile: counted FLOPs, growth, results and figure."""

import json
from pathlib import Path

import pytest

from lmlib.experiments import chat_cache


@pytest.fixture(scope="module")
def record():
    return chat_cache.run("ci", seed=0)


def test_analytic_flops_equal_torchs_flop_counter_every_turn(record):
    for mode in chat_cache.MODES:
        t = record["per_turn"][mode]
        assert t["flops"] == t["flops_counted"] and len(t["flops"]) == record["settings"]["checked"]
    assert record["summary"]["max_counter_mismatch"] == 0


def test_cached_turns_read_only_new_tokens_and_the_prefix_lm_rereads_the_history(record):
    s = record["settings"]
    causal, prefix = (record["per_turn"][m] for m in chat_cache.MODES)
    new = s["user"] + s["reply"]
    assert causal["tokens_read"] == [new] * s["turns"]
    assert prefix["tokens_read"] == [i * new + new for i in range(s["turns"])]
    assert causal["flops"][0] == prefix["flops"][0]  # turn 1 has no history to re-read
    assert all(p > c for p, c in zip(prefix["flops"][1:], causal["flops"][1:]))
    # cumulative cost: about linear with the cache, about quadratic without it
    assert causal["flops_exponent"] < 1.3 < 1.7 < prefix["flops_exponent"]


def test_record_holds_seconds_per_turn_and_cumulative(record):
    s = record["settings"]
    for mode in chat_cache.MODES:
        t = record["per_turn"][mode]
        assert len(t["seconds"]) == s["turns"] and all(x > 0 for x in t["seconds"])
        assert len(t["seconds_all"]) == s["repeats"]
        assert t["cumulative_seconds"][-1] == pytest.approx(sum(t["seconds"]))
    assert record["model_config"]["context"] == s["turns"] * (s["user"] + s["reply"])
    assert record["summary"]["flops_ratio_total"] > 1


def test_pass_flops_formula():
    cfg = chat_cache.model_config(chat_cache.settings("ci"), causal=True)
    D, L, V, F = cfg.d_model, cfg.n_layers, cfg.vocab_size, cfg.d_ff
    weights = L * (4 * D * D + 2 * D * F) + D * V
    assert chat_cache.pass_flops(cfg, 3, 10) == 2 * 3 * weights + 4 * L * 3 * 10 * D


def test_figure_is_drawn_from_the_record(record, tmp_path):
    (path,) = chat_cache.figures(record, tmp_path)
    assert path.name == "chat_cache.png" and path.stat().st_size > 10_000


def test_committed_cpu_runs_grow_linearly_with_the_cache_and_faster_without_in_every_seed():
    root = Path(__file__).resolve().parents[1] / "results" / "chat_cache"
    for seed in (0, 1, 2):
        r = json.loads((root / f"cpu-seed{seed}.json").read_text())
        assert r["seed"] == seed and "-dirty" not in r["git_commit"]
        causal, prefix = (r["per_turn"][m] for m in chat_cache.MODES)
        assert r["summary"]["max_counter_mismatch"] == 0
        assert causal["tokens_exponent"] == pytest.approx(1) and prefix["tokens_exponent"] > 1.7
        assert causal["flops_exponent"] + 0.5 < prefix["flops_exponent"]
        assert prefix["cumulative_seconds"][-1] > causal["cumulative_seconds"][-1]
