"""`lmlib budget`: the FLOP ledger, the per-lab plans, the table, resuming an interrupted run."""

import argparse
import json
import os
import re
from pathlib import Path

import nbformat
import pytest
import torch
from nbformat.v4 import new_code_cell, new_notebook

from lmlib.experiments.next_token import settings
from lmlib.models.transformer import TransformerConfig, TransformerLM
from lmlib.tools import budget
from lmlib.tools.plans import PLANS
from lmlib.training import flops
from lmlib.training.train import TrainConfig, train

ROOT = Path(__file__).resolve().parents[1]


def test_run_flops_counts_steps_and_evaluations():
    cfg = TrainConfig(steps=10, batch_size=2, eval_every=4, eval_batches=3)
    # 10 steps of 2 x 5 tokens; evaluations at steps 4, 8 and 10, each 3 batches at a third
    assert flops.run_flops(7.0, 5, cfg) == pytest.approx(7.0 * 10 * (10 + 3 * 3 / 3))


def test_ledger_records_what_train_spent(tmp_path, monkeypatch):
    ledger = tmp_path / "ledger.jsonl"
    monkeypatch.setenv(flops.LEDGER_ENV, str(ledger))
    model_cfg, train_cfg = settings("ci")
    torch.manual_seed(0)
    model = TransformerLM(model_cfg)
    data = torch.randint(0, model_cfg.vocab_size, (2000,))
    train(model, data, data, TrainConfig(**{**train_cfg.__dict__, "progress": False}))
    assert flops.read_ledger(ledger) == pytest.approx(PLANS["1_1_next_token_prediction"]("ci"))
    record = json.loads(ledger.read_text().splitlines()[0])
    assert record["tokens"] == train_cfg.steps * train_cfg.batch_size * model_cfg.context


def test_no_ledger_without_the_variable(tmp_path, monkeypatch):
    monkeypatch.delenv(flops.LEDGER_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    flops.record(1.0, 1)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("lab", sorted(PLANS))
def test_every_plan_grows_with_the_profile(lab):
    ci, cpu, gpu = (PLANS[lab](p) for p in ("ci", "cpu", "gpu"))
    assert 0 < ci < cpu < gpu


@pytest.mark.parametrize("lab", sorted(PLANS))
def test_every_gpu_profile_is_five_to_ten_minutes_of_a_t4(lab):
    measured = json.loads((ROOT / budget.RESULTS).read_text())["labs"][lab]
    minutes = budget.estimate_gpu(lab, measured)["wall_s"] / 60  # the current plan, its ci time
    assert 4.5 <= minutes <= 10, f"{lab}: {minutes:.1f} minutes at the gpu profile"


def test_every_plan_is_a_lab():
    labs = {p.stem for p in (ROOT / "labs" / "solutions").glob("*.ipynb")}
    assert set(PLANS) <= labs


def test_plan_mismatch_is_reported():
    plan = PLANS["1_1_next_token_prediction"]("ci")
    good = {"ci": {"wall_s": 1.0, "train_flops": plan}}
    bad = {"ci": {"wall_s": 1.0, "train_flops": plan * 1.5}}
    assert budget.plan_mismatches("1_1_next_token_prediction", good) == []
    assert "plan" in budget.plan_mismatches("1_1_next_token_prediction", bad)[0]


def test_gpu_estimate_is_overhead_plus_flops_over_throughput():
    est = budget.estimate_gpu("3_1_multihead_attention", {"ci": {"wall_s": 9.0, "train_flops": 1}})
    flops = PLANS["3_1_multihead_attention"]("gpu")
    assert est["train_flops"] == flops
    assert est["wall_s"] == pytest.approx(9.0 + flops / budget.T4_ACHIEVED_FLOPS, abs=0.1)
    assert budget.estimate_gpu("no_such_lab", {"ci": {"wall_s": 1.0}}) is None


def _tiny_notebook(path: Path) -> None:
    code = (
        "import torch, lmlib\n"
        "cfg = lmlib.TransformerConfig(11, context=8, d_model=16, n_heads=2, n_layers=1)\n"
        "model = lmlib.TransformerLM(cfg)\n"
        "data = torch.randint(0, 11, (500,))\n"
        "run = lmlib.TrainConfig(steps=lmlib.by_profile(ci=3, cpu=5, gpu=7), batch_size=2,\n"
        "                        eval_every=100, eval_batches=1, progress=False)\n"
        "lmlib.train(model, data, data, run)\n"
    )
    nbformat.write(new_notebook(cells=[new_code_cell(code)]), path)


def _args(tmp_path: Path, books: Path, profiles: list[str], from_book=None) -> argparse.Namespace:
    """`lmlib budget`'s arguments, writing into tmp_path."""
    return argparse.Namespace(
        profiles=profiles,
        labs=None,
        force=False,
        table_only=False,
        reestimate=False,
        results=tmp_path / "labs.json",
        notebooks=books,
        table=tmp_path / "table.md",
        from_book=from_book,
    )


def test_budget_times_notebooks_and_resumes(tmp_path, monkeypatch, capsys):
    books = tmp_path / "nb"
    books.mkdir()
    _tiny_notebook(books / "99_tiny.ipynb")
    args = _args(tmp_path, books, ["ci"])
    assert budget.run(args) == 0
    results = json.loads(args.results.read_text())
    ci = results["labs"]["99_tiny"]["ci"]
    model = TransformerLM(TransformerConfig(11, context=8, d_model=16, n_heads=2, n_layers=1))
    assert ci["train_flops"] == pytest.approx(model.flops_per_token() * 16 * (3 + 1 / 3))
    assert ci["wall_s"] > 0
    assert re.search(r"\| 99_tiny \| \d+ s \| - \| - \| - \|", args.table.read_text())

    calls = []
    monkeypatch.setattr(budget, "time_notebook", lambda *a: calls.append(a) or ci)
    budget.run(args)  # already measured: nothing runs again
    assert calls == []
    args.profiles = ["ci", "cpu"]
    budget.run(args)  # only the missing profile runs
    assert [c[1] for c in calls] == ["cpu"]


def test_reestimate_recomputes_the_gpu_column_and_times_nothing(tmp_path, monkeypatch):
    args = _args(tmp_path, tmp_path, ["ci"])
    args.reestimate = True
    measured = {"ci": {"wall_s": 3.0, "train_flops": 1.0}, "gpu": {"wall_s": 99.0}}
    args.results.write_text(
        json.dumps({"machine": {"cpus": 2, "torch": "t"}, "labs": {"x": measured}})
    )
    monkeypatch.setattr(
        budget, "plans", lambda: {"x": lambda profile: 8 * budget.T4_ACHIEVED_FLOPS}
    )
    monkeypatch.setattr(budget, "time_notebook", lambda *a: pytest.fail("nothing is timed"))
    budget.run(args)
    gpu = json.loads(args.results.read_text())["labs"]["x"]["gpu"]
    assert gpu["wall_s"] == pytest.approx(3.0 + 8.0, rel=1e-6) and gpu["estimated"]
    assert "| x | 3 s | - | 11 s |" in args.table.read_text()


def test_committed_table_matches_committed_results():
    results = json.loads((ROOT / budget.RESULTS).read_text())
    assert budget.table(results) in (ROOT / budget.TABLE).read_text()
    assert set(results["labs"]) == {p.stem for p in (ROOT / "labs" / "solutions").glob("*.ipynb")}
    assert "{include} lab_times.md" in (ROOT / "book" / "how_to_use.md").read_text()


def test_budget_takes_cpu_times_from_a_book_build(tmp_path):
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    books = tmp_path / "nb"
    books.mkdir()
    _tiny_notebook(books / "99_tiny.ipynb")
    build = tmp_path / "_build"
    cache = get_cache(str(build / ".jupyter_cache"))
    nb = nbformat.read(books / "99_tiny.ipynb", as_version=4)
    bundle = CacheBundleIn(nb, str(books / "99_tiny.ipynb"), data={"execution_seconds": 42.04})
    cache.cache_notebook_bundle(bundle, check_validity=False)
    args = _args(tmp_path, books, ["cpu"], from_book=build)
    with pytest.raises(FileNotFoundError, match="bash scripts/book.sh"):
        budget.run(args)  # no profile stamp: which profile the book ran at is unknown
    (build / ".profile").write_text("cpu\n")
    assert budget.run(args) == 0  # cpu comes from the book: nothing is executed
    cpu = json.loads(args.results.read_text())["labs"]["99_tiny"]["cpu"]
    assert cpu == {"wall_s": 42.0, "train_flops": None}
    assert "| 99_tiny | - | 42 s | - | - |" in args.table.read_text()


def test_fact_lm_records_what_lab07_plans(tmp_path, monkeypatch):
    from lmlib.experiments.incentives import quiz_model, settings

    ledger = tmp_path / "ledger.jsonl"
    monkeypatch.setenv(flops.LEDGER_ENV, str(ledger))
    quiz_model(settings("ci"))
    assert flops.read_ledger(ledger) == pytest.approx(PLANS["5_1_incentives"]("ci"))


@pytest.mark.skipif(not os.environ.get("LMLIB_DATA_DIR"), reason="needs LMLIB_DATA_DIR")
def test_capstone_plan_counts_the_bpe_vocabulary_it_trains(tmp_path, monkeypatch):
    from lmlib.data.bpe import BPETokenizer
    from lmlib.data.shakespeare import TINY_SHAKESPEARE, fetch
    from lmlib.experiments.labs import settings as lab_settings

    s = lab_settings("3_4_your_gpt", "ci")
    text = fetch(TINY_SHAKESPEARE).read_text(encoding="utf-8")[: s["text_chars"]]
    tok = BPETokenizer().train(text[: int(0.9 * len(text))], s["vocab_size"])
    assert tok.vocab_size == s["vocab_size"]  # the text has pairs enough to fill the vocabulary
    ids = torch.as_tensor(tok.encode(text))
    ledger = tmp_path / "ledger.jsonl"
    monkeypatch.setenv(flops.LEDGER_ENV, str(ledger))
    m, run = s["model"], TrainConfig(**s["run"], progress=False)
    for n_layers, d_model, n_heads in [*s["ladder"], (m["n_layers"], m["d_model"], m["n_heads"])]:
        torch.manual_seed(0)
        cfg = TransformerConfig(tok.vocab_size, m["context"], d_model, n_heads, n_layers)
        train(TransformerLM(cfg), ids, ids, run)
    assert flops.read_ledger(ledger) == pytest.approx(PLANS["3_4_your_gpt"]("ci"), rel=1e-9)
