"""Numbers quoted in the distillation chapter agree with the committed `lmlib run distill`."""

import json
from pathlib import Path

import pytest

from lmlib.experiments.distill_figures import comparisons, losses

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results" / "distill" / "cpu-seed0.json"
CHAPTER = ROOT / "lectures" / "11_distillation.md"


@pytest.fixture(scope="module")
def record() -> dict:
    return json.loads(RESULTS.read_text())


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
    """| size | objective | loss per seed | change | seeds better | tail recall per seed |"""
    rows = _rows(record, variant, size, objective)
    comp = record["comparisons"][f"{variant}/{size}/{objective}"]
    if objective == "gold":
        change, better = "(baseline)", "-"
    else:
        change = f"{comp['delta_vs_gold']:+.3f}"
        better = f"{comp['seeds_better']} of {comp['n_seeds']}"
    cells = [
        size,
        f"`{objective}`",
        *(f"{r['held_out_loss']:.3f}" for r in rows),
        change,
        better,
        *(_pct(r["tail_recall"]) for r in rows),
    ]
    return "| " + " | ".join(cells) + " |"


def quoted_values(record: dict) -> dict[str, str]:
    """Every number the chapter quotes, as it appears there (name -> text)."""
    s, t = record["settings"], record["teachers"]
    params = {r["size"]: r["params"] for r in record["students"]}
    rows = {
        f"row {v}/{sz}/{o}": table_row(record, v, sz, o)
        for v, sz, o in {(r["variant"], r["size"], r["objective"]) for r in record["students"]}
    }
    teacher = t["teacher"]
    return {
        **rows,
        "teacher": f"{teacher['params']:,} parameters",
        "teacher_loss": f"held-out loss of {teacher['held_out_loss']:.3f}",
        "teacher_tail": f"{_pct(teacher['tail_recall'])} of the tail facts",
        "student_params": f"xs ({params['xs']:,} parameters) and s ({params['s']:,})",
        "steps": f"{s['steps']} steps of {s['batch_size']} windows of {s['context']} tokens",
        "teacher_steps": f"{s['teacher_steps']:,} steps",
        "noise_teacher": f"noisy teacher reaches {t['teacher_noisy']['held_out_loss']:.3f}",
        "self_teacher": f"self-teacher reaches {t['self']['held_out_loss']:.3f}",
        "wall": f"{record['wall_time_s']:.0f} s of wall time",
        "teacher_phase": f"teachers took {record['teacher_phase_wall_s']:.0f} s",
        "student_phase": f"students {record['student_phase_wall_s']:.0f} s",
    }


def test_chapter_quotes_the_committed_run(record):
    text = CHAPTER.read_text()
    missing = {k: v for k, v in quoted_values(record).items() if v not in text}
    assert not missing, f"the chapter does not quote these committed results: {missing}"


def test_committed_run_is_clean_and_has_every_seed(record):
    assert record["profile"] == "cpu" and record["seeds"] == [0, 1]
    assert record["git_commit"] and not record["git_commit"].endswith("-dirty")
    assert record["comparisons"] == comparisons(record)
    for variant, size, obj in {
        (r["variant"], r["size"], r["objective"]) for r in record["students"]
    }:
        assert len(losses(record, variant, size, obj)) == 2


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_prose_states_what_the_committed_run_shows(record):
    """Each summary sentence of the chapter, rebuilt from the results, and the claim behind it."""
    c, t = record["comparisons"], record["teachers"]
    d = {k: v["delta_vs_gold"] for k, v in c.items()}
    better = {k: v["seeds_better"] for k, v in c.items()}
    tail = {k: [r["tail_recall"] for r in _rows(record, *k.split("/"))] for k in c}
    s_tail = [v for k, vals in tail.items() if k.startswith("ladder/s/") and k != "ladder/s/gold"
              for v in vals]  # fmt: skip
    gold_s = tail["ladder/s/gold"]
    gap = c["ladder/s/gold"]["loss"] - t["teacher"]["held_out_loss"]
    cpu_teachers = sorted(
        (t[k]["process_cpu_s"] for k in ("teacher", "teacher_noisy")), reverse=True
    )
    seed_cpu = sorted({(r["seed"], r["seed_process_cpu_s"]) for r in record["students"]})
    fragments = [
        f"by {-d['ladder/xs/soft_T1']:.3f} nats at size xs and by {-d['ladder/s/soft_T1']:.3f} "
        "nats at size s (mean of 2 seeds; lower in 2 of 2 seeds at each size)",
        f"sits {gap:.3f} nats above it",
        f"by {d['ladder/xs/soft_T4']:.3f} nats at xs and {d['ladder/s/soft_T4']:.3f} at s",
        f"${d['ladder/xs/soft+gold']:+.3f}$ at xs (better in {better['ladder/xs/soft+gold']} of 2 "
        f"seeds) and ${d['ladder/s/soft+gold']:+.3f}$ at s ({better['ladder/s/soft+gold']} of 2)",
        f"gave ${d['ladder/xs/soft+gold+cos']:+.3f}$ at xs ({better['ladder/xs/soft+gold+cos']} "
        f"of 2) and ${d['ladder/s/soft+gold+cos']:+.3f}$ at s "
        f"({better['ladder/s/soft+gold+cos']} of 2)",
        f"(about {d['ladder/s/labels']:+.2f} nats at both sizes, every seed)",
        f"at size s, {_pct(tail['ladder/s/labels'][0])} and {_pct(tail['ladder/s/labels'][1])} "
        f"against {_pct(gold_s[0])} and {_pct(gold_s[1])}",
        f"from about {c['ladder/s/gold']['tail_recall']:.0%} (gold-only) to between "
        f"{min(s_tail):.0%} and {max(s_tail):.0%}",
        f"from about {c['ladder/s/gold']['loss']:.2f} to {c['noise/s/gold']['loss']:.2f} nats",
        f"recovered {-d['noise/s/soft+gold']:.3f} nats of it, in both seeds",
        f"${d['self/s/soft+gold']:+.3f}$ nats on average, better in "
        f"{better['self/s/soft+gold']} of 2 seeds",
        f"the {t['teacher']['n_tail_facts']} facts the students read between 1 and 15 times",
        f"the large teachers took {cpu_teachers[0]:.0f} s and {cpu_teachers[1]:.0f} s, the "
        f"self-teacher {t['self']['process_cpu_s']:.0f} s, and each seed's students "
        f"{seed_cpu[0][1]:.0f} s and {seed_cpu[1][1]:.0f} s",
        f"{record['settings']['n_entities']} made-up people "
        f"({4 * record['settings']['n_entities']} facts",
    ]
    text = _flat(CHAPTER.read_text())
    missing = [f for f in fragments if _flat(f) not in text]
    assert not missing, f"the chapter's sentences disagree with the committed run: {missing}"
    # the claims those sentences make
    assert better["ladder/xs/soft_T1"] == better["ladder/s/soft_T1"] == 2
    assert better["ladder/xs/soft_T4"] == better["ladder/s/soft_T4"] == 0
    assert better["ladder/xs/labels"] == better["ladder/s/labels"] == 0
    assert abs(d["ladder/xs/labels"] - d["ladder/s/labels"]) < 0.05
    assert better["noise/s/soft+gold"] == 2
    distilled_s = [
        vals for k, vals in tail.items() if k.startswith("ladder/s/") and "gold" != k[9:]
    ]
    assert all(min(vals[i] for vals in distilled_s) > gold_s[i] for i in range(2))
    assert max(t["teacher"]["params"] / r["params"] for r in record["students"]) > 13
    assert cpu_teachers[0] + t["self"]["process_cpu_s"] + max(c for _, c in seed_cpu) < 150
