"""lmlib bench --generate on the tiny shape: rows, ratios, targets, table (no timing asserted)."""

import json
import statistics
from argparse import Namespace
from pathlib import Path

import pytest

from lmlib.tools import bench, bench_generate


def _args(tmp_path, **kw):
    base = dict(
        generate=True,
        gen_shape="tiny",
        cases=None,
        repeats=2,
        device="cpu",
        json=tmp_path / "gen.json",
        markdown=tmp_path / "gen.md",
        breakdown=False,
        from_json=None,
        threads=1,
    )
    return Namespace(**{**base, **kw})


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("gen")
    assert bench.run(_args(tmp, cases=["4:8", "8:16"])) == 0
    return json.loads((tmp / "gen.json").read_text()), (tmp / "gen.md").read_text()


def test_every_generator_is_timed_at_every_case_with_per_repeat_ratios(result):
    out, _ = result
    assert out["benchmark"] == "generation" and out["repeats"] == 2 and out["wall_time_s"] > 0
    assert out["threads"] == 1
    rows = {(r["prompt"], r["new"], r["model"]): r for r in out["rows"]}
    assert set(rows) == {(p, n, m) for p, n in ((4, 8), (8, 16)) for m in bench_generate.GENERATORS}
    for r in rows.values():
        t = r["tokens_per_s"]
        assert len(t["all"]) == 2 and t["min"] <= t["median"] <= t["max"]
    cached, uncached = (
        rows[8, 16, m]["tokens_per_s"]["all"] for m in ("lmlib-cache", "lmlib-no-cache")
    )
    ratio = rows[8, 16, "lmlib-cache"]["ratio_vs_lmlib-no-cache"]["median"]
    assert ratio == pytest.approx(statistics.median(a / b for a, b in zip(cached, uncached)))
    assert "ratio_vs_hf-gpt2" in rows[8, 16, "lmlib-cache"]


def test_markdown_table_renders_every_case(result):
    out, table = result
    assert table == bench_generate.markdown(out)
    assert "| 4 | 8 |" in table and "| 8 | 16 |" in table and "cache ÷ HF" in table


def test_targets_report_met_and_missed(capsys):
    rows = [
        {
            "prompt": 16,
            "new": 1024,
            "model": "lmlib-cache",
            "ratio_vs_lmlib-no-cache": {"median": 7.0},
            "ratio_vs_hf-gpt2": {"median": 0.9},
        },
    ]
    bench_generate.print_generation_targets(rows)
    out = capsys.readouterr().out
    assert "lmlib cached >= 5.0x lmlib-no-cache: 7.00x met" in out
    assert "lmlib cached >= 1.0x hf-gpt2: 0.90x MISSED" in out


def test_bad_cases_are_refused_before_any_timing(tmp_path):
    with pytest.raises(SystemExit, match="exceed the shape's context of 64"):
        bench.run(_args(tmp_path, cases=["60:8"]))
    with pytest.raises(SystemExit, match="PROMPT:NEW"):
        bench.run(_args(tmp_path, cases=["8-16"]))


def test_book_table_is_the_committed_results_rendered(tmp_path):
    root = Path(__file__).resolve().parents[1]
    committed = json.loads((root / "results/bench/cpu-2core-generate.json").read_text())
    table = (root / "book/bench_generate_table.md").read_text()
    assert bench_generate.markdown(committed) == table  # regenerate with --from-json if this fails
    out = tmp_path / "table.md"  # `lmlib bench --from-json` renders it too
    bench.run(
        _args(tmp_path, from_json=root / "results/bench/cpu-2core-generate.json", markdown=out)
    )
    assert out.read_text() == table
    assert "-dirty" not in committed["git_commit"]
    cases = {(r["prompt"], r["new"]) for r in committed["rows"]}
    assert (16, 1024) in cases and all(p + n <= committed["shape"]["context"] for p, n in cases)
