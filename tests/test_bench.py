"""lmlib bench: its results file and printed table, on the tiny shape (no timing is asserted)."""

import json
import re
import statistics
from argparse import Namespace
from pathlib import Path

import pytest
import torch

from lmlib.tools import bench, bench_report

ROOT = Path(__file__).resolve().parents[1]


def _args(tmp_path, **kw):
    base = dict(
        shapes=["tiny"],
        models=["lmlib", "torch-encoder"],
        modes=["eager"],
        repeats=2,
        steps=1,
        device="cpu",
        json=tmp_path / "bench.json",
        breakdown=False,
        markdown=None,
        from_json=None,
        variant=[],
    )
    return Namespace(**{**base, **kw})


def test_results_file_holds_rates_ratios_and_mfu(tmp_path, capsys):
    assert bench.run(_args(tmp_path)) == 0
    out = json.loads((tmp_path / "bench.json").read_text())
    assert out["matmul_flops"] > 0 and out["repeats"] == 2 and out["device"] == "cpu"
    assert out["seed"] == bench.SEED and out["wall_time_s"] > 0
    assert out["shapes"]["tiny"]["d_model"] == 32
    rows = {(r["mode"], r["model"]): r for r in out["rows"]}
    assert set(rows) == {("eager", "lmlib"), ("eager", "torch-encoder")}
    shape = bench.SHAPES["tiny"]
    for r in rows.values():
        t = r["tokens_per_s"]
        assert len(t["all"]) == 2 and t["min"] <= t["median"] <= t["max"]
        flops = bench.TransformerLM(shape.model_config()).flops_per_token()
        assert r["mfu"] == pytest.approx(t["median"] * flops / out["matmul_flops"])
    lm, enc = (rows["eager", m]["tokens_per_s"]["all"] for m in ("lmlib", "torch-encoder"))
    ratio = rows["eager", "lmlib"]["ratio_vs_torch-encoder"]
    assert ratio["median"] == pytest.approx(statistics.median(a / b for a, b in zip(lm, enc)))
    assert "ratio_vs_hf-gpt2" not in rows["eager", "lmlib"]  # not benchmarked, so no ratio
    printed = capsys.readouterr().out
    assert "tokens/s median (min-max)" in printed
    assert "eager vs eager" in printed and "torch-encoder" in printed


def test_compiled_lmlib_is_compared_with_eager_baselines_too(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(torch, "compile", lambda m, **kw: calls.append(m) or m)  # no compile time
    bench.run(_args(tmp_path, modes=["eager", "compiled"]))
    rows = json.loads((tmp_path / "bench.json").read_text())["rows"]
    compiled = next(r for r in rows if r["mode"] == "compiled" and r["model"] == "lmlib")
    assert {"ratio_vs_torch-encoder", "ratio_vs_torch-encoder_eager"} <= set(compiled)
    eager = next(r for r in rows if r["mode"] == "eager" and r["model"] == "lmlib")
    assert "ratio_vs_torch-encoder_compiled" not in eager  # eager is not flattered by compiled
    assert len(calls) == 2  # both compiled models went through torch.compile


def test_a_failing_baseline_is_skipped_with_a_message(tmp_path, monkeypatch, capsys):
    def broken(shape):
        raise ImportError("No module named 'transformers'")

    monkeypatch.setitem(bench.MODELS, "hf-gpt2", broken)
    bench.run(_args(tmp_path, models=["lmlib", "hf-gpt2"]))
    assert "skipping hf-gpt2 (eager): ImportError: No module named 'transformers'" in (
        capsys.readouterr().out
    )
    rows = json.loads((tmp_path / "bench.json").read_text())["rows"]
    assert [r["model"] for r in rows] == ["lmlib"] and "ratio_vs_hf-gpt2" not in rows[0]


def test_targets_report_met_and_missed(capsys):
    def row(shape, mode, ratio=None, mfu=0.0):
        r = {"shape": bench.SHAPES[shape].name, "mode": mode, "model": "lmlib", "mfu": mfu}
        if ratio is not None:
            r["ratio_vs_hf-gpt2"] = {"median": ratio}
        return r

    rows = [
        row("course", "eager", 1.25),
        row("course", "compiled", 1.1),
        row("d256", "eager", mfu=0.5),
    ]
    bench_report.print_targets(rows, {k: bench.SHAPES[k].name for k in ("course", "d256")})
    out = capsys.readouterr().out
    assert "course (next-token lab, cpu), eager: lmlib >= 1.2x hf-gpt2 (eager): 1.25x met" in out
    assert (
        "course (next-token lab, cpu), compiled: lmlib >= 1.2x hf-gpt2 (compiled): 1.10x MISSED"
        in out
    )
    assert "d_model=256, eager: MFU >= 0.45: 0.50 met" in out
    bench_report.print_targets(rows[:1], {"course": bench.SHAPES["course"].name})
    assert "compiled: lmlib >= 1.2x hf-gpt2 (compiled): not measured" in capsys.readouterr().out


def test_breakdown_splits_a_step_into_categories(tmp_path, capsys):
    bench.run(_args(tmp_path, breakdown=True))
    rows = json.loads((tmp_path / "bench.json").read_text())["rows"]
    for r in rows:
        b = r["breakdown_ms"]
        assert set(b) == {"matmul", "attention", "optimizer", "other", "total"}
        assert all(v >= 0 for v in b.values()) and b["matmul"] > 0 and b["optimizer"] > 0
        parts = b["matmul"] + b["attention"] + b["optimizer"] + b["other"]
        assert b["total"] == pytest.approx(parts)
    lm = next(r for r in rows if r["model"] == "lmlib")
    assert lm["breakdown_ms"]["attention"] > 0  # lmlib calls scaled_dot_product_attention
    assert "where a step's time goes" in capsys.readouterr().out


def test_book_table_is_the_committed_results_rendered():
    committed = json.loads((ROOT / "results/bench/cpu-2core.json").read_text())
    table = (ROOT / "book/bench_table.md").read_text()
    assert bench_report.markdown(committed) == table  # regenerate with --from-json if this fails
    lm = next(r for r in committed["rows"] if r["mode"] == "eager" and r["model"] == "lmlib")
    assert f"{lm['tokens_per_s']['median']:,.0f}" in table
    assert "{include} bench_table.md" in (ROOT / "book/how_to_use.md").read_text()


def test_markdown_marks_missing_models_and_renders_from_json(tmp_path):
    bench.run(_args(tmp_path))  # lmlib and torch-encoder only
    out = tmp_path / "table.md"
    assert bench.run(_args(tmp_path, from_json=tmp_path / "bench.json", markdown=out)) == 0
    row = next(line for line in out.read_text().splitlines() if line.startswith("| tiny"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[1] == "eager" and cells[3] == "-" and cells[5] == "-"  # no HF: no rate, no ratio
    assert re.fullmatch(r"\d+\.\d+", cells[6])  # an MFU, whatever this machine's load


def test_from_json_needs_a_file_and_a_destination(tmp_path):
    with pytest.raises(SystemExit, match="give --markdown"):
        bench.run(_args(tmp_path, from_json=tmp_path / "bench.json"))
    with pytest.raises(SystemExit, match="no results file"):
        bench.run(_args(tmp_path, from_json=tmp_path / "none.json", markdown=tmp_path / "t.md"))


def test_variant_parses_config_changes_and_refuses_the_shape():
    assert bench.parse_variant("bias=False,pos=rope") == {"bias": False, "pos": "rope"}
    assert bench.parse_variant("expansion=2, dropout=0.1") == {"expansion": 2, "dropout": 0.1}
    with pytest.raises(ValueError, match="'bias', 'causal', 'dropout', 'expansion', 'pos'"):
        bench.parse_variant("d_model=256")  # the shape's sizes are the shape's, not a variant's
    with pytest.raises(ValueError, match="KEY=VALUE"):
        bench.parse_variant("bias")
    with pytest.raises(ValueError, match="changes nothing"):
        bench.parse_variant(",")
    model = bench.build_model("lmlib[bias=False]", bench.SHAPES["tiny"])
    assert not [n for n, _ in model.named_parameters() if n.endswith("bias")]
    assert any(
        n.endswith("bias")
        for n, _ in bench.build_model("lmlib", bench.SHAPES["tiny"]).named_parameters()
    )
    with pytest.raises(ValueError, match="unknown model"):
        bench.build_model("gpt-5", bench.SHAPES["tiny"])


def test_variants_run_beside_lmlib_with_their_own_ratio_and_flops(tmp_path, capsys):
    bench.run(_args(tmp_path, variant=["expansion=2"]))
    rows = {r["model"]: r for r in json.loads((tmp_path / "bench.json").read_text())["rows"]}
    assert set(rows) == {"lmlib", "torch-encoder", "lmlib[expansion=2]"}
    v, enc = rows["lmlib[expansion=2]"], rows["torch-encoder"]
    per_repeat = [a / b for a, b in zip(v["tokens_per_s"]["all"], enc["tokens_per_s"]["all"])]
    assert v["ratio_vs_torch-encoder"]["median"] == pytest.approx(statistics.median(per_repeat))
    shape = bench.SHAPES["tiny"]
    narrow = bench.build_model("lmlib[expansion=2]", shape).flops_per_token()
    assert narrow < bench.TransformerLM(shape.model_config()).flops_per_token()
    peak = json.loads((tmp_path / "bench.json").read_text())["matmul_flops"]
    assert v["mfu"] == pytest.approx(v["tokens_per_s"]["median"] * narrow / peak)
    assert "lmlib[expansion=2]" in capsys.readouterr().out


def test_a_bad_variant_stops_before_any_timing(tmp_path, monkeypatch):
    monkeypatch.setattr(bench, "matmul_flops", lambda *a: pytest.fail("timed a bad variant"))
    with pytest.raises(SystemExit, match="pos must be 'learned' or 'rope'"):
        bench.run(_args(tmp_path, variant=["pos=alibi"]))
    with pytest.raises(SystemExit, match="KEY=VALUE"):
        bench.run(_args(tmp_path, variant=["n_layers=2"]))
