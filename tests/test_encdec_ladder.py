"""The encoder-decoder ladder: five configurations one switch apart, at equal training FLOPs."""

from dataclasses import asdict

import pytest

from lmlib.experiments import encdec_ladder as ladder
from lmlib.experiments.results import read_results
from lmlib.experiments.runner import results_path
from lmlib.models.encdec import EncoderDecoder


def test_each_step_removes_exactly_one_difference():
    names = list(ladder.LADDER)
    assert names[0] == "encoder_decoder" and names[-1] == "decoder_only"
    for before, after in zip(names, names[1:]):
        changed = [
            k for k in ladder.LADDER[after] if ladder.LADDER[after][k] != ladder.LADDER[before][k]
        ]
        assert len(changed) == 1, (before, after, changed)
    assert ladder.LADDER["decoder_only"] == dict(
        cross_attention=False, shared=True, memory="same", bidirectional=False
    )


@pytest.mark.parametrize("task_name", ladder.TASKS)
def test_every_configuration_gets_the_same_training_flops(task_name):
    s = ladder.settings("cpu")
    task = ladder.make_task(task_name, dict(n_train=50, n_test=10))
    spent = {}
    for name in ladder.LADDER:
        model = EncoderDecoder(ladder.model_config(name, task, s))
        steps = ladder.steps_for(name, task, s)
        spent[name] = steps * model.flops_per_example(task.src_len, task.tgt_len)
    base = spent["encoder_decoder"]
    assert all(abs(v / base - 1) < 0.01 for v in spent.values()), spent
    assert ladder.steps_for("decoder_only", task, s) > s["base_steps"][task_name]


def test_summary_finds_seed_noise():
    def run(config, task, seed, loss, em):
        return dict(config=config, task=task, seed=seed, loss=loss, exact_match=em,
                    token_accuracy=em, steps=1, params=1)  # fmt: skip

    runs = []
    for task in ladder.TASKS:
        for i, name in enumerate(ladder.LADDER):
            # loss: configurations 0.1 apart, seeds 0.5 apart; exact match: seeds agree
            runs += [run(name, task, 0, 1 + 0.1 * i, 0.5), run(name, task, 1, 1.5 + 0.1 * i, 0.5)]
    s = ladder.summarize(runs)["fact_lookup"]
    assert s["noise"]["loss"]["within_noise"]
    assert s["noise"]["loss"]["between_configs"] == pytest.approx(0.4)
    assert s["configs"]["prefix_lm"]["loss"]["mean"] == pytest.approx(1.55)
    assert s["noise"]["exact_match"]["within_noise"]  # all equal: no difference at all


def test_ci_run_writes_results_and_figures(tmp_path):
    from lmlib.tools.cli import main

    args = ["run", "encdec_ladder", "--profile", "ci", "--results", str(tmp_path / "r"),
            "--figdir", str(tmp_path / "f")]  # fmt: skip
    assert main(args) == 0
    r = read_results(results_path("encdec_ladder", "ci", 0, tmp_path / "r"))
    assert len(r["runs"]) == 2 * 5 * 2 and r["seeds"] == [0, 1]
    assert (tmp_path / "f" / "encdec_ladder.png").exists()
    assert r["model_configs"]["fact_lookup"]["decoder_only"]["shared"] is True
    assert asdict(ladder.model_config("prefix_lm", ladder.make_task("fact_lookup", dict(
        n_train=5, n_test=2)), r["settings"]))["bidirectional"] is True  # fmt: skip
