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
    return f"{100 * x:+.1f}"


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


def test_the_setup_is_quoted(summary, text):
    s = summary["settings"]
    runs = summary["runs"]
    claims = [
        (f"{s['pretrain']['flops']:.0e}".replace("e+", "e"), ("budget", "training FLOPs")),
        (f"d_model={s['model']['d_model']}", ("encoders", "layers")),
        (str(s["model"]["n_layers"]), ("layers", "d_model=64")),
        (str(s["pretrain"]["context"]), ("windows", "tokens")),
        (str(s["n_people"]), ("made-up people",)),
        (str(runs["mlm"]["0"]["steps"]), ("MLM runs", "steps")),
        (str(runs["electra"]["0"]["steps"]), ("ELECTRA", "quarter as wide", "steps")),
        (str(s["finetune"]["epochs"]), ("epochs", "fine-tuning")),
        (str(s["n_train"]), ("labelled examples per task",)),
        (str(s["finetune"]["restarts"]), ("median", "fine-tunings")),
        (str(s["n_test"]), ("held-out examples per task",)),
    ]
    bow = summary["bag_of_words"]
    claims.append((f"{pct(bow['agreement'])}, {pct(bow['negation'])} and {pct(bow['facts'])}",
                   ("bag of words", "word counts", "chance")))  # fmt: skip
    missing = [(v, w) for v, w in claims if not find_claim(text, v, w)]
    assert not missing, missing
    assert all(abs(v - 0.5) < 0.05 for v in bow.values())  # a bag of words is at chance


def test_the_instrument_is_valid_and_said_first(summary, text):
    v = summary["validity"]
    assert v["valid"] and v["sigmas"] > 3
    assert all(p["sigmas"] > 3 for p in v["per_seed"].values())
    ks = seeds(summary)
    per = v["per_seed"]
    trio = lambda key, f=pct: (
        ", ".join(f(per[k][key]) for k in ks[:-1]) + f" and {f(per[ks[-1]][key])}"
    )  # noqa: E731
    assert find_claim(text, trio("floor"), ("untrained encoder", "seeds 0, 1 and 2"))
    assert find_claim(text, trio("mlm"), ("MLM at the full budget",))
    assert find_claim(text, trio("diff"), ("above the floor", "points"))
    assert find_claim(
        text, trio("sigmas", lambda x: f"{x:.0f}"), ("standard errors", "test sample")
    )
    assert find_claim(text, pct(v["mean_diff"]), ("on average over the seeds", "points"))
    assert find_claim(text, f"{v['sigmas']:.0f}", ("standard errors of that mean",))
    assert find_claim(text, "3 of 3 seeds", ("more than 3", "instrument sees pretraining"))
    valid_at = text.index("### First: can this instrument see pretraining?")
    assert valid_at < text.index("### ELECTRA against MLM, seed by seed")


def test_the_tasks_table(summary, text):
    ks, runs = seeds(summary), summary["runs"]
    mean = lambda name, t, i: sum(runs[name][k]["points"][i][t] for k in ks) / len(ks)  # noqa: E731
    for t in (*TASKS, "score"):
        label = t if t != "score" else "score (mean of the three)"
        bow = summary["bag_of_words"]
        b = bow[t] if t in bow else sum(bow.values()) / len(bow)
        row = [pct(b), pct(mean("mlm", t, 0)), pct(mean("mlm", t, -1)), pct(mean("electra", t, -1))]
        assert f"| {label} | " + " | ".join(row) + " |" in text, (t, row)


def test_paired_differences_seed_by_seed(summary, text):
    versus, wins = summary["versus_mlm"]["electra"], summary["electra_wins"]
    for k in seeds(summary):
        cells = " | ".join(signed(d["diff"]) for d in versus[k])
        assert f"| {k} | {cells} | {wins[k]} of 4 |" in text, k
    w = [str(wins[k]) for k in seeds(summary)]
    assert find_claim(text, f"{w[0]}, {w[1]} and {w[2]}", ("ahead of MLM", "checkpoints"))
    ahead = sum(n >= 3 for n in wins.values())
    assert summary["target_met"] == (ahead >= 2)
    assert find_claim(text, f"{ahead} of 3 seeds", ("at least 3 of the 4 checkpoints",))


def main_points(summary: dict) -> list[dict]:
    """Every trained checkpoint of MLM and ELECTRA, every seed."""
    runs = summary["runs"]
    return [p for n in ("mlm", "electra") for r in runs[n].values() for p in r["points"][1:]]


def test_the_mean_differences_and_the_verdict(summary, text):
    versus = summary["versus_mlm"]["electra"]
    means = [sum(versus[k][i]["diff"] for k in versus) / len(versus) for i in range(4)]
    assert "| mean | " + " | ".join(signed(m) for m in means) + " | |" in text
    assert sum(m < 0 for m in means) == 3  # behind at three of the four checkpoints, on average
    assert find_claim(text, "three of the four", ("averaged over the seeds", "behind"))
    assert not summary["target_met"]
    assert find_claim(text, f"{summary['validity']['sigmas']:.0f}", ("validated negative",))


def test_the_large_differences_are_agreement(summary, text):
    runs, versus = summary["runs"], summary["versus_mlm"]["electra"]
    large, solved, chance = [], [], []
    for k, diffs in versus.items():
        for i, d in enumerate(diffs):
            if abs(d["diff"]) > 0.10:
                e, m = runs["electra"][k]["points"][i + 1], runs["mlm"][k]["points"][i + 1]
                large.append(abs(d["diff"]))
                hi, lo = max(e["agreement"], m["agreement"]), min(e["agreement"], m["agreement"])
                solved.append(hi)
                chance.append(lo)
                for t in ("negation", "facts"):  # the other tasks move less than a tenth
                    assert abs(e[t] - m[t]) < 0.10, (k, i, t)
    n = sum(len(v) for v in versus.values())
    assert find_claim(text, f"{len(large)} of the {n}", ("more than 10 points", "agreement"))
    assert find_claim(text, f"{pct(min(solved))}%", ("at least", "held-out sentences"))
    assert find_claim(text, f"{pct(max(chance))}%", ("at most", "near chance"))
    assert 0.15 <= min(large) and max(large) <= 0.18
    assert find_claim(text, "15 to 18 points", ("a sixth",))
    ses = [d["se"] for diffs in versus.values() for d in diffs]
    assert find_claim(text, f"between {pct(min(ses))} and {pct(max(ses))} points",
                      ("standard errors of the test sample",))  # fmt: skip
    full = {n: sum(runs[n][k]["final"]["agreement"] == 1.0 for k in runs[n]) for n in runs}
    assert (full["mlm"], full["electra"]) == (3, 1)
    assert find_claim(text, "3 of 3 seeds", ("every held-out sentence", "agreement"))
    assert find_claim(text, "1 of 3", ("ELECTRA's", "every held-out sentence"))


def test_the_fact_check_stays_near_chance(summary, text):
    facts = [p["facts"] for p in main_points(summary)]
    assert max(facts) < 0.6
    assert find_claim(text, f"between {pct(min(facts))} and {pct(max(facts))}",
                      ("fact check", "near chance", "every checkpoint"))  # fmt: skip


def test_the_scale_against_the_papers(summary, text):
    params = json.loads((SUMMARY.parent / "mlm-seed0.json").read_text())["params"]
    assert find_claim(text, f"{params / 1000:.0f}K parameters", ("14M", "1.4e18"))


ABLATION_ORDER = ("electra", "all_tokens_mlm", "replace_mlm", "electra_15", "mlm")


def test_the_ablations_table(summary, text):
    runs = summary["runs"]
    k = str(summary["settings"]["ablation_seeds"][0])
    for name in ABLATION_ORDER:
        r = runs[name][k]
        cells = [PAPER[name], str(r["steps"]), *(pct(p["score"]) for p in r["points"][1:])]
        cells.append(pct(r["final"]["agreement"]))
        label = NAMES[name] if name != "mlm" else "MLM (BERT)"
        assert f"| {label} | " + " | ".join(cells) + " |" in text, name


def test_the_budget(summary, text):
    n = sum(len(by_seed) for by_seed in summary["runs"].values())
    assert find_claim(text, f"{n} runs", ("CPU time",))
    assert find_claim(text, f"{summary['cpu_time_s']:.0f}", ("seconds of CPU time",))
    minutes = f"{summary['two_core_minutes']:.1f}"
    assert summary["two_core_minutes"] < 15 and find_claim(text, minutes, ("minutes on 2 cores",))


def test_the_gpu_profile_is_quoted(text):
    from lmlib.tools.budget import T4_ACHIEVED_FLOPS

    minutes = objectives.planned_flops("gpu") / T4_ACHIEVED_FLOPS / 60
    s = objectives.settings("gpu")
    assert find_claim(text, f"{minutes:.0f} minutes", ("gpu", "T4"))
    assert find_claim(text, f"{s.pretrain.flops:.1e}".replace("e+", "e"), ("gpu", "FLOPs per run"))


def test_the_ablations_say_in_how_many_seeds_seed_0_holds(summary, text):
    runs, versus = summary["runs"], summary["versus_mlm"]
    seeds = [str(k) for k in summary["settings"]["ablation_seeds"]]
    assert len(seeds) >= 3
    score = lambda n, k, i: runs[n][k]["points"][i + 1]["score"]  # noqa: E731
    lowest = [
        all(
            score("electra_15", k, i) == min(score(n, k, i) for n in ABLATION_ORDER)
            for i in range(4)
        )
        for k in seeds
    ]
    below = [
        all(score("electra_15", k, i) < score("electra", k, i) for i in range(4)) for k in seeds
    ]
    gen = ("electra", "all_tokens_mlm", "replace_mlm")
    ahead = [all(versus[n][k][0]["diff"] > 0 for n in gen) for k in seeds]
    of = lambda flags: f"{sum(flags)} of {len(flags)} seeds"  # noqa: E731
    assert find_claim(text, of(lowest), ("ELECTRA 15%", "lowest of the five", "every checkpoint"))
    assert find_claim(text, of(below), ("below ELECTRA", "every checkpoint"))
    assert find_claim(text, of(ahead), ("ahead of MLM", "an eighth"))


def test_the_ablations_say_what_seed_0_shows(summary, text):
    runs, k = summary["runs"], str(summary["settings"]["ablation_seeds"][0])
    score = lambda n, i: runs[n][k]["points"][i + 1]["score"]  # noqa: E731
    assert all(score("electra_15", i) < score("electra", i) for i in range(4))
    assert all(score("electra_15", i) == min(score(n, i) for n in ABLATION_ORDER) for i in range(4))
    assert find_claim(text, "all 4 checkpoints", ("ELECTRA 15%", "below ELECTRA"))
    versus = summary["versus_mlm"]
    gen = ("electra", "all_tokens_mlm", "replace_mlm")
    first = [versus[n][k][0]["diff"] for n in gen]
    last = [versus[n][k][-1]["diff"] for n in gen]
    assert min(first) > 0 and max(last) < 0
    assert find_claim(text, f"between {pct(min(first))} and {pct(max(first))} points",
                      ("ahead of MLM", "an eighth"))  # fmt: skip
    assert find_claim(text, f"between {pct(-max(last))} and {pct(-min(last))}",
                      ("behind it at the full budget",))  # fmt: skip
    agree = [runs[n][k]["final"]["agreement"] for n in gen]
    assert find_claim(text, f"between {pct(min(agree))} and {pct(max(agree))}",
                      ("none of them reads agreement",))  # fmt: skip
    assert runs["mlm"][k]["final"]["agreement"] == 1.0
