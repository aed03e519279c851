"""Every number the compute-optimal chapter states comes from results/isoflop/cpu: each is found
in its own sentence or table cell beside the words that give it its meaning (tests/claims.py) and
equals what the results give; every other number in its prose is a cited figure from the
literature or a setting, listed here."""

import json
import math
import re
from pathlib import Path

import pytest
from claims import find_claim, sentences

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results" / "isoflop" / "cpu"
CHAPTER = ROOT / "lectures" / "1_4_compute_optimal.md"
TRAIN_CHARS = 1_003_854  # tiny Shakespeare's first 90%: the training characters
# Numbers of the prose that are not measured here: the literature's (Kaplan et al. 2020, Hoffmann
# et al. 2022, Wei's talk), the settings of the run, and the names of things.
CITED = {"0.73", "0.27", "0.5", "0.50", "20", "70", "1.4", "280", "5.9e+23", "6", "2", "4"}
SETTINGS = {"1", "3", "5", "64", "32", "2,048", "65", "0.95", "1,000", "95%", "1.4", "4"}


def load() -> tuple[dict, list[dict]]:
    summary = json.loads((RESULTS / "summary.json").read_text())
    runs = [json.loads((RESULTS / f"seed{s}.json").read_text()) for s in summary["seeds"]]
    return summary, runs


def k(n: float) -> str:
    return f"{n / 1e3:.1f}K" if n < 1e4 else f"{n / 1e3:.0f}K"


def claims() -> list[tuple[str, str, tuple[str, ...]]]:
    """(name, the text the chapter quotes, words beside it) for every measured number."""
    s, runs = load()
    points = runs[0]["runs"]
    settings = runs[0]["settings"]
    (a_lo, a_hi), (b_lo, b_hi) = s["bootstrap"]["a"], s["bootstrap"]["b"]
    held_out = settings["eval_batches"] * settings["batch_size"] * settings["context"]
    out = [
        ("seeds", str(len(s["seeds"])), ("seeds",)),
        ("minutes", f"{s['cpu_time_s'] / 2 / 60:.0f} minutes", ("cores", "CPU time")),
        ("held_out", f"{held_out:,}", ("held-out", "characters")),
        ("n_lo", f"{min(p['params'] for p in points):,}", ("parameters",)),
        ("n_hi", f"{max(p['params'] for p in points):,}", ("parameters",)),
        ("a", f"{s['a']:.2f}", ("a", "bootstrap")),
        ("a_lo", f"{a_lo:.2f}", ("a", "bootstrap")),
        ("a_hi", f"{a_hi:.2f}", ("a", "bootstrap")),
        ("b", f"{s['b']:.2f}", ("b",)),
        ("b_lo", f"{b_lo:.2f}", ("b",)),
        ("b_hi", f"{b_hi:.2f}", ("b",)),
        ("inside", f"{sum(all(p['inside']) for p in s['per_seed'])} of 3", ("inside", "seeds")),
        ("draws", str(s["bootstrap"]["draws"]), ("draws kept",)),
    ]
    for c, n, tpp in zip(s["budgets"], s["n_opt"], s["tokens_per_param"]):
        out.append((f"budget_{c:.1e}", f"{c:.1e}", ("FLOPs",)))
        out.append((f"n_opt_{c:.1e}", k(n), ("vertex", f"{c:.1e}")))
        out.append((f"tpp_{c:.1e}", f"{tpp:.0f}", ("tokens per parameter", f"{c:.1e}")))
    for p in s["per_seed"]:
        out.append((f"a_seed{p['seed']}", f"{p['a']:.2f}", ("seed", "a")))
    for n, em in s["data_curve"].items():
        out.append((f"curve_{n}", f"{em:.2f}", (f"{int(n):,}", "sums")))
    small, large = min(points, key=lambda p: p["params"]), max(points, key=lambda p: p["params"])
    for side, p in (("smallest", small), ("largest", large)):
        ratio = p["compute_counted"] / p["compute_6nd"]
        emb = 65 * p["d_model"] / p["params"]
        out.append((f"flops_{side}", f"{ratio:.1f}", ("6N", side)))
        out.append((f"embedding_{side}", f"{emb:.0%}", ("embedding", side)))
    falls = sum(
        r["data_curve"][-1]["exact_match"] < r["data_curve"][-2]["exact_match"] for r in runs
    )
    out.append(("falls", f"{falls} of 3", ("seeds", "4,000", "fell")))
    most = max((p for r in runs for p in r["runs"]), key=lambda p: p["tokens"])
    out.append(("epochs", f"{most['tokens'] / TRAIN_CHARS:.1f}", ("times", "training text")))
    return out


@pytest.fixture(scope="module")
def body() -> str:
    return CHAPTER.read_text()


def test_every_measured_number_is_in_its_sentence(body):
    missing = [(name, v, w) for name, v, w in claims() if not find_claim(body, v, w)]
    assert not missing, f"the chapter does not state these results: {missing}"


NUMBER = re.compile(r"(?<![\w.-])\d(?:[\d,]*\d)?(?:\.\d+)?(?:e[+-]\d+)?(?:%|K)?(?![\w])")


def test_no_number_in_the_prose_comes_from_nowhere(body):
    summary, _ = load()
    sizes = {f"{int(n):,}" for n in summary["data_curve"]}  # the data curve's training sets
    known = (
        {v for _, value, _ in claims() for v in NUMBER.findall(value)} | CITED | SETTINGS | sizes
    )
    prose = "\n".join(line for line in body.splitlines() if not line.startswith("#"))
    prose = re.sub(r"\{(?:doc|ref)\}`[^`]*`|`[^`]*`|\(figures/[^)]*\)|:alt:.*", "", prose)
    years = {str(y) for y in range(2017, 2027)}
    strays = sorted({n for s in sentences(prose) for n in NUMBER.findall(s)} - known - years)
    assert not strays, f"numbers not tied to a result, a setting or a citation: {strays}"


def test_the_chapter_says_how_many_seeds_agree_on_a_below_kaplan(body):
    s, _ = load()
    below = sum(p["a"] < 0.73 for p in s["per_seed"])
    assert find_claim(body, f"{below} of 3", ("seeds", "0.73"))
    assert math.isclose(s["a"] + s["b"], 1.0, abs_tol=1e-9)


def test_what_the_prose_says_about_the_numbers_holds(body):
    s, runs = load()
    lo, hi = s["bootstrap"]["a"]
    if find_claim(body, "0.73", ("interval contains both", "0.5")):
        assert lo <= 0.5 <= hi and lo <= 0.73 <= hi
    if find_claim(body, "0.73", ("contains Hoffmann's", "excludes Kaplan's")):
        assert lo <= 0.5 <= hi < 0.73
    if find_claim(body, "0.5", ("near its lower end",)):
        assert 0.5 - lo < hi - 0.5
    if "none of these optima is an extrapolation" in body:
        assert all(all(p["inside"]) for p in s["per_seed"]) and all(s["inside"])
    if "more than ten times Chinchilla" in body:
        assert min(s["tokens_per_param"]) > 10 * 20
    if "span more than a decade" in body:
        assert all(max(w) / min(w) > 10 for w in s["window_params"])
    if "clear valley" in body:  # every budget's middle sizes beat both ends, in every seed
        prof = {c: [[p["val_loss"] for p in r["runs"] if p["budget"] == c] for r in runs]
                for c in s["budgets"]}  # fmt: skip
        for seeds in prof.values():
            for loss in seeds:
                assert min(loss[1:-1]) < min(loss[0], loss[-1])
