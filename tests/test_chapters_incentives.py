"""Numbers quoted in chapter 5.1 agree with the results of `lmlib run incentives` (three seeds
at the cpu profile: tables quote their mean, sentences their range)."""

import json
import math
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results" / "incentives"
FIGURES = [
    "incentives_expected_reward.png",
    "incentives_by_frequency.png",
    "incentives_tictactoe.png",
]


def _pct(x: float) -> str:
    return f"{x:.0%}"


def _mean(xs) -> float:
    xs = list(xs)
    return sum(xs) / len(xs)


def _span(xs, pct: bool = True) -> str:
    """The range over the seeds as the chapter writes it: '94–97%' or '0.66–0.69' ('97%': all
    seeds agree to the digits shown)."""
    lo, hi = (f"{x * 100:.0f}" if pct else f"{x:.2f}" for x in (min(xs), max(xs)))
    unit = "%" if pct else ""
    return f"{lo}{unit}" if lo == hi else f"{lo}–{hi}{unit}"


def _ceil2(x: float) -> str:
    """x rounded up to two decimals: a bound the chapter can state ("within 0.04")."""
    return f"{math.ceil(x * 100 - 1e-9) / 100:.2f}"


def _abstain_share(rows: list[dict]) -> float:
    return sum(r["n"] * r["abstain"] for r in rows) / sum(r["n"] for r in rows)


def _hedge_share(rows: list[dict]) -> float:
    return sum(r["n"] * r["hedge"] for r in rows) / sum(r["n"] for r in rows)


def quoted_values(runs: list[dict], ci: dict) -> dict[str, str]:
    """Every number the chapter quotes, formatted as it appears there (name -> text). Tables
    give the mean over the seeds, sentences the range."""
    cpu, s = runs[0], runs[0]["settings"]
    pen = [r["tables"]["penalty"] for r in runs]
    acc = [r["tables"]["accuracy"] for r in runs]
    n_buckets = len(cpu["quiz_by_bucket"])

    def col(tables, key, b):  # one bucket's value of `key`, per seed
        return [t["by_bucket"][b][key] for t in tables]

    quiz = []
    for b in range(n_buckets):
        rows = [r["quiz_by_bucket"][b] for r in runs]
        quiz.append(
            f"| {rows[0]['bucket']} | {_mean(x['facts'] for x in rows):,.0f} "
            f"| {_mean(x['mean_p'] for x in rows):.2f} "
            f"| {_pct(_mean(x['accuracy'] for x in rows))} |"
        )
    policy = [
        f"| {pen[0]['by_bucket'][b]['bucket']} | {_pct(_mean(col(pen, 'abstain', b)))} "
        f"| {_pct(_mean(col(pen, 'error', b)))} | {_mean(col(pen, 'reward', b)):.2f} "
        f"| {_pct(_mean(col(acc, 'abstain', b)))} | {_pct(_mean(col(acc, 'error', b)))} |"
        for b in range(n_buckets)
    ]
    curves = [r["game"]["curve"] for r in runs]
    game = [
        f"| {curves[0][i]['games']:,} | {_pct(_mean(c[i]['oracle_agreement'] for c in curves))} "
        f"| {_pct(_mean(c[i]['vs_random']['win'] for c in curves))} "
        f"| {_pct(_mean(c[i]['vs_oracle']['draw'] for c in curves))} |"
        for i in range(len(curves[0]))
    ]
    return {
        "seeds": len(runs),
        "n_entities": s["n_entities"],
        "facts": cpu["facts"],
        "n_layers": s["n_layers"],
        "d_model": s["d_model"],
        "steps": s["steps"],
        "batch_size": s["batch_size"],
        "sentences": s["steps"] * s["batch_size"],
        "quiz_accuracy": _span([r["quiz_accuracy"] for r in runs]),
        "quiz_table": "\n".join(quiz),
        "held": cpu["facts"] - cpu["facts"] // 2,
        "policy_table": "\n".join(policy),
        "pen_tail_abstain": _span(col(pen, "abstain", 0)),
        "pen_tail2_abstain": _span(col(pen, "abstain", 1)),
        "pen_tail_error": _span(col(pen, "error", 0)),
        "pen_tail2_error": _span(col(pen, "error", 1)),
        "pen_head_abstain": _span(col(pen, "abstain", -1)),
        "acc_tail_error": _span(col(acc, "error", 0)),
        "acc_tail2_error": _span(col(acc, "error", 1)),
        "pen_learned": _span([t["learned_speak"] for t in pen], pct=False),
        "pen_best": _span([t["best_threshold_on_data"] for t in pen], pct=False),
        "pen_gap": _ceil2(max(abs(t["learned_speak"] - t["best_threshold_on_data"]) for t in pen)),
        "acc_hedge": ", ".join(_pct(_hedge_share(t["by_bucket"])) for t in acc),
        "acc_learned": _span([t["learned_speak"] for t in acc], pct=False),
        "acc_hand": f"{acc[0]['hand_speak']:.2f}",
        "contested": cpu["game"]["contested_positions"],
        "game_table": "\n".join(game),
        "agree_first": _span([c[0]["oracle_agreement"] for c in curves]),
        "agree_last": _span([c[-1]["oracle_agreement"] for c in curves]),
        "games_last": curves[0][-1]["games"],
        "win_first": _span([c[0]["vs_random"]["win"] for c in curves]),
        "win_last": _span([c[-1]["vs_random"]["win"] for c in curves]),
        "draw_last": _span([c[-1]["vs_oracle"]["draw"] for c in curves]),
        "ci_steps": ci["settings"]["steps"],
        "ci_accuracy": _pct(ci["quiz_accuracy"]),
        "ci_abstain": _pct(_abstain_share(ci["tables"]["penalty"]["by_bucket"])),
    }


def _runs(profile: str) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((RESULTS / profile).glob("seed*.json"))]


def test_the_cpu_profile_has_three_seeds():
    assert [r["seed"] for r in _runs("cpu")] == [0, 1, 2]


def test_chapter_quotes_the_committed_runs():
    text = (ROOT / "lectures" / "5_1_incentives.md").read_text()
    values = quoted_values(_runs("cpu"), _runs("ci")[0])
    formats = {int: "{:,}", str: "{}"}
    missing = {}
    for name, value in values.items():
        quoted = formats[type(value)].format(value)
        lines = quoted.split("\n")  # a table must appear row by row
        if not all(line in text for line in lines):
            missing[name] = quoted
    assert not missing, f"chapter 5.1 does not quote these committed results: {missing}"


def test_committed_results_show_the_claims_in_every_seed():
    for cpu in _runs("cpu"):
        pen, acc = (cpu["tables"][k]["by_bucket"] for k in ("penalty", "accuracy"))
        assert pen[0]["abstain"] > 0.5 > pen[-1]["abstain"]  # abstains on the tail, not the head
        assert all(row["abstain"] == 0 for row in acc)  # accuracy-only never abstains
        assert acc[0]["error"] > pen[0]["error"] + 0.5  # and hallucinates on the tail
        assert pen[-1]["error"] == acc[-1]["error"] == 0  # nobody is wrong on the head
        quiz = cpu["quiz_by_bucket"]
        assert quiz[2]["bucket"] == "3-9"  # read three times or more: under-confident
        assert all(row["accuracy"] > row["mean_p"] for row in quiz[2:])
        agreement = [c["oracle_agreement"] for c in cpu["game"]["curve"]]
        assert agreement == sorted(agreement) and agreement[-1] > agreement[0] + 0.2


def test_figures_redraw_from_the_committed_results(tmp_path):
    from lmlib.tools.cli import main

    assert (
        main(["run", "incentives", "--profile", "cpu", "--figures", "--figdir", str(tmp_path)]) == 0
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(FIGURES)
