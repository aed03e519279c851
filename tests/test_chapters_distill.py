"""Numbers quoted in the distillation chapter agree with `lmlib run distill --profile cpu`, and
the claims its sentences make hold in the results file."""

import json
from pathlib import Path

import pytest
from claims import find_claim
from nested_close import assert_nested_close

from lmlib.experiments import distill
from lmlib.experiments.distill_figures import comparisons

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results" / "distill" / "cpu-seed0.json"
CHAPTER = ROOT / "lectures" / "4_3_distillation.md"
ARMS = {  # the chapter's tables: variant -> rows (size, objective)
    "ladder": [(sz, o) for sz in ("xs", "s") for o in distill.OBJECTIVES],
    "teacher2": [("s", o) for o in distill.SECOND_OBJECTIVES],
    "noise": [("s", o) for o in distill.NOISE_OBJECTIVES],
    "self": [("s", "soft+gold")],
    "limited": [("m", o) for o in distill.LIMITED_OBJECTIVES],
    "limited2": [("m", o) for o in distill.LIMITED_OBJECTIVES if o != "gold"],
}


@pytest.fixture(scope="module")
def record() -> dict:
    return json.loads(RESULTS.read_text())


@pytest.fixture(scope="module")
def text() -> str:
    return " ".join(CHAPTER.read_text().split())


def _pct(x: float) -> str:
    return f"{x:.1%}"


def _rows(record: dict, variant: str, size: str, objective: str) -> list[dict]:
    rows = [
        r
        for r in record["students"]
        if (r["variant"], r["size"], r["objective"]) == (variant, size, objective)
    ]
    return sorted(rows, key=lambda r: r["seed"])


def table_row(record: dict, variant: str, size: str, objective: str) -> str:
    """| size | objective | loss per seed | change | lower in | accuracy per seed | change |
    higher in |"""
    rows = _rows(record, variant, size, objective)
    c = record["comparisons"][f"{variant}/{size}/{objective}"]
    n = c["n_seeds"]
    if objective == "gold":
        change = better = acc_change = acc_better = "-"
    else:
        a = c["accuracy_vs_gold"]
        change, better = f"{c['delta_vs_gold']:+.3f}", f"{c['seeds_better']} of {n}"
        acc_change, acc_better = f"{100 * a['delta_vs_gold']:+.1f}", f"{a['seeds_better']} of {n}"
    cells = [
        size,
        f"`{objective}`",
        " / ".join(f"{r['held_out_loss']:.3f}" for r in rows),
        change,
        better,
        " / ".join(_pct(r["held_out_accuracy"]) for r in rows),
        acc_change,
        acc_better,
    ]
    return "| " + " | ".join(cells) + " |"


def test_the_run_is_clean_complete_and_recomputes(record):
    assert record["profile"] == "cpu" and record["seeds"] == [0, 1, 2]
    assert record["git_commit"] and not record["git_commit"].endswith("-dirty")
    # Means of committed floats: 1e-9 relative is far below any quoted digit (nested_close.py)
    assert_nested_close(comparisons(record), record["comparisons"], rel=1e-9)
    keys = {(r["variant"], r["size"], r["objective"]) for r in record["students"]}
    assert keys == {(v, sz, o) for v, rows in ARMS.items() for sz, o in rows}
    for key in keys:
        assert len(_rows(record, *key)) == 3
    assert {"teacher", "teacher2", "teacher_noisy", "self"} == set(record["teachers"])


def test_every_table_row_is_the_run(record):
    chapter = CHAPTER.read_text()
    missing = [table_row(record, v, sz, o) for v, rows in ARMS.items() for sz, o in rows]
    missing = [row for row in missing if row not in chapter]
    assert not missing, f"rows not in the chapter: {missing}"


def test_the_data_limited_arm_reads_five_percent_for_several_epochs(record, text):
    s = record["settings"]
    limited = [r for r in record["students"] if r["variant"].startswith("limited")]
    epochs = {round(r["epochs"], 1) for r in limited}
    assert len(epochs) == 1 and s["limited_fraction"] == 0.05
    assert find_claim(text, f"{epochs.pop():.1f}", ("epochs", "5%"))
    tokens = round(s["limited_steps"] * s["batch_size"] * s["context"] / limited[0]["epochs"])
    assert find_claim(text, f"{tokens:,}", ("tokens", "5%"))
    m = limited[0]["params"]
    assert find_claim(text, f"{m:,}", ("m", "parameters", "teacher's size"))


def _d(record: dict, key: str) -> dict:
    return record["comparisons"][key]


def _loss_clause(c: dict) -> str:
    """'by +0.123 nats (lower in 2 of 3 seeds, by more than the seed spread of 0.010 in 1)'"""
    return (
        f"{c['delta_vs_gold']:+.3f} nats (lower in {c['seeds_better']} of 3 seeds, by more than "
        f"the seed spread of {c['spread']:.3f} in {c['seeds_better_by_spread']})"
    )


def _acc_clause(c: dict) -> str:
    a = c["accuracy_vs_gold"]
    return (
        f"{100 * a['delta_vs_gold']:+.1f} points of accuracy (higher in {a['seeds_better']} of 3 "
        f"seeds, by more than the seed spread of {100 * a['spread']:.1f} in "
        f"{a['seeds_better_by_spread']})"
    )


def sentences(record: dict) -> dict[str, str]:
    """The chapter's result sentences, rebuilt from the results file: name -> sentence."""
    out = {}
    for variant, size, obj in [
        ("ladder", "xs", "soft_T1"),
        ("ladder", "s", "soft_T1"),
        ("ladder", "xs", "labels"),
        ("ladder", "s", "labels"),
        ("ladder", "s", "soft_T4"),
        ("ladder", "s", "soft+gold"),
        ("ladder", "s", "soft+gold+cos"),
        ("teacher2", "s", "soft_T1"),
        ("teacher2", "s", "labels"),
        ("limited", "m", "soft_T1"),
        ("limited", "m", "soft+gold"),
        ("limited", "m", "labels"),
        ("limited2", "m", "soft_T1"),
        ("limited2", "m", "soft+gold"),
        ("noise", "s", "soft+gold"),
        ("noise", "s", "labels"),
        ("self", "s", "soft+gold"),
    ]:
        c = _d(record, f"{variant}/{size}/{obj}")
        out[f"{variant}/{size}/{obj}"] = (
            f"`{obj}` at size {size} against gold-only: {_loss_clause(c)}, and {_acc_clause(c)}."
        )
    return out


def test_every_result_sentence_is_in_the_chapter(record, text):
    missing = [s for s in sentences(record).values() if " ".join(s.split()) not in text]
    assert not missing, f"sentences not in the chapter: {missing}"


def limited_verdict(record: dict) -> str:
    """Did soft targets beat gold-only by more than the seed spread in every seed, in the
    data-limited arm, from both teachers? The sentence the chapter gives either way."""
    met = all(
        _d(record, f"{v}/m/soft_T1")["seeds_better_by_spread"] == 3 for v in ("limited", "limited2")
    )
    if met:
        return (
            "With little data, soft targets beat gold-only by more than the seed spread in every "
            "seed, from both teachers."
        )
    return (
        "With little data, soft targets did not beat gold-only by more than the seed spread in "
        "every seed from both teachers."
    )


def test_the_chapter_says_whether_soft_targets_beat_the_seed_spread_with_little_data(record, text):
    assert limited_verdict(record) in text


def test_the_chapter_states_the_cost(record, text):
    seed_cpu = [
        c for _, c in sorted({(r["seed"], r["seed_process_cpu_s"]) for r in record["students"]})
    ]
    words = ("seeds 0, 1 and 2", "CPU time")
    assert find_claim(text, f"{seed_cpu[0]:.0f}, {seed_cpu[1]:.0f} and {seed_cpu[2]:.0f}", words)
    minutes = sum(seed_cpu) / 2 / 60
    assert find_claim(text, f"{minutes:.0f}", ("minutes", "2 cores", "halved"))


def test_setup_numbers_are_the_run(record, text):
    t = record["teachers"]
    assert find_claim(text, f"{t['teacher']['params']:,}", ("two teachers", "parameters"))
    for name in ("teacher", "teacher2"):
        assert find_claim(text, f"{t[name]['held_out_loss']:.3f}", ("held-out loss",))
        assert find_claim(text, f"{t[name]['held_out_accuracy']:.1%}", ("accuracy",))
    params = {r["size"]: r["params"] for r in record["students"]}
    assert find_claim(text, f"{params['xs']:,}", ("xs", "parameters"))
    assert find_claim(text, f"{params['s']:,}", ("xs", "parameters"))
    noisy, own = t["teacher_noisy"]["held_out_loss"], t["self"]["held_out_loss"]
    assert find_claim(text, f"{noisy:.3f}", ("noisy teacher",))
    assert find_claim(text, f"{own:.3f}", ("self-teacher",))


def test_the_interpretations_hold_in_the_run(record, text):
    c = record["comparisons"]
    acc = {k: v["accuracy_vs_gold"] for k, v in c.items()}
    soft = ["ladder/xs/soft_T1", "ladder/s/soft_T1", "teacher2/s/soft_T1"]
    # whole text: soft_T1 lower in most seeds, beyond the spread in at most one comparison,
    # accuracy up by less than a point and never beyond the spread
    assert all(c[k]["seeds_better"] >= 2 for k in soft)
    assert sum(c[k]["seeds_better_by_spread"] for k in soft) == 1
    assert all(0 < acc[k]["delta_vs_gold"] < 0.01 and acc[k]["seeds_better_by_spread"] == 0
               for k in soft)  # fmt: skip
    assert "in all but one comparison" in text
    # teacher labels: worst loss everywhere, accuracy within about a point, xs higher every seed
    labels = ["ladder/xs/labels", "ladder/s/labels", "teacher2/s/labels"]
    for k in labels:
        arm = k.rsplit("/", 1)[0]
        same_arm = [v["delta_vs_gold"] for key, v in c.items() if key.rsplit("/", 1)[0] == arm]
        assert c[k]["delta_vs_gold"] == max(same_arm)
        assert abs(acc[k]["delta_vs_gold"]) < 0.012
    assert acc["ladder/xs/labels"]["seeds_better"] == 3
    # hotter temperature and gold mix at s: worse on both scores in every seed; cosine: small gain
    for k in ("ladder/s/soft_T4", "ladder/s/soft+gold"):
        assert c[k]["seeds_better"] == 0 and acc[k]["seeds_better"] == 0
    cos = c["ladder/s/soft+gold+cos"]
    assert cos["delta_vs_gold"] < 0 and cos["seeds_better_by_spread"] == 0
    # little data: every soft student lower in every seed; the mix beyond the spread in every
    # seed from both teachers, soft_T1 from the second too, from the first not
    for v in ("limited", "limited2"):
        for o in ("soft_T1", "soft+gold"):
            assert c[f"{v}/m/{o}"]["seeds_better"] == 3
        assert c[f"{v}/m/soft+gold"]["seeds_better_by_spread"] == 3
    assert c["limited2/m/soft_T1"]["seeds_better_by_spread"] == 3
    assert c["limited/m/soft_T1"]["seeds_better_by_spread"] == 2
    limited = [k for k in c if k.startswith("limited")]
    assert sum(acc[k]["seeds_better_by_spread"] for k in limited) <= len(limited) * 3 / 2
    best_acc = max(limited + ["limited/m/gold"], key=lambda k: c[k]["accuracy"])
    assert best_acc == "limited/m/labels"
    # the limited students stay far from same-size teachers that read everything
    t = record["teachers"]
    gap = c["limited/m/gold"]["loss"] - max(
        t["teacher"]["held_out_loss"], t["teacher2"]["held_out_loss"]
    )
    assert gap > 3 * -c["limited/m/soft+gold"]["delta_vs_gold"]
    # label noise: soft+gold better in every seed; labels the highest accuracy of the three
    assert c["noise/s/soft+gold"]["seeds_better"] == 3
    noise = ["noise/s/gold", "noise/s/labels", "noise/s/soft+gold"]
    assert max(noise, key=lambda k: c[k]["accuracy"]) == "noise/s/labels"
    # no student near its teacher; students 5 and 13 times smaller
    full = [r for r in record["students"] if not r["variant"].startswith("limited")]
    assert min(r["held_out_loss"] for r in full) > t["teacher"]["held_out_loss"] + 0.1
    params = {r["size"]: r["params"] for r in full}
    assert sorted(round(t["teacher"]["params"] / n) for n in params.values()) == [5, 13]
    assert "5 to 13 times smaller" in text
