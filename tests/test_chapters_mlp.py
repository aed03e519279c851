"""Chapter 3.2 and lab 3.2's summary quote `lmlib run mlp_ablation --profile cpu`: every number
in its sentence, and every claim recomputed from the results file."""

import json
from pathlib import Path

import pytest
from claims import find_claim
from nested_close import assert_nested_close

from lmlib.experiments import mlp_ablation

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results" / "mlp_ablation" / "cpu-seed0.json"
CHAPTER = ROOT / "lectures" / "3_2_mlp.md"
LAB = ROOT / "labs" / "solutions" / "3_2_mlp.ipynb"
BIGRAM_FLOOR = 2.48  # nats per character: the bigram count table every variant must clear
WELL_BELOW = 0.2  # nats: what "well below" the bigram table means here


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


def _name(e: int) -> str:
    return "no MLP" if e == 0 else f"expansion {e}"


def _test_losses(record: dict) -> list[float]:
    pe = record["summary"]["per_expansion"]
    return [v for e in record["expansions"] for v in pe[str(e)]["loss"]]


def test_the_run_is_clean_complete_and_recomputes(record):
    assert record["profile"] == "cpu" and record["seeds"] == [0, 1, 2]
    assert record["git_commit"] and not record["git_commit"].endswith("-dirty")
    assert record["settings"] == mlp_ablation.settings("cpu")
    # Medians, picks and gaps of committed floats, recomputed: 1e-9 relative (nested_close.py)
    again = mlp_ablation.summarize(record["runs"], record["probes"])
    assert_nested_close(json.loads(json.dumps(again)), record["summary"], rel=1e-9)
    n_rates, n_seeds = len(record["settings"]["lrs"]), len(record["seeds"])
    assert len(record["runs"]) == 5 * (n_rates + n_seeds - 1) and len(record["probes"]) == 6
    lab = mlp_ablation.lab_settings("cpu")["sizes"]["base_steps"]
    assert record["settings"]["sizes"]["base_steps"] >= 10 * lab  # 10x the lab's FLOPs


def test_every_variant_ends_well_below_the_bigram_table(record):
    bigram = record["bigram_test_loss"]
    assert bigram == pytest.approx(BIGRAM_FLOOR, abs=0.015)
    assert max(_test_losses(record)) < bigram - WELL_BELOW
    assert max(r["val_loss"] for r in record["runs"]) < bigram  # every rate, too


def test_each_rate_was_picked_on_validation_with_the_first_seed(record):
    pe = record["summary"]["per_expansion"]
    for e in record["expansions"]:
        sweep = {r["lr"]: r["val_loss"] for r in record["runs"]
                 if r["expansion"] == e and r["seed"] == 0}  # fmt: skip
        assert set(sweep) == set(record["settings"]["lrs"])
        assert pe[str(e)]["lr"] == min(sweep, key=sweep.get)
        later = {r["lr"] for r in record["runs"] if r["expansion"] == e and r["seed"] > 0}
        assert later == {pe[str(e)]["lr"]}


def test_chapter_table_is_the_ablation(record, chapter):
    s = record["summary"]
    for e in record["expansions"]:
        pe = s["per_expansion"][str(e)]
        row = [_label(e), f"{pe['lr']:g}", str(record["steps"][str(e)]),
               *(f"{v:.3f}" for v in pe["loss"]), f"{pe['median']:.3f}"]  # fmt: skip
        assert "| " + " | ".join(row) + " |" in chapter, row
        for seed, v in zip(record["seeds"], pe["loss"]):
            assert find_claim(chapter, f"{v:.3f}", (_label(e), f"seed {seed}"))


def majority_order(record: dict) -> tuple[list[int], list[int]]:
    """Expansions ordered by how many others they beat in at least 2 of 3 seeds, and the seeds
    in which each one beats the next."""
    li, es = record["summary"]["lower_in"], record["expansions"]
    wins = {e: sum(li[f"{e}<{o}"] >= 2 for o in es if o != e) for e in es}
    order = sorted(es, key=lambda e: -wins[e])
    return order, [li[f"{a}<{b}"] for a, b in zip(order, order[1:])]


def _majority_claims(record: dict, text: str, where: str) -> None:
    order, steps = majority_order(record)
    assert all(k >= 2 for k in steps)  # a consistent order: every step holds in 2 of 3 seeds
    li = record["summary"]["lower_in"]
    for i, a in enumerate(order):  # and every pair along it, not only neighbours
        assert all(li[f"{a}<{b}"] >= 2 for b in order[i + 1 :])
    words = ", ".join(_name(e) for e in order)
    assert find_claim(text, words, ("at least 2 of 3 seeds",)), (where, words)
    flat = " ".join(text.split())
    for (a, b), k in zip(zip(order, order[1:]), steps):
        assert f"{_name(a)} below {_name(b)} in {k} of 3 seeds" in flat, (where, a, b)


def _order_claims(record: dict, text: str, where: str) -> None:
    _majority_claims(record, text, where)
    s = record["summary"]
    order = s["order_by_median"]
    words = ", ".join(_name(e) for e in order)
    assert find_claim(text, words, ("median",)), (where, words)
    for (a, b), k in zip(zip(order, order[1:]), s["order_steps"]):
        assert k == s["lower_in"][f"{a}<{b}"]
        fragment = f"{_name(a)} below {_name(b)} in {k} of 3 seeds"
        assert fragment in " ".join(text.split()), (where, fragment)


def test_chapter_states_the_ordering_and_where_no_mlp_stands(record, chapter):
    _order_claims(record, chapter, "chapter")
    held = all(k >= 2 for k in record["summary"]["order_steps"])
    phrase = ("each step of that order holds in at least 2 of 3 seeds" if held
              else "not every step of that order holds in 2 of 3 seeds")  # fmt: skip
    assert phrase in " ".join(chapter.split())
    li = record["summary"]["lower_in"]
    assert all(li[f"{e}<0"] == 3 for e in (1, 2, 4, 8))  # "no MLP was last in every seed"
    assert "no MLP was last in every seed" in " ".join(chapter.split())
    for e in (1, 2):
        fragment = f"expansion {e} was lower than no MLP in {li[f'{e}<0']} of 3 seeds"
        assert fragment in " ".join(chapter.split()), fragment
    st = record["steps"]
    assert find_claim(chapter, str(st["0"]), ("no MLP takes", f"expansion 1's {st['1']}",
                                         f"expansion 2's {st['2']}"))  # fmt: skip
    best, second = record["summary"]["order_by_median"][:2]
    g = record["summary"]["gaps_to_best"][str(second)]
    assert not g["exceeds_spread"]  # the chapter says the lead is within the seeds' spread
    for v in (g["median_gap"], g["spread"]):
        words = ("median lead", "spread", _name(best).capitalize(), _name(second))
        assert find_claim(chapter, f"{v:.3f}", words)
    assert find_claim(chapter, f"{g['best_lower_in']} of 3 seeds", ("median lead", "holds in"))
    params = [r["params"] for r in record["runs"]]
    lo, hi = round(min(params) / 1000), round(max(params) / 1000)
    assert find_claim(chapter, f"{lo} to {hi}", ("from", "thousand parameters", "learning rate"))
    sizes = record["settings"]["sizes"]
    assert find_claim(chapter, f"width {sizes['d_model']}, {sizes['n_layers']} layers", ("cpu",))
    assert find_claim(chapter, f"{sizes['batch_size']} windows of {sizes['context']} characters",
                      (f"the FLOPs of {sizes['base_steps']} steps at expansion 4",))  # fmt: skip
    rates = record["settings"]["lrs"]
    listed = ", ".join(f"{r:g}" for r in rates[:-1]) + f" and {rates[-1]:g}"
    assert find_claim(chapter, listed, ("seed 0",))


def test_chapter_quotes_the_bigram_floor_and_the_margin(record, chapter):
    bigram = record["bigram_test_loss"]
    margin = bigram - max(_test_losses(record))
    assert find_claim(chapter, f"{bigram:.3f}", ("bigram", "test half"))
    assert find_claim(chapter, f"{margin:.2f}", ("every variant", "every seed", "below"))


def test_chapter_says_which_rates_sit_at_the_edge_of_the_grid(record, chapter):
    pe = record["summary"]["per_expansion"]
    top = max(record["settings"]["lrs"])
    edge = [e for e in record["expansions"] if pe[str(e)]["lr"] == top]
    if len(edge) == len(record["expansions"]):
        assert find_claim(chapter, f"{top:g}", ("every variant", "largest rate", "grid"))
    elif edge:
        names = ", ".join(_name(e) for e in edge)
        assert find_claim(chapter, f"{top:g}", ("largest rate", "grid", names)), edge


def _probe_claims(record: dict, text: str, where: str) -> None:
    p = record["summary"]["probe"]
    half, steps = record["probes"][0]["half_step"], record["probes"][0]["steps"]
    assert (half, steps) == (steps // 2, record["settings"]["probe_steps"])
    assert find_claim(text, _three(p["half"]["attention_only"]),
                      (f"after {half} steps", "without the MLP")), where  # fmt: skip
    assert find_claim(text, _three(p["half"]["mlp"]), (f"after {half} steps", "with")), where
    assert find_claim(text, _three(p["end"]["attention_only"]),
                      (f"after {steps} steps", "without the MLP")), where  # fmt: skip
    assert find_claim(text, _three(p["end"]["mlp"]), (f"after {steps} steps", "with it")), where
    for at, n in (("half", p["half"]["mlp_lower_in"]), ("end", p["end"]["mlp_lower_in"])):
        step = half if at == "half" else steps
        fragment = f"the MLP was lower after {step} steps in {n} of 3 seeds"
        assert fragment in " ".join(text.split()), (where, fragment)


def test_chapter_tempers_the_linearity_claim_with_the_probe(record, chapter):
    _probe_claims(record, chapter, "chapter")
    end = record["summary"]["probe"]["end"]["attention_only"]
    learned = sum(v < 0.5 for v in end)  # attention alone learned most of the table
    assert find_claim(chapter, f"{learned} of 3 seeds", ("attention-only", "below 0.5"))
    assert "almost linear" not in chapter and "close to a linear network" not in chapter


def test_chapter_states_the_cost(record, chapter):
    n = len(record["runs"])
    assert find_claim(chapter, str(n), ("training runs", "minutes"))
    minutes = record["runs_cpu_s"] / 2 / 60
    assert find_claim(chapter, f"{minutes:.0f}", ("minutes", "2 cores", "CPU time"))


def test_gated_mlp_passage(chapter):
    from math import isclose

    D, d_ff = 768, 3072
    assert d_ff == 4 * D and round(8 / 3 * D) == 2048
    assert 3 * round(8 / 3 * D) * D == 2 * d_ff * D  # three matrices at 8D/3 = two at 4D
    for width in (64, 128, 512, 4096):  # at other widths, rounding makes it about equal
        assert isclose(3 * round(8 / 3 * width) * width, 2 * 4 * width * width, rel_tol=0.01)
    assert find_claim(chapter, "3072 to 2048", ("Shazeer", "width of 768"))
    assert find_claim(chapter, f"{8 / 3:.2f}", ("8D/3", "4 times"))
    assert "{cite}`shazeer2020glu`" in chapter and "3FD" in chapter and "2FD" in chapter


def test_lab_summary_quotes_the_run(record, lab):
    _order_claims(record, lab, "lab")
    _probe_claims(record, lab, "lab")
    s = record["summary"]
    for e in record["expansions"]:
        pe = s["per_expansion"][str(e)]
        assert find_claim(lab, f"{pe['median']:.3f}", (_name(e), "median")), e
    assert find_claim(lab, f"{record['bigram_test_loss']:.3f}", ("bigram",))
