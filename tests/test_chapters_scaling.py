"""Every number the scaling and emergence chapters state comes from the committed cpu sweep: each
is found in its own sentence or table cell beside the words that give it its meaning
(tests/claims.py), and equals what the results files give."""

import json
import math
from pathlib import Path

import pytest
from claims import find_claim, sentences
from nested_close import assert_nested_close

ROOT = Path(__file__).resolve().parents[1]
SWEEP = ROOT / "results" / "scaling" / "cpu"
CH3, CH4 = "1_2_scaling", "1_3_emergence"
TABLE = (  # (probe/metric, column header) of the emergence chapter's table
    ("agreement/two_way", "agreement (two-way)"),
    ("facts/exact", "facts (exact)"),
    ("quotes/exact", "quote endings (exact)"),
    ("copying/exact", "copying (exact)"),
    ("arithmetic_1_seen/exact", "1-digit sums, seen (exact)"),
    ("arithmetic_3/exact", "3-digit sums (exact)"),
    ("arithmetic_3/token_acc", "3-digit sums (per digit)"),
    ("memo_trap/two_way", "memo trap (two-way)"),
)
LABELS = {  # probe/metric -> how the chapter names the task when it gives its shape
    "agreement/two_way": "agreement",
    "facts/exact": "facts",
    "quotes/exact": "quote endings",
    "copying/exact": "copying",
    "arithmetic_1_seen/exact": "1-digit sums",
    "arithmetic_2_seen/exact": "2-digit sums",
    "arithmetic_3/exact": "3-digit sums",
    "arithmetic_3/token_acc": "3-digit digits",
    "memo_trap/two_way": "memo trap",
}
SEEN = ("arithmetic_1", "arithmetic_2", "arithmetic_3", "agreement", "sentiment")


def load() -> tuple[dict, list[dict]]:
    summary = json.loads((SWEEP / "summary.json").read_text())
    runs = [json.loads((SWEEP / name).read_text()) for name in summary["runs"]]
    return summary, runs


def k(n: float) -> str:
    return f"{n / 1e3:.1f}K" if n < 1e4 else f"{n / 1e3:.0f}K"


def pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def recall(runs: list[dict], size: str, min_count: int) -> float:
    vals = [
        row["exact"]
        for r in runs
        if r["size"] == size
        for row in r["facts_by_count"]
        if row["min_count"] == min_count
    ]
    return sum(vals) / len(vals)


def count(flags) -> str:
    """'N of M seeds' for a list of booleans, one per seed."""
    flags = list(flags)
    return f"{sum(flags)} of {len(flags)} seeds"


def claims() -> list[tuple[str, str, str, tuple[str, ...]]]:
    """(chapter, name, the text it quotes, words beside it) for every number the chapters state."""
    s, runs = load()
    seeds = [str(x) for x in s["seeds"]]
    main, control, u = s["ladders"]["main"], s["ladders"]["control"], s["ladders"]["u"]
    at = {n: i for i, n in enumerate(s["sizes"])}
    first, last = main[0], main[-1]
    f, h, p = s["frontier"], s["held_out"]["pooled"], s["params_fit"]
    lo, hi = f["alpha_interval"]
    med = lambda key, n: s["metrics"][key][n]["median"]  # noqa: E731
    seed = lambda key, n, x: s["metrics"][key][n]["seeds"][x]  # noqa: E731
    items = s["probe_items"]
    decades = [
        math.log10(s["compute"][at[b]] / s["compute"][at[a]]) for a, b in zip(main, main[1:])
    ]
    out = [
        (CH3, "n_seeds", str(len(seeds)), ("seeds", "tokens")),
        (CH3, "n_main", str(len(main)), ("widths", "three layers")),
        (CH3, "width_lo", str(s["widths"][at[first]]), ("widths", "three layers")),
        (CH3, "width_hi", str(s["widths"][at[last]]), ("widths", "three layers")),
        (CH3, "gap_lo", f"{min(decades):.2f}", ("decades", "apart")),
        (CH3, "gap_hi", f"{max(decades):.2f}", ("decades", "apart")),
        (CH3, "n_control", str(len(control)), ("two-layer", "control")),
        (CH3, "params_lo", k(s["params"][at[first]]), ("parameters",)),
        (CH3, "params_hi", k(s["params"][at[last]]), ("parameters",)),
        (CH3, "tokens", f"{s['tokens']:,}", ("tokens",)),
        (CH3, "compute_lo", f"{s['compute'][at[first]]:.1e}", ("compute", "FLOPs")),
        (CH3, "compute_hi", f"{s['compute'][at[last]]:.1e}", ("compute", "FLOPs")),
        (CH3, "runs", str(len(runs)), ("runs", "two cores")),
        (
            CH3,
            "cpu_minutes",
            f"{s['run_cpu_time_s'] / 2 / 60:.0f} minutes",
            ("two cores", "processor time"),
        ),
        (CH3, "held_tokens", f"{s['held_out_tokens']:,}", ("held-out", "tokens")),
        (CH3, "a1_seen", str(items["arithmetic_1_seen"]), ("1-digit", "training")),
        (CH3, "a2_seen", str(items["arithmetic_2_seen"]), ("2-digit", "training")),
        (CH3, "a3_held", f"{items['arithmetic_3']:,}", ("3-digit", "never")),
        (CH3, "a3_seen", str(items["arithmetic_3_seen"]), ("3-digit", "memorisation")),
        (CH3, "agree_held", str(items["agreement"]), ("agreement", "held out")),
        (CH3, "memo_items", str(items["memo_trap"]), ("memo trap", "items")),
        (CH3, "quotes", str(items["quotes"]), ("quotes",)),
        (CH3, "n_people", str(items["facts"] // 4), ("made-up people",)),
        (CH3, "window", f"{100 * s['fit_window']:.0f}%", ("fixed", "window")),
        (CH3, "alpha", f"{f['fit']['alpha']:.2f}", ("alpha", "bootstrap", "frontier")),
        (CH3, "alpha_lo", f"{lo:.2f}", ("alpha", "bootstrap")),
        (CH3, "alpha_hi", f"{hi:.2f}", ("alpha", "bootstrap")),
        (CH3, "l_inf", f"{f['fit']['l_inf']:.2f}", ("floor", "nats")),
        (CH3, "r2", f"{f['r2_log']:.3f}", ("R^2", "log-log")),
        (CH3, "span", f"{f['span_decades']:.1f}", ("orders of magnitude", "frontier")),
        (CH3, "ahead", f"{h['ahead']:.1f}", ("times the compute",)),
        (CH3, "predicted", f"{h['predicted']:.3f}", ("predicted", "largest size")),
        (CH3, "measured", f"{h['measured']:.3f}", ("median", "measured")),
        (CH3, "error", pct(h["error"]), ("off by", "prediction")),
        (CH3, "naive", f"{h['naive']:.3f}", ("last fitted size",)),
        (CH3, "naive_error", pct(h["naive_error"]), ("last fitted size", "off by")),
        (CH3, "pfit_alpha", f"{p['alpha']:.2f}", ("parameters", "alpha")),
        (CH3, "recall1_lo", f"{recall(runs, first, 1):.2f}", ("once", "smallest")),
        (CH3, "recall1_hi", f"{recall(runs, last, 1):.2f}", ("once", "largest")),
        (CH3, "recall4_lo", f"{recall(runs, first, 4):.2f}", ("4 to 15",)),
        (CH3, "recall4_hi", f"{recall(runs, last, 4):.2f}", ("4 to 15",)),
        (CH3, "digits_lo", f"{med('arithmetic_3/token_acc', first):.2f}", ("smallest", "digits")),
        (
            CH3,
            "halves",
            count(
                s["held_out"][x]["error"] <= 0.5 * s["held_out"][x]["naive_error"] for x in seeds
            ),
            ("half", "naive"),
        ),
    ]
    out += addition_lottery(s, seeds, main)
    for x in seeds:
        e = s["held_out"][x]
        out.append((CH3, f"seed_error_{x}", pct(e["error"]), (f"seed {x}",)))
        out.append((CH3, f"seed_naive_{x}", pct(e["naive_error"]), (f"seed {x}",)))
    for n in main:
        for x in seeds:
            v = s["loss"][n]["seeds"][x]
            out.append((CH3, f"loss_{n}_{x}", f"{v:.3f}", (f"seed {x}", n)))
        out.append((CH3, f"loss_{n}", f"{s['loss'][n]['median']:.3f}", ("median", n)))
        for key, col in TABLE:
            out.append((CH4, f"row_{n}_{key}", f"{med(key, n):.2f}", (n, col)))
    for row in s["fit_start"]:
        fr = f"{100 * row['fraction']:.0f}%"
        for value, col in (
            (str(row["points"]), "points"),
            (f"{row['r2_log']:.3f}", "R^2 (log-log)"),
            (f"{row['predicted']:.3f}", "predicted"),
            (pct(row["error"]), "error"),
            (pct(row["naive_error"]), "naive error"),
        ):
            out.append((CH3, f"start_{fr}_{col}", value, (fr, col)))
    for n, side in ((first, "smallest"), (last, "largest")):
        run = [r for r in runs if r["size"] == n and str(r["seed"]) == seeds[0]][0]
        for t in run["decomposition"]["tasks"]:
            out.append(
                (CH3, f"share_{n}_{t['task']}", f"{t['share']:.0%}", (t["task"], f"share ({side})"))
            )
            out.append(
                (CH3, f"part_{n}_{t['task']}", f"{t['loss']:.2f}", (t["task"], f"loss ({side})"))
            )
    out += emergence_claims(s, seeds, main, control, u, med, seed)
    return out


LEARNED = 0.5  # a run has learned held-out 3-digit sums when its exact match is above this


def addition_lottery(s, seeds, main) -> list:
    """How many main-ladder runs learn held-out 3-digit sums, and in how many of the sizes whose
    seeds disagree the runs that learned end below every run of their size that did not."""
    acc, loss = s["metrics"]["arithmetic_3/exact"], s["loss"]
    learned = [(n, x) for n in main for x in seeds if acc[n]["seeds"][x] > LEARNED]
    mixed = lower = 0
    for n in main:
        yes = [loss[n]["seeds"][x] for x in seeds if acc[n]["seeds"][x] > LEARNED]
        no = [loss[n]["seeds"][x] for x in seeds if acc[n]["seeds"][x] <= LEARNED]
        if yes and no:
            mixed, lower = mixed + 1, lower + (max(yes) < min(no))
    runs = f"{len(learned)} of the {len(main) * len(seeds)} runs"
    return [
        (CH3, "a3_learned_runs", runs, ("3-digit sums", "exact match", "one half")),
        (CH3, "a3_learned_lower", f"{lower} of the {mixed} sizes", ("lower loss", "learned")),
    ]


def emergence_claims(s, seeds, main, control, u, med, seed) -> list:
    width = dict(zip(s["sizes"], s["widths"]))
    out = [(CH4, "n_seeds", str(len(seeds)), ("medians", "seeds"))]
    for key, label in LABELS.items():
        shape = s["shapes"][key]
        out.append((CH4, f"shape_{key}", f"{label}: {shape['label']}", ("curve_shape", "decade")))
        per = ", ".join(shape["seeds"][x] for x in seeds)
        value = f"{label}: {shape['label']} ({per})"
        out.append((CH4, f"shape_seeds_{key}", value, ("curve_shape", "decade")))
    for n in control:
        twin = next(m for m in main if width[m] == width[n])
        for key in ("arithmetic_3/token_acc", "copying/exact"):
            for z, depth in ((n, "two layers"), (twin, "three layers")):
                value = f"{med(key, z):.2f}"
                out.append((CH4, f"depth_{z}_{key}", value, (f"width {width[n]}", depth)))
    m = s["mirage"]
    smooth_jump = [
        m[x]["shapes"]["recall"] == "smooth" and m[x]["shapes"]["quiz"] == "jump" for x in seeds
    ]
    out.append((CH4, "mirage_seeds", count(smooth_jump), ("per-fact", "quiz", "jump")))
    for x in seeds:
        sh = m[x]["shapes"]
        out.append((CH4, f"recall_shape_{x}", f"{sh['recall']}", (f"seed {x}", "per-fact")))
        out.append((CH4, f"quiz_shape_{x}", f"{sh['quiz']}", (f"seed {x}", "quiz")))
        out.append((CH4, f"gap_{x}", f"{m[x]['quiz_vs_product']:.3f}", (f"seed {x}", "product")))
        out.append((CH4, f"pgap_{x}", f"{m[x]['person_vs_product']:.2f}", (f"seed {x}", "person")))
        rows = m[x]["sizes"]
        for part in ("recall", "quiz", "person"):
            for i, side in ((0, "smallest"), (-1, "largest")):
                value = f"{rows[i][part]:.2f}"
                out.append((CH4, f"{part}_{side}_{x}", value, (f"seed {x}", side)))
    us = s["u"]
    out.append((CH4, "u_seeds", count(us[x]["u"] for x in seeds), ("U", "Wei")))
    out.append((CH4, "u_left", count(us[x]["left_arm_above_chance"] for x in seeds), ("left arm",)))
    out.append((CH4, "memo_items", str(us[seeds[0]]["n_items"]), ("memo trap", "items")))
    for x in seeds:
        curve = ", ".join(f"{v:.2f}" for v in us[x]["values"])
        out.append((CH4, f"memo_curve_{x}", curve, (f"seed {x}", "memo trap")))
        out.append((CH4, f"fall_{x}", f"{us[x]['fall_se']:.1f}", (f"seed {x}", "standard errors")))
        out.append((CH4, f"rise_{x}", f"{us[x]['rise_se']:.1f}", (f"seed {x}", "standard errors")))
    for key, name in (("quotes/exact", "quote endings"), ("copying/exact", "copying")):
        for z, side in ((u[0], "smallest"), (u[-1], "largest")):
            out.append((CH4, f"u_{key}_{side}", f"{med(key, z):.2f}", (name, z)))
    every = lambda key: [v for n in main for v in s["metrics"][key][n]["seeds"].values()]  # noqa: E731
    digits = every("arithmetic_3/token_acc")
    out.append((CH4, "digits_min", f"{min(digits):.2f}", ("per-digit", "between")))
    out.append((CH4, "digits_max", f"{max(digits):.2f}", ("per-digit", "between")))
    best = ("best runs",)
    out.append((CH4, "a3_max", f"{max(every('arithmetic_3/exact')):.3f}", ("3-digit", *best)))
    out.append((CH4, "copy_max", f"{max(every('copying/exact')):.2f}", ("whole lists", *best)))
    jumps = count(s["shapes"]["arithmetic_3/token_acc"]["seeds"][x] == "jump" for x in seeds)
    out.append((CH4, "digits_jump", jumps, ("per-digit", "jumps")))
    quotes = every("quotes/exact")
    out.append((CH4, "quotes_max", f"{max(quotes):.2f}", ("quote endings", "at most")))
    return out


def text(name: str) -> str:
    return (ROOT / "lectures" / f"{name}.md").read_text()


@pytest.mark.parametrize("chapter", [CH3, CH4])
def test_every_number_is_in_its_sentence_beside_its_meaning(chapter):
    body = text(chapter)
    missing = [
        (name, value, words)
        for ch, name, value, words in claims()
        if ch == chapter and not find_claim(body, value, words)
    ]
    assert not missing, f"{chapter} does not state these committed results: {missing}"


def test_no_u_is_claimed_unless_most_seeds_show_one():
    s, _ = load()
    if sum(u["u"] for u in s["u"].values()) * 2 > len(s["u"]):
        return
    for chapter in (CH3, CH4):
        for sentence in sentences(text(chapter)):
            low = sentence.lower()
            if "memo trap" in low or "the curve" in low:
                if "u-shaped" in low or " a u" in low:
                    negated = any(w in low for w in (" not ", " no ", "never", "without"))
                    assert negated, f"{chapter} calls the memo trap U-shaped: {sentence!r}"


def test_the_summary_is_what_the_run_files_give():
    from lmlib.experiments.scaling_summary import summarize_runs

    s, runs = load()
    again = json.loads(json.dumps(summarize_runs("cpu", runs)))
    # The refits and bootstrap errors go through numpy's linear algebra, whose last digits depend
    # on the CPU: 1e-9 relative is far below any digit the chapters quote; abs_tol covers zeros.
    keys = ("sizes", "loss", "metrics", "shapes", "frontier", "held_out", "mirage", "u")
    for key in keys:
        assert_nested_close(again[key], s[key], rel=1e-9, abs_tol=1e-12)


def test_the_summary_used_the_fixed_fit_window():
    from lmlib.experiments.scaling_summary import MIN_STEP_FRACTION

    s, _ = load()
    assert s["fit_window"] == MIN_STEP_FRACTION
    smallest = min(s["compute"][s["sizes"].index(n)] for n in s["ladders"]["main"])
    assert s["frontier_min_compute"] == pytest.approx(MIN_STEP_FRACTION * smallest, rel=1e-12)
    assert min(c for c, _ in s["frontier"]["points"]) >= s["frontier_min_compute"]
