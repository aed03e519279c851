"""The isoflop experiment: every run's schedule ends at its budget, the summary is what the seed
files give, the bootstrap covers its estimate, the gpu profile fits a T4 and uses it, and the
data curve's test sums are never trained on."""

import json
import math
import random
from pathlib import Path

import pytest
import torch
from nested_close import assert_nested_close

from lmlib.analysis import isoflop as fit
from lmlib.experiments import EXPERIMENTS, isoflop
from lmlib.experiments.results import read_results, seed_path
from lmlib.experiments.tokenization import sum_text, sums
from lmlib.models.transformer import TransformerLM
from lmlib.tools.budget import T4_ACHIEVED_FLOPS
from lmlib.tools.memory import T4_USABLE_BYTES
from lmlib.tools.plans import isoflop_flops
from lmlib.training.sampling import generate

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results" / "isoflop"
SETTINGS = isoflop.settings


TEXT = "".join(f"Shall I compare thee to a summer's day, line {i}?\n" for i in range(300))


@pytest.fixture
def small_text(monkeypatch):
    """These tests check the sweep's mechanics, not its numbers: a small text, and no download."""
    from lmlib.data.shakespeare import CharDataset

    monkeypatch.setattr(isoflop, "tiny_shakespeare", lambda: CharDataset.from_text(TEXT))


def tiny(profile: str) -> dict:
    s = SETTINGS("ci")
    s.update(budgets=[2e7, 6e7, 2e8], eval_batches=1)
    s["data"].update(n_train=[8, 32], n_test=10, steps=4)
    return s


def test_registered_with_three_seeds_and_windows_of_five():
    assert EXPERIMENTS["isoflop"] == "lmlib.experiments.isoflop"
    for profile in ("cpu", "gpu"):
        s = isoflop.settings(profile)
        assert s["seeds"] == [0, 1, 2]
        assert math.log10(s["budgets"][-1] / s["budgets"][0]) >= 1 - 1e-9  # a decade or more
        assert all(len(isoflop.window(s, k)) >= 5 for k in range(len(s["budgets"])))
    with pytest.raises(ValueError, match="add widths"):
        isoflop.window(dict(widths=[8, 16, 32]), 0)


def test_sweep_writes_each_seed_once_with_provenance(tmp_path, monkeypatch, small_text):
    monkeypatch.setattr(isoflop, "settings", tiny)
    isoflop.run_sweep("ci", tmp_path)
    path = seed_path(tmp_path, "ci", 0)
    record = read_results(path)
    for key in ("git_commit", "torch", "device", "wall_time_s", "cpu_time_s", "settings", "seed"):
        assert key in record
    assert len(record["runs"]) == 15 and len(record["data_curve"]) == 2
    stamp = path.stat().st_mtime_ns
    isoflop.run_sweep("ci", tmp_path)  # resume: an existing seed is not run again
    assert path.stat().st_mtime_ns == stamp
    assert set(record["cpu_s"]) == {"isoflop", "data_curve"}


def test_same_seed_same_numbers(monkeypatch, small_text):
    monkeypatch.setattr(isoflop, "settings", tiny)
    a, b = (isoflop.run("ci", seed=1) for _ in range(2))
    assert [r["val_loss"] for r in a["runs"]] == pytest.approx(
        [r["val_loss"] for r in b["runs"]], rel=1e-6
    )
    assert a["data_curve"] == b["data_curve"]


def test_teacher_forced_exact_match_is_greedy_decoding():
    torch.manual_seed(0)
    s = isoflop.settings("ci")
    model, tok = TransformerLM(isoflop.sums_model_config(s)), isoflop.sums_tokenizer()
    test = sums(30, random.Random(0), 2)
    right = 0
    for a, b in test:
        line = "\n" + sum_text(a, b)
        cut = line.index("=") + 1
        out = generate(model, tok.encode(line[:cut])[None], len(line) - 1 - cut, top_k=1)
        right += tok.decode(out[0, cut:].tolist()) == line[cut:-1]
    assert isoflop.sum_scores(model, tok, test)["exact_match"] == pytest.approx(right / 30)


def test_data_curve_never_trains_on_a_test_sum():
    d = isoflop.settings("cpu")["data"]
    for seed in (0, 1, 2):
        rng = random.Random(2000 + seed)
        test = set(sums(d["n_test"], rng, isoflop.SUM_DIGITS))
        pool = list(dict.fromkeys(sums(4 * max(d["n_train"]), rng, isoflop.SUM_DIGITS, test)))
        assert len(pool) >= max(d["n_train"]) and not test & set(pool)


def test_gpu_profile_fits_a_t4_and_uses_about_ten_minutes_of_it():
    for name, nbytes in isoflop.gpu_memory("gpu"):
        assert nbytes < T4_USABLE_BYTES, name
    gpu, cpu = (3 * isoflop_flops(isoflop.settings(p)) for p in ("gpu", "cpu"))  # three seeds
    assert 7 * 60 < gpu / T4_ACHIEVED_FLOPS < 13 * 60
    assert gpu >= 30 * cpu


# ---- the committed `cpu` results ---------------------------------------------------------------


def cpu_runs() -> list[dict]:
    return isoflop.load(RESULTS, "cpu")


def test_every_cpu_run_ends_at_its_budget_with_its_own_schedule():
    s = isoflop.settings("cpu")
    per_step = s["batch_size"] * s["context"]
    for r in cpu_runs():
        assert r["settings"] == json.loads(json.dumps(s))
        assert len(r["runs"]) == len(s["budgets"]) * isoflop.WINDOW
        for p in r["runs"]:
            assert p["steps"] == fit.isoflop_steps(p["budget"], p["params"], per_step)
            assert p["tokens"] == p["steps"] * per_step
            # within half a step of the budget: the schedule ends there, not later
            assert abs(p["compute_6nd"] - p["budget"]) <= 3 * p["params"] * per_step
            cfg = isoflop.train_config(s, p["d_model"], p["steps"], r["seed"])
            assert cfg.steps == p["steps"] and cfg.lr == pytest.approx(p["lr"])


def test_summary_is_what_the_seed_files_give_and_intervals_cover_it():
    saved = json.loads((RESULTS / "cpu" / "summary.json").read_text())
    fresh = json.loads(json.dumps(isoflop.summarize(cpu_runs())))
    assert_nested_close(saved, fresh, rel=1e-6)
    assert saved["seeds"] == [0, 1, 2]
    for key in ("a", "b"):
        lo, hi = saved["bootstrap"][key]
        assert lo <= saved[key] <= hi
    assert saved["a"] + saved["b"] == pytest.approx(1.0, abs=1e-9)


def test_cpu_run_stays_inside_its_budget():
    """About 15 minutes on 2 idle cores, estimated as the seeds' CPU time / 2."""
    assert sum(r["cpu_time_s"] for r in cpu_runs()) / 2 <= 15 * 60
