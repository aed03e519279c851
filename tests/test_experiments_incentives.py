"""The incentives experiment's fact LM trains and takes its quiz where its settings say: the CPU
at `ci` and `cpu`, the best device at `gpu`."""

from lmlib.analysis import quiz
from lmlib.experiments import incentives


def test_the_fact_lm_trains_on_the_device_of_its_settings(monkeypatch):
    asked, real = [], quiz.train_fact_lm

    def spy(*args, device="cpu", **kwargs):
        asked.append(device)
        return real(*args, device="cpu", **kwargs)  # this machine may have no GPU

    quizzed, real_quiz = [], quiz.answer_confidence

    def quiz_spy(model, kb, tok, device=None):
        quizzed.append(device)
        return real_quiz(model, kb, tok, "cpu")

    monkeypatch.setattr(quiz, "train_fact_lm", spy)
    monkeypatch.setattr(quiz, "answer_confidence", quiz_spy)
    s = incentives.settings("ci")
    incentives.quiz_model(s)
    incentives.quiz_model({**s, "device": "auto"})
    assert asked == quizzed == ["cpu", "auto"]  # the quiz runs where the training did
    assert "device" not in incentives.settings("cpu")
    assert incentives.settings("gpu")["device"] == "auto"


def test_the_experiments_three_gpu_seeds_fit_ten_t4_minutes_and_the_lab_is_wider():
    """At `gpu` the experiment trains one fact LM per seed, the lab one wider one; both sized by
    FLOPs at the T4 throughput `lmlib budget` assumes."""
    from lmlib.tools.budget import T4_ACHIEVED_FLOPS
    from lmlib.tools.plans import fact_lm_flops

    minutes = lambda s: fact_lm_flops(s) / T4_ACHIEVED_FLOPS / 60  # noqa: E731
    experiment = incentives.settings("gpu")
    assert len(experiment["seeds"]) >= 3
    assert len(experiment["seeds"]) * minutes(experiment) <= 10
    assert 5 <= minutes(incentives.lab_settings("gpu")) <= 10
    assert incentives.lab_settings("gpu")["d_model"] > experiment["d_model"]
    for profile in ("ci", "cpu"):
        assert incentives.lab_settings(profile) == incentives.settings(profile)
