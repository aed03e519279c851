"""Chapter 3.2 and lab 3.2's summary quote the committed `lmlib run mlp_ablation --profile cpu`."""

import json
import math
import statistics
from pathlib import Path

import pytest
from claims import find_claim
from nested_close import assert_nested_close

from lmlib.experiments import mlp_ablation

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results" / "mlp_ablation" / "cpu-seed0.json"
CHAPTER = ROOT / "lectures" / "3_2_mlp.md"
LAB = ROOT / "labs" / "solutions" / "3_2_mlp.ipynb"


@pytest.fixture(scope="module")
def record() -> dict:
    return json.loads(RESULTS.read_text())


@pytest.fixture(scope="module")
def chapter() -> str:
    return CHAPTER.read_text()


@pytest.fixture(scope="module")
def lab() -> str:
    nb = json.loads(LAB.read_text())
    cells = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown"]
    return next(c for c in cells if c.startswith("## What we measured"))


def _three(values: list[float]) -> str:
    return f"{values[0]:.3f}, {values[1]:.3f} and {values[2]:.3f}"


def _label(e: int) -> str:
    return "none" if e == 0 else str(e)


def test_committed_run_is_clean_and_complete(record):
    assert record["profile"] == "cpu" and record["seeds"] == [0, 1, 2]
    assert record["git_commit"] and not record["git_commit"].endswith("-dirty")
    assert record["threads"] == 1
    # Medians and gaps of committed floats, recomputed: 1e-9 relative (see nested_close.py)
    again = mlp_ablation.summarize(record["runs"], record["probes"])
    assert_nested_close(json.loads(json.dumps(again)), record["summary"], rel=1e-9)
    assert record["settings"] == mlp_ablation.settings("cpu")
    assert len(record["runs"]) == 5 * 3 and len(record["probes"]) == 2 * 3


def test_chapter_table_is_the_committed_ablation(record, chapter):
    s = record["summary"]
    for e in record["expansions"]:
        pe = s["per_expansion"][str(e)]
        row = [_label(e), str(record["steps"][str(e)]), *(f"{v:.3f}" for v in pe["loss"]),
               f"{pe['median']:.3f}"]  # fmt: skip
        assert "| " + " | ".join(row) + " |" in chapter, row
        assert find_claim(chapter, row[1], (_label(e), "steps"))
        for seed, v in zip(record["seeds"], pe["loss"]):
            assert find_claim(chapter, f"{v:.3f}", (_label(e), f"val loss, seed {seed}"))
        assert find_claim(chapter, f"{pe['median']:.3f}", (_label(e), "median"))


def _ablation_claims(record: dict, text: str, where: str) -> None:
    s = record["summary"]
    assert s["best_median"] == 4 and s["lowest_count"]["4"] == 2
    assert s["lowest_per_seed"] == {"0": 4, "1": 2, "2": 4}
    assert find_claim(text, "2 of 3 seeds", ("expansion 4", "lowest median", "lowest in")), where
    gaps = s["gaps_to_best"]
    for e, name in ((0, "no MLP"), (1, "expansion 1"), (8, "expansion 8")):
        g = gaps[str(e)]
        assert g["exceeds_spread"] and g["best_lower_in"] == 3
        assert find_claim(text, f"{g['median_gap']:.3f}", (name, "larger than the spread")), e
    g2 = gaps["2"]
    assert not g2["exceeds_spread"] and g2["spread"] == s["per_expansion"]["2"]["spread"]
    assert find_claim(text, f"{g2['median_gap']:.3f}", ("expansion 2", "is not")), where
    assert find_claim(text, f"{g2['spread']:.3f}", ("expansion 2's three seeds", "spread")), where


def test_chapter_reads_the_ablation(record, chapter):
    _ablation_claims(record, chapter, "chapter")
    assert find_claim(chapter, "3 of 3 seeds", ("expansion 4 was lower than each of them",))
    s = record["settings"]["sizes"]
    assert find_claim(chapter, f"width {s['d_model']}, {s['n_layers']} layers", ("cpu",))
    assert find_claim(chapter, f"{s['batch_size']} windows of {s['context']} characters",
                      (f"the FLOPs of {s['base_steps']} steps at expansion 4",))  # fmt: skip


def _probe_claims(record: dict, text: str, where: str) -> None:
    p = record["summary"]["probe"]
    half, steps = record["probes"][0]["half_step"], record["probes"][0]["steps"]
    assert (half, steps) == (75, 150) == (steps // 2, record["settings"]["probe_steps"])
    assert find_claim(text, _three(p["half"]["attention_only"]),
                      (f"after {half} steps", "without the MLP")), where  # fmt: skip
    assert find_claim(text, _three(p["half"]["mlp"]), (f"after {half} steps", "with")), where
    assert find_claim(text, _three(p["end"]["attention_only"]),
                      (f"after {steps} steps", "without the MLP")), where  # fmt: skip
    assert find_claim(text, _three(p["end"]["mlp"]), (f"after {steps} steps", "with it")), where
    assert p["half"]["mlp_lower_in"] == p["end"]["mlp_lower_in"] == 3
    assert find_claim(text, "3 of 3 seeds", ("MLP was lower", "both points", "seed 1")), where
    gap = [a - b for a, b in zip(p["half"]["attention_only"], p["half"]["mlp"])]
    assert min(gap) == gap[1] < 0.05 < min(gap[0], gap[2])  # "only just in seed 1"


def test_chapter_backs_much_slower_with_the_probe(record, chapter):
    _probe_claims(record, chapter, "chapter")
    assert (
        "and it is much slower to do so. In the `cpu` run of the probe in `results/mlp_ablation/`"
        in chapter
    )
    ps = record["probe_settings"]
    fresh = f"{record['settings']['probe_steps']} steps of {ps['batch_size']} fresh sequences"
    assert find_claim(chapter, fresh, ("probe", "seeds 0, 1 and 2"))
    assert ps["vocab_size"] == 6 and f"{math.log(6):.2f}" == "1.79"
    assert find_claim(chapter, "1.79", ("uniform guessing", "six symbols"))


def test_gated_mlp_passage(chapter):
    D, d_ff = 768, 3072
    assert d_ff == 4 * D and round(8 / 3 * D) == 2048
    assert 3 * round(8 / 3 * D) * D == 2 * d_ff * D  # three matrices at 8D/3 = two at 4D
    for width in (64, 128, 512, 4096):  # at other widths, rounding makes it about equal
        assert abs(3 * round(8 / 3 * width) * width / (2 * 4 * width * width) - 1) < 0.01
    assert find_claim(chapter, "3072 to 2048", ("Shazeer", "width of 768"))
    assert find_claim(chapter, f"{8 / 3:.2f}", ("8D/3", "4 times"))
    assert "{cite}`shazeer2020glu`" in chapter and "3FD" in chapter and "2FD" in chapter


def test_lab_summary_quotes_the_committed_run(record, lab):
    _ablation_claims(record, lab, "lab")
    _probe_claims(record, lab, "lab")
    steps = record["steps"]
    assert find_claim(lab, f"{steps['0']} steps with no MLP, {steps['4']} at expansion 4, "
                      f"{steps['8']} at expansion 8", ("more steps",))  # fmt: skip
    s = record["summary"]
    assert find_claim(lab, f"{s['per_expansion']['4']['median']:.3f}", ("expansion 4", "median"))
    seed1_best = s["per_expansion"]["2"]["loss"][1]
    assert find_claim(lab, f"{seed1_best:.3f}", ("expansion 2", "seed 1"))
    secs = {e: statistics.median(r["cpu_s"] for r in record["runs"] if r["expansion"] == e)
            for e in (0, 8)}  # fmt: skip
    assert secs[0] > secs[8]
    assert find_claim(lab, f"{secs[0]:.2f} s", (f"{steps['0']} steps", "without an MLP", "medians"))
    assert find_claim(lab, f"{secs[8]:.2f} s", (f"{steps['8']} steps", "expansion 8"))
