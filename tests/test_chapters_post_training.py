"""Chapter 5.2's numbers agree with the results of `lmlib run sft_vs_rl` (three seeds at the cpu
profile: the table quotes each arm's range over the seeds, sentences quote ranges too), and the
claims it makes hold in the number of seeds it says."""

import json
from pathlib import Path

from claims import find_claim

from lmlib.experiments import sft_vs_rl

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results" / "sft_vs_rl"
CHAPTER = ROOT / "lectures" / "5_2_post_training.md"
ROWS = {"untrained": "untrained", "pretrained": "pretrained only", "sft": "SFT", "rl": "RL",
        "sft_then_rl": "SFT then RL"}  # fmt: skip
COLUMNS = ("3", "demos", "2", "1", "4", "3+1", "1+3")


def _runs() -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((RESULTS / "cpu").glob("seed*.json"))]


def pct(x: float) -> str:
    """'64%' at 10% and above, '0.6%' below (where the first digit would hide the difference)."""
    return f"{x:.0%}" if x >= 0.095 else f"{x:.1%}"


def span(xs) -> str:
    """'0.2–6.8%' over the seeds ('0.0%': all seeds print alike)."""
    lo, hi = pct(min(xs)), pct(max(xs))
    return lo if lo == hi else f"{lo[:-1]}–{hi}"


def cell(runs: list[dict], arm: str, col: str) -> str:
    acc = [r["arms"][arm]["accuracy"].get(col) for r in runs]
    return "–" if None in acc else span(acc)


def table(runs: list[dict]) -> list[str]:
    return [f"| {label} | " + " | ".join(cell(runs, arm, c) for c in COLUMNS) + " |"
            for arm, label in ROWS.items()]  # fmt: skip


def test_the_cpu_profile_has_three_seeds_of_this_code():
    runs = _runs()
    assert [r["seed"] for r in runs] == [0, 1, 2]
    for r in runs:
        assert r["settings"] == json.loads(json.dumps(sft_vs_rl.settings("cpu")))
        plan = sft_vs_rl.arm_plan(
            "rl", sft_vs_rl.TransformerLM(sft_vs_rl.model_config(r["settings"])), r["settings"]
        )
        assert r["arms"]["rl"]["rl_steps"] == plan["rl_steps"]


def test_chapter_table_is_the_results():
    text, runs = CHAPTER.read_text(), _runs()
    missing = [row for row in table(runs) if row not in text]
    assert not missing, f"chapter 5.2's table differs from results/sft_vs_rl/cpu: {missing}"


def test_chapter_quotes_the_settings_and_compute():
    text, r = CHAPTER.read_text(), _runs()[0]
    s = r["settings"]
    assert find_claim(text, f"{s['demos']:,}", ("demonstrations",))
    assert find_claim(text, f"{s['pre_steps']:,}", ("pretrained", "steps"))
    assert find_claim(text, f"{r['arms']['sft']['sft_steps']:,}", ("SFT", "steps"))
    assert find_claim(text, f"{r['arms']['rl']['rl_steps']:,}", ("RL", "steps"))
    assert find_claim(text, f"{r['model']['params']:,}", ("parameters",))
    assert find_claim(text, f"{s['n_layers']} layers of width {s['d_model']}", ("GPT",))
    assert s["pre_mix"]["3"] == 0.1 and find_claim(text, "a tenth", ("3-digit", "pretrained"))
    assert find_claim(text, f"{s['samples']} sampled answers", ("RL",))
    assert find_claim(text, f"{s['n_eval']} held-out sums", ("accuracy",))
    assert find_claim(text, f"{len(_runs())} seeds", ("range",))
    minutes = sum(x["cpu_time_s"] for x in _runs()) / 2 / 60
    assert find_claim(text, f"{minutes:.0f} minutes", ("2 idle cores", "cpu_time_s"))


def _acc(r: dict, arm: str, col: str) -> float:
    return r["arms"][arm]["accuracy"][col]


def _reward(r: dict, arm: str) -> float:
    curve = r["arms"][arm]["rl_reward"]
    return sum(curve) / len(curve)


def test_chapter_sentences_quote_the_results():
    text, runs = CHAPTER.read_text(), _runs()
    col = lambda arm, c: span([_acc(r, arm, c) for r in runs])  # noqa: E731
    claims = [
        ("100%", ("pretrained", "2-digit", "3 seeds")),
        (col("pretrained", "3"), ("pretrained", "3-digit")),
        (col("sft", "demos"), ("SFT", "demonstrations")),
        (col("sft", "3"), ("SFT", "fresh 3-digit")),
        (col("sft", "2"), ("SFT", "2-digit")),
        (span([_reward(r, "rl") for r in runs]), ("RL sampled", "checked")),
        (col("rl", "3"), ("RL", "fresh 3-digit")),
        (col("rl", "2"), ("RL", "2-digit")),
        (col("sft_then_rl", "demos"), ("SFT", "RL", "demonstrations", "every seed")),
        (col("sft_then_rl", "3"), ("fresh 3-digit", "SFT alone")),
        (f"{runs[0]['arms']['sft_then_rl']['sft_steps']:,}", ("steps of SFT",)),
        (f"{runs[0]['arms']['sft_then_rl']['rl_steps']:,}", ("steps of RL",)),
        ("0.0%", ("beyond the training range", "every model", "every seed")),
    ]
    missing = [(v, w) for v, w in claims if not find_claim(text, v, w)]
    assert not missing, f"chapter 5.2 does not state these results where it should: {missing}"


def test_the_claims_hold_in_the_seeds_the_chapter_says():
    runs = _runs()
    arms = sft_vs_rl.ARMS
    for r in runs:  # 3 of 3
        assert _acc(r, "pretrained", "1") == _acc(r, "pretrained", "2") == 1.0
        assert _acc(r, "sft", "demos") >= 10 * _acc(r, "sft", "3")  # memorised
        assert _acc(r, "sft", "2") < 0.5 and _acc(r, "sft", "1") < 0.7  # forgot shorter sums
        assert _acc(r, "sft_then_rl", "demos") < 0.05 < _acc(r, "sft", "demos")
        assert _acc(r, "sft_then_rl", "3") <= _acc(r, "sft", "3")
        assert _reward(r, "rl") < 0.01  # RL's samples almost never check
        for name in (*sft_vs_rl.FLOORS, *arms):
            assert all(_acc(r, name, c) == 0 for c in ("4", "3+1", "1+3"))
        best = max(_acc(r, a, "3") for a in arms)
        assert _acc(r, "sft", "3") == best  # best or tied for best
    best_alone = sum(sorted(_acc(r, a, "3") for a in arms)[-2] < _acc(r, "sft", "3") for r in runs)
    assert best_alone == 2  # "best in 2 of 3 seeds and ties for best in the third"
    assert sum(_acc(r, "rl", "3") < _acc(r, "pretrained", "3") for r in runs) == 2
    assert sum(_acc(r, "rl", "2") > _acc(r, "sft", "2") for r in runs) == 2


def test_figure_redraws_from_the_results(tmp_path):
    from lmlib.tools.cli import main

    assert (
        main(["run", "sft_vs_rl", "--profile", "cpu", "--figures", "--figdir", str(tmp_path)]) == 0
    )
    assert [p.name for p in tmp_path.iterdir()] == ["sft_vs_rl.png"]
