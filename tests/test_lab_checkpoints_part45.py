"""The training cells of labs 4.1 to 5.2 keep what they finish: stopped midway and run again, a
cell trains only what the stop cut off and ends with the numbers of a run that was never stopped.

Each test runs the solution notebook's cells in-process at the `ci` profile (the `check(...)`
cells left out), once without a stop, once stopped by a KeyboardInterrupt raised inside a unit
of training (what the notebook's stop button raises), then runs the stopped cell again.
"""

from pathlib import Path
from types import SimpleNamespace

import matplotlib.pyplot as plt
import nbformat
import pytest
import torch

from lmlib.runtime.files import CHECKPOINTS_ENV


class Stop:
    """A callable that raises KeyboardInterrupt on its `at`-th call, and counts calls."""

    def __init__(self, at: int | None = None):
        self.at, self.calls = at, 0

    def __call__(self) -> None:
        self.calls += 1
        if self.calls == self.at:
            raise KeyboardInterrupt


WALL_TIMES = ("train_s", "train_wall_s", "seconds")


def flat(x, path: str = "") -> dict:
    """The numbers in nested dicts and lists -> {"a/b/0": number}, for pytest.approx; other
    leaves (names) as their text."""
    if isinstance(x, dict):  # wall times left out: they differ from run to run
        x = {key: value for key, value in x.items() if key not in WALL_TIMES}
        return {k: v for key, value in x.items() for k, v in flat(value, f"{path}/{key}").items()}
    if isinstance(x, (list, tuple)):
        return {k: v for i, value in enumerate(x) for k, v in flat(value, f"{path}/{i}").items()}
    return {path: x} if isinstance(x, (int, float)) else {f"{path}={x}": 0}


class Lab:
    """A solution notebook's code cells, run in one namespace; `checkpoints` is the folder its
    cells keep their checkpoints in (a fresh folder starts over)."""

    def __init__(self, name: str, checkpoints: Path, monkeypatch):
        nb = nbformat.read(Path("labs/solutions") / f"{name}.ipynb", as_version=4)
        self.cells = [
            c.source
            for c in nb.cells
            if c.cell_type == "code" and "pip install" not in c.source
            if not c.source.startswith("check(")
        ]
        self.ns: dict = {"__name__": "__main__"}
        self.checkpoints, self.monkeypatch = checkpoints, monkeypatch

    def cell(self, marker: str) -> str:
        hits = [s for s in self.cells if marker in s]
        assert len(hits) == 1, f"{len(hits)} cells contain {marker!r}"
        return hits[0]

    def run(self, cell: str) -> dict:
        self.monkeypatch.setenv(CHECKPOINTS_ENV, str(self.checkpoints))
        exec(cell, self.ns)
        plt.close("all")
        return self.ns

    def run_before(self, marker: str) -> dict:
        """Every cell before the one that contains `marker`."""
        for source in self.cells[: self.cells.index(self.cell(marker))]:
            self.run(source)
        return self.ns


@pytest.fixture
def lab(monkeypatch, tmp_path):
    monkeypatch.setenv("LMLIB_PROFILE", "ci")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the labs run at `ci` and `cpu`: the matrices are small
    yield lambda name: Lab(name, tmp_path / "whole", monkeypatch)
    torch.set_num_threads(threads)
    plt.close("all")


def test_4_1_ladder_stopped_and_rerun_trains_only_the_runs_left(lab, monkeypatch, tmp_path):
    from lmlib.experiments import encdec_ladder

    nb = lab("4_1_encoder_decoder")
    training = nb.cell("run_ladder(")
    nb.run_before("run_ladder(")
    expected = flat([nb.run(training)["runs"], nb.ns["summary"]])

    one_run, stop, trained = encdec_ladder.one_run, Stop(at=3), []

    def counted(name, task, seed, *args):
        trained.append((name, task, seed))
        stop()  # the third run is cut off before it finishes
        return one_run(name, task, seed, *args)

    monkeypatch.setattr(encdec_ladder, "one_run", counted)
    nb.checkpoints = tmp_path / "stopped"
    with pytest.raises(KeyboardInterrupt):
        nb.run(training)
    jobs = [(r["config"], r["task"], r["seed"]) for r in nb.ns["runs"]]  # the unstopped run's
    assert trained == jobs[:3]
    trained.clear()
    nb.run(training)
    assert trained == jobs[2:], "only the run cut off and those after it train"
    assert flat([nb.ns["runs"], nb.ns["summary"]]) == pytest.approx(expected, rel=1e-6)


def test_4_2_objectives_stopped_in_electra_carry_on_from_its_last_scoring(
    lab, monkeypatch, tmp_path
):
    from lmlib.experiments import objectives

    nb = lab("4_2_pretraining_objectives")
    training = nb.cell("objectives.kept_run(")
    nb.run_before("objectives.kept_run(")
    runs = nb.run(training)["runs"]
    expected = flat({n: r["points"] for n, r in runs.items()})
    mlm, electra = len(runs["mlm"]["points"]), len(runs["electra"]["points"])
    assert electra >= 3

    pretrain, trained, steps = objectives.pretrain, [], []
    stop = Stop(at=mlm + 3)  # ELECTRA's third scoring: after its first budget share

    def counted(objective, ids, cfg, evaluate, device="cpu", checkpoint=None):
        trained.append(type(objective).__name__)
        forward = objective.forward

        def step(*args):
            steps.append(1)
            return forward(*args)

        def scored(encoder):
            stop()
            return evaluate(encoder)

        objective.forward = step
        return pretrain(objective, ids, cfg, scored, device, checkpoint)

    monkeypatch.setattr(objectives, "pretrain", counted)
    nb.checkpoints = tmp_path / "stopped"
    with pytest.raises(KeyboardInterrupt):
        nb.run(training)
    assert trained == ["MaskedLM", "Electra"]
    trained.clear()
    steps.clear()
    stop.calls = 0
    nb.run(training)
    assert trained == ["Electra"], "only the run cut off trains again"
    assert stop.calls == electra - 2, "it carries on from the last scoring saved"
    assert len(steps) == runs["electra"]["steps"] - runs["electra"]["points"][1]["step"]
    assert flat({n: r["points"] for n, r in nb.ns["runs"].items()}) == pytest.approx(
        expected, rel=1e-6
    )


def test_4_3_teacher_stopped_and_rerun_ends_as_unstopped_and_students_are_kept(
    lab, monkeypatch, tmp_path
):
    from lmlib.experiments import distill

    nb = lab("4_3_distillation")
    teachers_cell, students_cell = nb.cell("get_teacher("), nb.cell("def train_students")
    real, trained = distill.train_side_by_side, []
    stop = {"call": None, "step": 5}  # which training is cut off, and at which step

    class Cut(list):  # a loss curve that stops its training at stop["step"]
        def append(self, loss):
            super().append(loss)
            if len(self) == stop["step"]:
                raise KeyboardInterrupt

    def counted(students, *args):
        trained.append([s.name for s in students])
        if len(trained) == stop["call"]:
            students[0].losses = Cut()
        return real(students, *args)

    def teachers(ns: dict) -> dict:
        weights = {n: [p.tolist() for p in t.parameters()] for n, t in ns["teachers"].items()}
        records = {n: {k: v for k, v in r.items() if k != "cached"}
                   for n, r in ns["teacher_records"].items()}  # fmt: skip
        return flat([weights, records])

    def students(ns: dict) -> dict:
        return flat([ns["scores"], [st.losses for st in ns["students"]]])

    monkeypatch.setattr(distill, "train_side_by_side", counted)
    nb.run_before("get_teacher(")
    nb.ns["train_side_by_side"] = counted  # as the students' cell calls it
    nb.run(teachers_cell)
    nb.run(students_cell)
    expected = teachers(nb.ns), students(nb.ns)
    weights = [[p.detach().clone() for p in st.model.parameters()] for st in nb.ns["students"]]
    trained.clear()
    nb.run(students_cell)  # run again: the students are read back, not trained
    assert trained == []
    assert students(nb.ns) == pytest.approx(expected[1], rel=1e-6)
    for st, kept in zip(nb.ns["students"], weights, strict=True):
        for p, q in zip(st.model.parameters(), kept, strict=True):
            torch.testing.assert_close(p, q, rtol=1e-6, atol=0)

    nb.checkpoints = tmp_path / "stopped"
    stop["call"] = 2  # the second teacher
    with pytest.raises(KeyboardInterrupt):
        nb.run(teachers_cell)
    assert trained == [["teacher"], ["teacher_noisy"]]
    stop["call"] = None
    trained.clear()
    nb.run(teachers_cell)
    assert trained == [["teacher_noisy"]], "only the teacher cut off trains again"
    assert teachers(nb.ns) == pytest.approx(expected[0], rel=1e-6)


def test_5_1_fact_lm_stopped_and_rerun_ends_as_unstopped(lab, monkeypatch, tmp_path):
    from lmlib.analysis import quiz

    nb = lab("5_1_incentives")
    training = nb.cell("quiz.train_fact_lm(")
    nb.run_before("quiz.train_fact_lm(")
    numbers = lambda ns: flat([ns["losses"], ns["seen"].tolist(), ns["q"]["p"].tolist(),
                               [p.tolist() for p in ns["model"].parameters()]])  # fmt: skip
    expected = numbers(nb.run(training))

    stop = Stop(at=nb.ns["S"]["steps"] // 2)  # a call of the loss at each step
    cross_entropy = quiz.F.cross_entropy

    def counted(*args, **kwargs):
        stop()
        return cross_entropy(*args, **kwargs)

    monkeypatch.setattr(quiz, "F", SimpleNamespace(cross_entropy=counted))
    nb.checkpoints = tmp_path / "stopped"
    with pytest.raises(KeyboardInterrupt):
        nb.run(training)
    stop.at, stop.calls = None, 0
    nb.run(training)
    assert stop.calls == nb.ns["S"]["steps"]
    stop.calls = 0
    nb.run(training)
    assert stop.calls == 0, "the model trained before is trained again"
    assert numbers(nb.ns) == pytest.approx(expected, rel=1e-6)


def test_5_2_pretraining_and_arms_stopped_and_rerun_end_as_unstopped(lab, monkeypatch, tmp_path):
    from lmlib.experiments import sft_vs_rl
    from lmlib.rewards import sums

    nb = lab("5_2_post_training")
    pretraining, arms = nb.cell("sft_vs_rl.pretrain("), nb.cell("sft_vs_rl.finetune(")
    nb.run_before("sft_vs_rl.pretrain(")
    nb.run(pretraining)
    steps = nb.ns["S"]["pre_steps"]
    nb.run(arms)
    numbers = lambda ns: flat([ns["losses"], ns["acc"], ns["logs"]])
    expected = numbers(nb.ns)

    stop, logprobs = Stop(at=steps // 2 + 3), sums.answer_logprobs  # once a pretraining step
    rl_stop, rl_step = Stop(at=3), sums.rl_step  # the RL arm's third step
    finetuned, finetune = [], sft_vs_rl.finetune

    def counted(*args):
        stop()
        return logprobs(*args)

    def counted_rl(*args):
        rl_stop()
        return rl_step(*args)

    def arm(name, *args):
        finetuned.append(name)
        return finetune(name, *args)

    monkeypatch.setattr(sums, "answer_logprobs", counted)
    nb.checkpoints = tmp_path / "stopped"
    with pytest.raises(KeyboardInterrupt):
        nb.run(pretraining)
    stop.at, stop.calls = None, 0
    nb.run(pretraining)  # saved every tenth of the run: carries on from the save before the stop
    assert stop.calls == steps - steps // 2
    monkeypatch.setattr(sums, "rl_step", counted_rl)
    monkeypatch.setattr(sft_vs_rl, "finetune", arm)
    with pytest.raises(KeyboardInterrupt):
        nb.run(arms)
    assert finetuned == ["sft", "rl"]
    finetuned.clear()
    rl_stop.at = None
    nb.run(arms)
    assert finetuned == ["rl", "sft_then_rl"], "only the arm cut off and those after it train"
    assert numbers(nb.ns) == pytest.approx(expected, rel=1e-6)


def test_5_2_pretraining_refuses_a_checkpoint_of_other_settings(tmp_path):
    from lmlib.experiments import sft_vs_rl
    from lmlib.models.transformer import TransformerLM
    from lmlib.training.checkpoint import CheckpointError, load_checkpoint

    s = sft_vs_rl.settings("ci")
    path = tmp_path / "pretrained.pt"

    def pretrain(lr: float) -> list:
        torch.manual_seed(0)
        model = TransformerLM(sft_vs_rl.model_config(s))
        gen = torch.Generator().manual_seed(0)
        return sft_vs_rl.pretrain(model, s["pre_mix"], 4, 8, lr, gen, checkpoint=path, every=2)

    losses = pretrain(1e-3)
    assert load_checkpoint(path)["losses"] == losses  # saved at the end
    with pytest.raises(CheckpointError, match="lr: checkpoint has 0.001, this run has 0.002"):
        pretrain(2e-3)
