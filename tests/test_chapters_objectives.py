"""Numbers quoted in the pretraining-objectives chapter agree with the results of
`lmlib run objectives --profile cpu`, each in its sentence or table cell (tests/claims.py), and
its figures redraw from them."""

import json
from pathlib import Path

import pytest
from claims import find_claim

from lmlib.analysis.context_tasks import TASKS
from lmlib.experiments import objectives

ROOT = Path(__file__).resolve().parents[1]
SUMMARY = ROOT / "results" / "objectives" / "cpu" / "summary.json"
CHAPTER = ROOT / "lectures" / "4_2_pretraining_objectives.md"
SHARES = ("1/8", "1/4", "1/2", "all")
NAMES = {"mlm": "MLM", "electra": "ELECTRA", "replace_mlm": "Replace MLM"}
NAMES |= {"all_tokens_mlm": "All-Tokens MLM", "electra_15": "ELECTRA 15%"}
PAPER = {"mlm": "82.2", "electra": "85.0", "replace_mlm": "82.4", "all_tokens_mlm": "84.3"}
PAPER["electra_15"] = "82.4"


def pct(x: float) -> str:
    return f"{100 * x:.1f}"


def signed(x: float) -> str:
    return f"{100 * x:+.1f}".replace("-", "−")


@pytest.fixture(scope="module")
def summary() -> dict:
    return json.loads(SUMMARY.read_text())


@pytest.fixture(scope="module")
def text() -> str:
    return CHAPTER.read_text()


def seeds(summary: dict) -> list[str]:
    return [str(k) for k in summary["settings"]["seeds"]]


def test_the_runs_are_at_equal_compute_paired_and_clean(summary):
    s = objectives.settings("cpu")
    assert summary["settings"]["seeds"] == [0, 1, 2] and len(s.seeds) == 3
    budget = summary["settings"]["pretrain"]["flops"]
    for name, by_seed in summary["runs"].items():
        for seed, r in by_seed.items():
            spent = r["final"]["flops"]
            assert spent <= budget < spent + r["flops_per_step"], (name, seed)
    for name in ("mlm", "electra"):
        assert sorted(summary["runs"][name]) == ["0", "1", "2"]
    # one untrained score per seed: every objective started from the same encoder
    assert all(len(v) == 1 for v in summary["floor_by_seed"].values())
    for p in sorted(SUMMARY.parent.glob("*-seed*.json")):
        commit = json.loads(p.read_text())["git_commit"]
        assert commit and not commit.endswith("-dirty"), p.name


def test_figures_redraw_from_the_results(tmp_path):
    from lmlib.tools.cli import main

    args = ["run", "objectives", "--profile", "cpu", "--figures", "--figdir", str(tmp_path)]
    assert main(args) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "objectives_equal_compute.png",
        "objectives_paired_differences.png",
    ]
