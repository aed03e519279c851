"""The driving-force chapter quotes the committed price_trend and crossover runs, and the fit it
quotes is the table's."""

import json
import math
import re
from pathlib import Path

import pytest

from lmlib.analysis.price_performance import bootstrap_doubling, fit_trend
from lmlib.data.compute_prices import years_and_values

ROOT = Path(__file__).resolve().parents[1]
TEXT = (ROOT / "lectures" / "2_1_driving_force.md").read_text()
PRICE = json.loads((ROOT / "results" / "price_trend" / "cpu-seed0.json").read_text())
RACE = json.loads((ROOT / "results" / "crossover" / "cpu-seed0.json").read_text())


def sci(x: float) -> str:
    m, e = f"{x:.1e}".split("e")
    return f"{m}e{int(e)}"


def money(v: float) -> str:
    for unit, div in (("trillion", 1e12), ("billion", 1e9), ("million", 1e6)):
        if v >= div:
            return f"{v / div:.1f} {unit}"
    return f"{v:,.0f}" if v >= 1000 else f"{v:.2g}"


def missing(quoted: list[str]) -> list[str]:
    flat = " ".join(TEXT.split())
    return [q for q in quoted if " ".join(q.split()) not in flat]


def test_the_quoted_fit_is_the_table_s_fit():
    years, values = years_and_values()
    trend = fit_trend(years, values)
    fit = PRICE["fits"]["all"]
    assert fit["doubling_years"] == pytest.approx(trend.doubling_years, rel=1e-9)
    lo, hi = bootstrap_doubling(years, values, n_boot=PRICE["n_boot"], seed=PRICE["seed"])
    assert fit["doubling_years_95"] == pytest.approx([lo, hi], rel=1e-9)
    assert PRICE["n_machines"] == len(years)


def test_the_priced_sweep_is_the_scaling_sweep_on_disk():
    """The sweep's FLOPs are taken from another experiment's results: recomputed here from the
    scaling run files, so a rerun of the sweep without a rerun of price_trend fails."""
    from lmlib.experiments.price_trend import SCALING_RESULTS, sweep_flops

    runs = sorted(SCALING_RESULTS.glob("*-seed*.json"))
    assert len(runs) >= 15  # five sizes x three seeds
    assert PRICE["sweep_flops"] == pytest.approx(sweep_flops(), rel=1e-9)
    total = sum(json.loads(p.read_text())["compute"] for p in runs)
    assert PRICE["sweep_flops"] == pytest.approx(total, rel=1e-9)
    lab = (ROOT / "labs" / "solutions" / "2_1_driving_force.ipynb").read_text()
    fallback = float(re.search(r"sweep if sweep is not None else ([0-9.e+]+)", lab)[1])
    assert fallback == pytest.approx(total, rel=0.01)  # the lab's figure without results/


def test_chapter_quotes_the_price_performance_results():
    a, b, g = (PRICE["fits"][k] for k in ("all", "before_2008", "from_2008"))
    lo, hi = a["doubling_years_95"]
    costs = PRICE["sweep_hardware_usd_one_day"]
    quoted = [
        f"of {PRICE['n_machines']} machines from 1944 to 2025",
        f"a doubling every **{a['doubling_years']:.2f} years**",
        f"(95% bootstrap interval {lo:.2f} to {hi:.2f} years, from {PRICE['n_boot']} resamples",
        f"ten times every **{a['tenfold_years']:.1f} years**",
        f"The {b['n']} rows before 2008 double every {b['doubling_years']:.2f} years "
        f"({b['doubling_years_95'][0]:.2f} to {b['doubling_years_95'][1]:.2f})",
        f"the {g['n']} rows from 2008 on, almost all GPUs, double every "
        f"**{g['doubling_years']:.2f} years** ({g['doubling_years_95'][0]:.2f} to "
        f"{g['doubling_years_95'][1]:.2f}), ten times every {g['tenfold_years']:.1f} years",
        f"spent {sci(PRICE['sweep_flops'])} training FLOPs",
        f"about {money(costs['1950'])} dollars in 1950, {money(costs['1970'])} in 1970, "
        f"{money(costs['1990'])} in 1990, {money(costs['2010'])} in 2010 and "
        f"{money(costs['2025'])} in 2025",
    ]
    words = {16: "sixteen", 17: "seventeen", 18: "eighteen"}
    years, values = years_and_values()
    quoted.append(
        f"in {max(years) - min(years)} years the compute a dollar buys grew by about "
        f"{words[round(math.log10(max(values) / min(values)))]} powers of ten"
    )
    assert not missing(quoted), missing(quoted)
    assert a["ratio_to_talk"] == pytest.approx(1, abs=0.1)  # "the data agree with the talk"
    assert g["doubling_years_95"][0] > a["doubling_years_95"][1]  # "about half the rate"


def test_chapter_describes_the_table_s_sources():
    from lmlib.data.compute_prices import price_performance_table

    rows = price_performance_table()
    epoch = [r.year for r in rows if "Epoch AI" in r.source]
    assert f"the GPU rows ({min(epoch)} to {max(epoch)}) are release prices" in TEXT
    compiled = max(r.year for r in rows[:-1] if "Epoch AI" not in r.source)
    assert f"Most rows up to {compiled} come from museum" in " ".join(TEXT.split())
    assert rows[-1].year == 2025 and "Epoch AI" not in rows[-1].source


def test_chapter_quotes_the_crossover_results():
    r = RACE
    mean = {m: [sum(c) / len(c) for c in zip(*r["loss"][m])] for m in r["loss"]}
    c = r["crossovers"]
    spread = max(max(p / v["mean"], v["mean"] / p) for v in c.values() for p in v["per_seed"])
    n = len(r["seeds"])
    quoted = [
        f"lowest loss in {r['lowest']['smallest'].count('ngram')} of {n} seeds",
        f"the Transformer has the lowest in {r['lowest']['largest'].count('transformer')} of {n}",
        f"the CNN passes the bigram at **{sci(c['cnn_over_ngram']['mean'])} FLOPs**",
        f"the Transformer passes the bigram at **{sci(c['transformer_over_ngram']['mean'])}**",
        f"and the CNN at **{sci(c['transformer_over_cnn']['mean'])}**",
        f"within a factor of {spread:.2f} of these",
        f"loss is **{r['floor']:.2f}** nats per token",
        f"{r['wall_time_s']:.0f} s of wall time on two CPU cores",
        f"The bigram stays at {mean['ngram'][-1]:.2f} whatever the budget",
        f"then stalls at {mean['cnn'][-1]:.2f}",
        f"({mean['transformer'][0]:.2f}, against {mean['ngram'][0]:.2f} for the bigram)",
        f"at the largest it reaches {mean['transformer'][-1]:.2f}",
        f"worth {mean['transformer'][0] - mean['ngram'][0]:.2f} nats per token",
        f"cost {mean['ngram'][-1] - mean['transformer'][-1]:.2f} at the largest",
        f"{len(r['budgets'])} compute budgets from {sci(r['budgets'][0])} to "
        f"{sci(r['budgets'][-1])} FLOPs",
        f"{math.log10(r['budgets'][-1] / r['budgets'][0]):.1f} orders of magnitude",
    ]
    s, task = r["settings"], r["settings"]["task"]
    quoted += [
        f"a string of {task['prefix_len']} symbols (from {task['n_symbols']})",
        f"{2 * task['prefix_len'] + 2} tokens in all",
        f"repeats the one {task['prefix_len'] + 1} positions earlier",
        f"{s['cnn_layers']} layers of kernel {s['kernel_size']}, no dilation)",
        f"depends on the previous {1 + s['cnn_layers'] * (s['kernel_size'] - 1)} only",
        f"{s['transformer_layers']} layers, rotary positions)",
        f"for {n} seeds",
        "bigram counts** (`lmlib.models.ngram`)",
    ]
    assert s["ngram_order"] == 2 and s["n_seeds"] == n and task["n_next"] == 3
    assert "decides which three symbols may come next" in " ".join(TEXT.split())
    first = {m: mean[m][0] for m in mean}
    assert max(first, key=first.get) == "transformer"  # "the worst model at the smallest budget"
    for model in ("ngram", "cnn", "transformer"):
        for seed, row in zip(r["seeds"], r["loss"][model]):
            quoted.append(f"| {model}, seed {seed} | " + " | ".join(f"{v:.3f}" for v in row) + " |")
    assert not missing(quoted), missing(quoted)


def test_chapter_5_points_to_the_measured_crossover():
    text = (ROOT / "lectures" / "2_2_rnn_cnn_transformer.md").read_text()
    assert "keeps improving as compute grows" not in text
    assert "2_1_driving_force" in text
    s = RACE["settings"]
    rf = 1 + s["cnn_layers"] * (s["kernel_size"] - 1)
    words = {3: "three", 5: "five"}
    for quote in (f"a {rf}-token window", f"{words[len(RACE['budgets'])]} compute budgets",
                  f"{words[len(RACE['seeds'])]} seeds each"):  # fmt: skip
        assert quote in " ".join(text.split()), quote
    assert set(RACE["lowest"]["largest"]) == {"transformer"}  # "in every seed"


def test_chapter_7_quotes_the_table_s_doubling_time():
    text = " ".join((ROOT / "lectures" / "5_1_incentives.md").read_text().split())
    doubling = PRICE["fits"]["all"]["doubling_years"]
    assert "a doubling every one and a half years in our table" in text
    assert round(doubling * 2) / 2 == 1.5
