"""Numbers quoted in chapter 5.1 agree with the committed results of `lmlib run incentives`."""

import json
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


def _abstain_share(rows: list[dict]) -> float:
    return sum(r["n"] * r["abstain"] for r in rows) / sum(r["n"] for r in rows)


def quoted_values(cpu: dict, ci: dict) -> dict[str, str]:
    """Every number the chapter quotes, formatted as it appears there (name -> text)."""
    s, pen, acc = cpu["settings"], cpu["tables"]["penalty"], cpu["tables"]["accuracy"]
    curve = cpu["game"]["curve"]
    quiz = [
        f"| {b['bucket']} | {b['facts']:,} | {b['mean_p']:.2f} | {_pct(b['accuracy'])} |"
        for b in cpu["quiz_by_bucket"]
    ]
    policy = [
        f"| {p['bucket']} | {_pct(p['abstain'])} | {_pct(p['error'])} | {p['reward']:.2f} "
        f"| {_pct(a['abstain'])} | {_pct(a['error'])} |"
        for p, a in zip(pen["by_bucket"], acc["by_bucket"])
    ]
    game = [
        f"| {c['games']:,} | {_pct(c['oracle_agreement'])} | {_pct(c['vs_random']['win'])} "
        f"| {_pct(c['vs_oracle']['draw'])} |"
        for c in curve
    ]
    pb, ab = pen["by_bucket"], acc["by_bucket"]
    return {
        "n_entities": s["n_entities"],
        "facts": cpu["facts"],
        "n_layers": s["n_layers"],
        "d_model": s["d_model"],
        "steps": s["steps"],
        "batch_size": s["batch_size"],
        "sentences": s["steps"] * s["batch_size"],
        "quiz_accuracy": _pct(cpu["quiz_accuracy"]),
        "quiz_table": "\n".join(quiz),
        "held": cpu["facts"] - cpu["facts"] // 2,
        "policy_table": "\n".join(policy),
        "pen_tail_abstain": _pct(pb[0]["abstain"]),
        "pen_tail2_abstain": _pct(pb[1]["abstain"]),
        "pen_tail_error": _pct(pb[0]["error"]),
        "pen_tail2_error": _pct(pb[1]["error"]),
        "pen_head_abstain": _pct(pb[-1]["abstain"]),
        "acc_tail_error": _pct(ab[0]["error"]),
        "acc_tail2_error": _pct(ab[1]["error"]),
        "pen_learned": f"{pen['learned_speak']:.2f}",
        "pen_best": f"{pen['best_threshold_on_data']:.2f}",
        "acc_hedge": _pct(sum(r["n"] * r["hedge"] for r in ab) / sum(r["n"] for r in ab)),
        "acc_learned": f"{acc['learned_speak']:.2f}",
        "acc_hand": f"{acc['hand_speak']:.2f}",
        "contested": cpu["game"]["contested_positions"],
        "game_table": "\n".join(game),
        "agree_first": _pct(curve[0]["oracle_agreement"]),
        "agree_last": _pct(curve[-1]["oracle_agreement"]),
        "games_last": curve[-1]["games"],
        "win_first": _pct(curve[0]["vs_random"]["win"]),
        "win_last": _pct(curve[-1]["vs_random"]["win"]),
        "draw_last": _pct(curve[-1]["vs_oracle"]["draw"]),
        "ci_steps": ci["settings"]["steps"],
        "ci_accuracy": _pct(ci["quiz_accuracy"]),
        "ci_abstain": _pct(_abstain_share(ci["tables"]["penalty"]["by_bucket"])),
    }


def _results(profile: str) -> dict:
    return json.loads((RESULTS / f"{profile}-seed0.json").read_text())


def test_chapter_quotes_the_committed_runs():
    text = (ROOT / "lectures" / "5_1_incentives.md").read_text()
    values = quoted_values(_results("cpu"), _results("ci"))
    formats = {int: "{:,}", str: "{}"}
    missing = {}
    for name, value in values.items():
        quoted = formats[type(value)].format(value)
        lines = quoted.split("\n")  # a table must appear row by row
        if not all(line in text for line in lines):
            missing[name] = quoted
    assert not missing, f"chapter 5.1 does not quote these committed results: {missing}"


def test_committed_results_show_the_claims():
    cpu = _results("cpu")
    pen, acc = (cpu["tables"][k]["by_bucket"] for k in ("penalty", "accuracy"))
    assert pen[0]["abstain"] > 0.5 > pen[-1]["abstain"]  # abstains on the tail, not the head
    assert all(row["abstain"] == 0 for row in acc)  # accuracy-only never abstains
    assert acc[0]["error"] > pen[0]["error"] + 0.5  # and hallucinates on the tail
    agreement = [c["oracle_agreement"] for c in cpu["game"]["curve"]]
    assert agreement == sorted(agreement) and agreement[-1] > agreement[0] + 0.2


def test_figures_redraw_from_the_committed_results(tmp_path):
    from lmlib.tools.cli import main

    assert (
        main(["run", "incentives", "--profile", "cpu", "--figures", "--figdir", str(tmp_path)]) == 0
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(FIGURES)
