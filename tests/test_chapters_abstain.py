"""The numbers of chapter 5.1's section on the model that learns to abstain agree with the results
of `lmlib run abstain` (three seeds at the cpu profile: tables quote their mean, sentences their
range), and the claims hold in every seed."""

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results" / "abstain"
CHAPTER = ROOT / "lectures" / "5_1_incentives.md"


def _runs(profile: str) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((RESULTS / profile).glob("seed*.json"))]


def _mean(xs) -> float:
    xs = list(xs)
    return sum(xs) / len(xs)


def _span(xs, pct: bool = True) -> str:
    """'94–97%', '0.15–0.21' or '-0.37 to -0.32' over the seeds ('97%': all seeds agree to the
    digits shown)."""
    lo, hi = (f"{x * 100:.0f}" if pct else f"{x:.2f}" for x in (min(xs), max(xs)))
    unit = "%" if pct else ""
    dash = " to " if min(xs) < 0 else "–"
    return f"{lo}{unit}" if lo == hi else f"{lo}{dash}{hi}{unit}"


def quoted_values(runs: list[dict]) -> dict[str, str | int]:
    s = runs[0]["settings"]
    pol = {k: [r["policies"][k] for r in runs] for k in runs[0]["policies"]}
    pen, acc = pol["tuned_penalty"], pol["tuned_accuracy"]

    def pct(rows, b, key):  # one bucket's share, mean over the seeds
        return f"{_mean(r['by_bucket'][b][key] for r in rows):.0%}"

    table = [
        f"| {pen[0]['by_bucket'][b]['bucket']} | {pct(pen, b, 'abstain')} | {pct(pen, b, 'wrong')} "
        f"| {_mean(r['by_bucket'][b]['reward'] for r in pen):.2f} "
        f"| {pct(acc, b, 'abstain')} | {pct(acc, b, 'wrong')} |"
        for b in range(len(pen[0]["by_bucket"]))
    ]
    return {
        "seeds": len(runs),
        "rl_steps": s["rl_steps"],
        "rl_batch": s["rl_batch"],
        "rl_samples": s["rl_samples"],
        "idk_probability": f"{max(r['idk_probability'] for r in pol['untuned']):.1%}",
        "table": "\n".join(table),
        "pen_tail_abstain": _span([r["by_bucket"][0]["abstain"] for r in pen]),
        "pen_head_abstain": _span([r["by_bucket"][-1]["abstain"] for r in pen]),
        "acc_abstain": _span([r["abstain"] for r in acc]),
        "rho": _span([r["rho_reads_abstain"] for r in pen], pct=False),
        "rho_probability": _span([r["rho_reads_idk_probability"] for r in pen], pct=False),
        "rho_threshold": _span([r["rho_reads_abstain"] for r in pol["threshold_policy"]], False),
        "reward_untuned": _span([r["reward"] for r in pol["untuned"]], pct=False),
        "reward_tuned": _span([r["reward"] for r in pen], pct=False),
        "reward_threshold": _span([r["reward"] for r in pol["threshold_policy"]], pct=False),
        "shortfall": _span(
            [t["reward"] - p["reward"] for t, p in zip(pol["threshold_policy"], pen)], pct=False
        ),
        "reward_accuracy": _span([r["reward"] for r in acc], pct=False),
        "wrong_untuned": _span([r["wrong"] for r in pol["untuned"]]),
        "wrong_accuracy": _span([r["wrong"] for r in acc]),
    }


def test_the_cpu_profile_has_three_seeds():
    assert [r["seed"] for r in _runs("cpu")] == [0, 1, 2]


def test_chapter_quotes_the_results():
    text = CHAPTER.read_text()
    missing = {}
    for name, value in quoted_values(_runs("cpu")).items():
        quoted = f"{value:,}" if isinstance(value, int) else value
        if not all(line in text for line in quoted.split("\n")):
            missing[name] = quoted
    assert not missing, (
        f"chapter 5.1 does not quote these results of `lmlib run abstain`: {missing}"
    )


def test_results_show_the_claims_in_every_seed():
    for r in _runs("cpu"):
        pen, acc = r["policies"]["tuned_penalty"], r["policies"]["tuned_accuracy"]
        untuned = r["policies"]["untuned"]
        assert untuned["abstain"] == 0  # IDK starts below the first choice everywhere
        rows = pen["by_bucket"]
        assert rows[0]["abstain"] > 0.5 > rows[-1]["abstain"]  # abstains on the tail, not the head
        assert pen["rho_reads_abstain"] < 0 and pen["rho_reads_idk_probability"] < 0
        assert acc["abstain"] < 0.01  # the control hardly ever says it
        assert pen["reward"] > untuned["reward"] > acc["reward"]
        assert acc["wrong"] > untuned["wrong"]  # tuned on one half, worse on the other
        cut = r["policies"]["threshold_policy"]
        assert pen["reward"] < cut["reward"]  # short of the frozen model's learned cut...
        for b in (2, 3, 4):  # ...because it abstains more on facts read 3 to 99 times
            assert rows[b]["abstain"] > cut["by_bucket"][b]["abstain"]


def test_figure_redraws_from_the_results(tmp_path):
    from lmlib.tools.cli import main

    assert main(["run", "abstain", "--profile", "cpu", "--figures", "--figdir", str(tmp_path)]) == 0
    assert [p.name for p in tmp_path.iterdir()] == ["abstain_by_frequency.png"]
