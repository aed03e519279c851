"""Chapter 4.1 quotes the committed encoder-decoder ladder; its code listings exist in lmlib."""

import json
import re
from pathlib import Path

import pytest

from lmlib.experiments import encdec_ladder as ladder

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results" / "encdec_ladder" / "cpu-seed0.json"
RAW = (ROOT / "lectures" / "4_1_encoder_decoder.md").read_text()
TEXT = " ".join(RAW.split())  # sentences are found across line breaks
TASK_NAMES = {"fact_lookup": "fact lookup", "lexicon_translation": "toy translation"}


@pytest.fixture(scope="module")
def r():
    return json.loads(RESULTS.read_text())


def table_rows(r: dict) -> list[str]:
    """The chapter's results table: one row per task and configuration, every seed shown."""
    rows = []
    for task in ladder.TASKS:
        for name in ladder.LADDER:
            runs = sorted(
                (x for x in r["runs"] if x["task"] == task and x["config"] == name),
                key=lambda x: x["seed"],
            )
            loss = " / ".join(f"{x['loss']:.3f}" for x in runs)
            em = " / ".join(f"{x['exact_match']:.3f}" for x in runs)
            c = r["summary"][task]["configs"][name]
            rows.append(
                f"| {TASK_NAMES[task]} | `{name}` | {c['steps']} | {c['params']:,} | {loss} | "
                f"{c['loss']['mean']:.3f} | {em} | {c['exact_match']['mean']:.3f} |"
            )
    return rows


def test_results_come_from_a_clean_commit(r):
    assert r["git_commit"] and not r["git_commit"].endswith("-dirty")
    assert r["profile"] == "cpu" and len(r["seeds"]) >= 2


def test_chapter_table_quotes_every_run(r):
    missing = [row for row in table_rows(r) if row not in TEXT]
    assert not missing, f"chapter 4.1 does not quote these committed rows: {missing}"


def test_chapter_states_for_each_task_whether_the_five_are_within_seed_noise(r):
    for task in ladder.TASKS:
        for metric, unit in (("loss", " nats"), ("exact_match", "")):
            n = r["summary"][task]["noise"][metric]
            verdict = "within" if n["within_noise"] else "outside"
            sentence = (
                f"{TASK_NAMES[task]}, {metric.replace('_', ' ')}: the configurations' means span "
                f"{n['between_configs']:.3f}{unit}, one configuration's seeds up to "
                f"{n['within_seeds']:.3f}{unit}: {verdict} seed noise"
            )
            assert sentence in TEXT, sentence


def test_chapter_quotes_the_prefix_lm_and_causal_losses_on_the_long_input_task(r):
    c = r["summary"]["fact_lookup"]["configs"]
    quoted = (
        f"prefix LM {c['prefix_lm']['loss']['mean']:.3f} nats, decoder-only "
        f"{c['decoder_only']['loss']['mean']:.3f} nats"
    )
    assert quoted in TEXT


def test_chapter_quotes_the_ladder_wall_time_and_each_run_s_time(r):
    assert f"it took {r['wall_time_s']:.1f} s" in TEXT
    seconds = [x["train_s"] for x in r["runs"]]
    assert f"between {round(min(seconds))} and {round(max(seconds))} s per training run" in TEXT
    assert max(seconds) < 60 and "trained for a few seconds each" in TEXT


def test_chapter_reading_of_the_seed_noise_holds(r):
    noise = {task: r["summary"][task]["noise"] for task in ladder.TASKS}
    # fact lookup: every plateau seed is above every seed that left the plateau
    final_layer = ["encoder_decoder", "joint_attention", "shared_stack"]
    stayed = [v for n in final_layer for v in by_seed(r, "fact_lookup", n, "loss")]
    left = [v for n in ("prefix_lm", "decoder_only") for v in by_seed(r, "fact_lookup", n, "loss")]
    assert max(left) < min(stayed) and "the same way in both seeds" in TEXT
    # translation: the encoder-decoder's seeds land on either side of the transition
    em = by_seed(r, "lexicon_translation", "encoder_decoder", "exact_match")
    assert min(em) < 0.1 and max(em) > 0.99
    assert f"exact match {em[0]:.3f} in one seed and {em[1]:.3f} in the other" in TEXT
    n = noise["lexicon_translation"]["exact_match"]
    assert 0 < n["between_configs"] - n["within_seeds"] < 0.1
    assert (
        f"seeds differ by up to {n['within_seeds']:.3f} there" in TEXT
        and f"spread of {n['between_configs']:.3f} clears it only narrowly" in TEXT
    )
    n = noise["lexicon_translation"]["loss"]
    assert n["between_configs"] > 2 * n["within_seeds"]
    assert (
        f"a spread of {n['between_configs']:.3f} nats against seeds up to "
        f"{n['within_seeds']:.3f} nats apart, is not close" in TEXT
    )


def test_literalincludes_name_real_objects():
    for path, obj in re.findall(
        r"```\{literalinclude\} \.\./(\S+)\n(?::language: \w+\n)?:pyobject: (\S+)", RAW
    ):
        source = (ROOT / path).read_text()
        name = obj.split(".")[-1]
        assert re.search(rf"^\s*(def|class) {name}\b", source, re.M), (path, obj)
    assert RAW.count("{literalinclude}") >= 4


def test_figure_redraws_from_the_committed_results(r, tmp_path):
    made = ladder.figures(r, tmp_path)
    assert [p.name for p in made] == ["encdec_ladder.png"]


def by_seed(r: dict, task: str, name: str, metric: str) -> list[float]:
    runs = sorted((x for x in r["runs"] if (x["task"], x["config"]) == (task, name)),
                  key=lambda x: x["seed"])  # fmt: skip
    return [x[metric] for x in runs]


def test_chapter_statements_about_each_step_hold_in_the_results(r):
    final_layer = ["encoder_decoder", "joint_attention", "shared_stack"]
    losses = [v for n in final_layer for v in by_seed(r, "fact_lookup", n, "loss")]
    assert f"a loss of {min(losses):.3f} to {max(losses):.3f} nats" in TEXT
    # the final-layer configurations stay on the plateau, the same-layer ones leave it, every seed
    same_layer = [
        v for n in ("prefix_lm", "decoder_only") for v in by_seed(r, "fact_lookup", n, "loss")
    ]
    assert max(same_layer) < min(losses)
    dec, pre = (
        by_seed(r, "fact_lookup", "decoder_only", "loss"),
        by_seed(r, "fact_lookup", "prefix_lm", "loss"),
    )
    assert all(d < p for d, p in zip(dec, pre)) and "ahead in both seeds" in TEXT
    joint, shared = (
        by_seed(r, "fact_lookup", n, "loss") for n in ("joint_attention", "shared_stack")
    )
    assert [f"{v:.3f}" for v in joint] == [f"{v:.3f}" for v in shared]
    em = by_seed(r, "lexicon_translation", "joint_attention", "exact_match")
    assert max(em) == 0 and "failed both seeds (exact match 0.000)" in TEXT
    ed = sorted(by_seed(r, "lexicon_translation", "encoder_decoder", "exact_match"))
    assert 0.99 < ed[-1] < 1 and ed[0] < 0.5
    nearly = f"nearly solved one seed of two (exact match {ed[-1]:.3f}, against {ed[0]:.3f}"
    assert f"{nearly} in the other)" in TEXT
    for n in ("prefix_lm", "decoder_only"):
        assert by_seed(r, "lexicon_translation", n, "exact_match") == [1.0, 1.0]
    assert (
        "(loss 0.002)" in TEXT
        and f"{by_seed(r, 'lexicon_translation', 'decoder_only', 'loss')[0]:.3f}" == "0.002"
    )
    steps = {
        n: r["summary"]["fact_lookup"]["configs"][n]["steps"]
        for n in ("decoder_only", "encoder_decoder")
    }
    d, e = steps["decoder_only"], steps["encoder_decoder"]
    assert f"trained {d} steps on fact lookup where the encoder-decoder trained {e}" in TEXT


def test_chat_numbers_come_from_the_committed_chat_runs():
    runs = [
        json.loads((ROOT / "results" / "chat_cache" / f"cpu-seed{seed}.json").read_text())
        for seed in (0, 1, 2)
    ]
    first = runs[0]
    assert {r["git_commit"].endswith("-dirty") for r in runs} == {False}
    set_ = first["settings"]
    assert (
        f"ten turns, each a {set_['user']}-token message and a {set_['reply']}-token reply" in TEXT
    )
    assert (
        set_["turns"] == 10 and f"{set_['n_layers']}-layer model of width {set_['d_model']}" in TEXT
    )
    summary = first["summary"]
    assert summary["max_counter_mismatch"] == 0 and "agrees exactly" in TEXT
    for r in runs:  # FLOPs are the same in every seed; only seconds vary
        assert r["summary"]["flops_ratio_total"] == summary["flops_ratio_total"]
    assert f"spends {summary['flops_ratio_total']:.2f} times the forward FLOPs" in TEXT
    assert f"and {summary['flops_ratio_last_turn']:.2f} times in the last turn" in TEXT
    causal, prefix = first["per_turn"]["causal"], first["per_turn"]["prefix"]
    assert f"exponent of {causal['tokens_exponent']:.2f} for the cache" in TEXT
    assert f"({causal['tokens_read'][0]} new tokens every turn)" in TEXT
    assert f"and {prefix['tokens_exponent']:.2f} for re-encoding" in TEXT
    seconds = sorted(r["summary"]["seconds_ratio_total"] for r in runs)
    assert f"{seconds[0]:.2f} to {seconds[-1]:.2f} times in total over the three seeds" in TEXT
    assert seconds[0] > 1  # re-encoding is slower in every seed
