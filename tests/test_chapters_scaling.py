"""Every number the scaling and emergence chapters state comes from the committed cpu sweep: each
is found in its own sentence or table cell beside the words that give it its meaning
(tests/claims.py), and equals what the results files give."""

import json
from pathlib import Path

import pytest
from claims import find_claim, sentences

ROOT = Path(__file__).resolve().parents[1]
SWEEP = ROOT / "results" / "scaling" / "cpu"
CH3, CH4 = "03_scaling", "04_emergence"
TABLE = (  # (probe/metric, column header) of the emergence chapter's table
    ("agreement/two_way", "agreement (two-way)"),
    ("facts/exact", "facts (exact)"),
    ("quotes/exact", "quote endings (exact)"),
    ("copying/exact", "copying (exact)"),
    ("arithmetic_1/exact", "1-digit sums (exact)"),
    ("arithmetic_3/exact", "3-digit sums (exact)"),
    ("arithmetic_3/token_acc", "3-digit sums (per digit)"),
    ("memo_trap/two_way", "memo trap (two-way)"),
)
LABELS = {  # probe/metric -> how the chapter names the task when it gives its shape
    "agreement/two_way": "agreement",
    "sentiment/two_way": "sentiment",
    "facts/exact": "facts",
    "quotes/exact": "quote endings",
    "copying/exact": "copying",
    "arithmetic_1/exact": "1-digit sums",
    "arithmetic_2/exact": "2-digit sums",
    "arithmetic_3/exact": "3-digit sums",
    "memo_trap/two_way": "memo trap",
}


def load() -> tuple[dict, list[dict]]:
    summary = json.loads((SWEEP / "summary.json").read_text())
    runs = [json.loads((SWEEP / name).read_text()) for name in summary["runs"]]
    return summary, runs


def k(n: float) -> str:
    return f"{n / 1e3:.1f}K" if n < 1e4 else f"{n / 1e3:.0f}K"


def recall(runs: list[dict], size: str, min_count: int) -> float:
    vals = [
        row["exact"]
        for r in runs
        if r["size"] == size
        for row in r["facts_by_count"]
        if row["min_count"] == min_count
    ]
    return sum(vals) / len(vals)


def claims() -> list[tuple[str, str, str, tuple[str, ...]]]:
    """(chapter, name, the text it quotes, words beside it) for every number the chapters state."""
    s, runs = load()
    sizes, seeds = s["sizes"], [str(x) for x in s["seeds"]]
    first, last = sizes[0], sizes[-1]
    f, h, p = s["frontier"], s["held_out"], s["params_fit"]
    lo, hi = f["alpha_interval"]
    med = lambda key, n: s["metrics"][key][n]["median"]  # noqa: E731
    seed = lambda key, n, x: s["metrics"][key][n]["seeds"][x]  # noqa: E731
    minutes = f"{s['run_wall_time_s'] / 60:.0f} minutes"
    out = [
        (CH3, "n_seeds", str(len(seeds)), ("seeds", "tokens")),
        (CH3, "params_lo", k(s["params"][0]), ("parameters",)),
        (CH3, "params_hi", k(s["params"][-1]), ("parameters",)),
        (CH3, "tokens", f"{s['tokens']:,}", ("tokens",)),
        (CH3, "compute_lo", f"{s['compute'][0]:.1e}", ("compute", "FLOPs")),
        (CH3, "compute_hi", f"{s['compute'][-1]:.1e}", ("compute", "FLOPs")),
        (CH3, "wall", minutes, ("runs", "machine time")),
        (CH3, "alpha", f"{f['fit']['alpha']:.2f}", ("alpha", "bootstrap", "frontier")),
        (CH3, "alpha_lo", f"{lo:.2f}", ("alpha", "bootstrap")),
        (CH3, "alpha_hi", f"{hi:.2f}", ("alpha", "bootstrap")),
        (CH3, "l_inf", f"{f['fit']['l_inf']:.2f}", ("floor", "nats")),
        (CH3, "r2", f"{f['r2_log']:.3f}", ("R^2", "log-log")),
        (CH3, "span", f"{f['span_decades']:.1f}", ("orders of magnitude", "frontier")),
        (CH3, "predicted", f"{h['predicted']:.3f}", ("predicted", "largest size")),
        (CH3, "measured", f"{h['measured']:.3f}", ("median", "measured")),
        (CH3, "error", f"{100 * h['error']:.1f}%", ("off by", "predicted")),
        (CH3, "naive", f"{h['naive']:.3f}", ("previous size",)),
        (CH3, "naive_error", f"{100 * h['naive_error']:.1f}%", ("previous size", "off by")),
        (CH3, "pfit_alpha", f"{p['alpha']:.2f}", ("parameters", "alpha")),
        (CH3, "recall1_lo", f"{recall(runs, first, 1):.2f}", ("once", "smallest")),
        (CH3, "recall1_hi", f"{recall(runs, last, 1):.2f}", ("once", "largest")),
        (CH3, "recall4_lo", f"{recall(runs, first, 4):.2f}", ("4 to 15",)),
        (CH3, "recall4_hi", f"{recall(runs, last, 4):.2f}", ("4 to 15",)),
        (CH4, "wall", minutes, ("runs", "machine time")),
        (CH4, "agree_lo", f"{med('agreement/two_way', sizes[0]):.2f}", ("agreement", "chance")),
        (CH4, "agree_hi", f"{med('agreement/two_way', sizes[1]):.2f}", ("agreement", "chance")),
        (CH4, "quotes_lo", f"{med('quotes/exact', first):.2f}", ("quote endings", "smallest")),
        (CH4, "facts_lo", f"{med('facts/exact', first):.2f}", ("facts", "smallest")),
        (CH4, "facts_hi", f"{med('facts/exact', last):.2f}", ("facts", "largest")),
        (CH4, "a1_lo", f"{med('arithmetic_1/exact', first):.2f}", ("1-digit sums",)),
        (CH4, "a1_hi", f"{med('arithmetic_1/exact', last):.2f}", ("1-digit sums",)),
        (CH4, "a3_max", f"{max(med('arithmetic_3/exact', n) for n in sizes):.3f}", ("3-digit",)),
        (CH4, "copy_tok", f"{med('copying/token_acc', sizes[1]):.2f}", ("per-token accuracy",)),
        (CH4, "copy_loss", f"{med('copying/loss', sizes[1]):.2f}", ("log-loss", "nats")),
        (CH4, "memo_xs", f"{med('memo_trap/two_way', sizes[0]):.2f}", ("one-layer", "memorised")),
        (CH4, "memo_s", f"{med('memo_trap/two_way', sizes[1]):.2f}", ("one-layer", "memorised")),
    ]
    for x in seeds:
        for key, word in (
            ("arithmetic_3/token_acc", "per-digit"),
            ("arithmetic_3/loss", "log-loss"),
        ):
            for n in (first, last):
                out.append(
                    (CH4, f"a3_{key}_{x}_{n}", f"{seed(key, n, x):.2f}", (f"seed {x}", word))
                )
    for n in sizes:
        for x in seeds:
            v = s["loss"][n]["seeds"][x]
            out.append((CH3, f"loss_{n}_{x}", f"{v:.3f}", (f"seed {x}", n)))
        out.append((CH3, f"loss_{n}", f"{s['loss'][n]['median']:.3f}", ("median", n)))
        for key, col in TABLE:
            out.append((CH4, f"row_{n}_{key}", f"{med(key, n):.2f}", (n, col)))
    for n, side in ((first, "smallest"), (last, "largest")):
        run = [r for r in runs if r["size"] == n and str(r["seed"]) == seeds[0]][0]
        for t in run["decomposition"]["tasks"]:
            out.append(
                (CH3, f"share_{n}_{t['task']}", f"{t['share']:.0%}", (t["task"], f"share ({side})"))
            )
            out.append(
                (CH3, f"part_{n}_{t['task']}", f"{t['loss']:.2f}", (t["task"], f"loss ({side})"))
            )
    for key, label in LABELS.items():
        shape = s["shapes"][key]["label"]
        out.append((CH4, f"shape_{key}", f"{label}: {shape}", ("curve_shape", "seed by seed")))
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
    if s["shapes"]["memo_trap/two_way"]["label"] == "U-shaped":
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
    for key in ("sizes", "loss", "metrics", "shapes", "frontier", "held_out"):
        assert again[key] == s[key], key
