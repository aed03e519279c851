"""The training cells of labs 1.2, 1.3, 1.4, 2.1 and 3.2 keep checkpoints: stopped midway and run
again, each ends with the numbers of a run that was never stopped, and trains again only what the
stop cut off. The cells are those of the solution notebooks, run in-process at the `ci` profile
(tiny Shakespeare replaced by a small synthetic text)."""

import os
import signal
from pathlib import Path

import matplotlib.pyplot as plt
import nbformat
import pytest
import torch

import lmlib
from lmlib.data import shakespeare
from lmlib.experiments import crossover, isoflop, mlp_ablation
from lmlib.runtime.files import CHECKPOINTS_ENV

TEXT = "".join(f"To be, or not to be, that is the question {i}.\n" for i in range(400))


def cell(lab: str, marker: str) -> str:
    """The one code cell of the lab's solution notebook that contains `marker`."""
    nb = nbformat.read(Path(f"labs/solutions/{lab}.ipynb"), as_version=4)
    found = [c.source for c in nb.cells if c.cell_type == "code" and marker in c.source]
    assert len(found) == 1, f"{lab}: {len(found)} code cells contain {marker!r}"
    return found[0]


def same(a, b, where="result"):
    """a and b have the same structure, and their numbers agree to a relative 1e-6."""
    if isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            same(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            same(x, y, f"{where}[{i}]")
    elif isinstance(a, torch.Tensor):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=0, msg=where)
    elif isinstance(a, float):
        assert a == pytest.approx(b, rel=1e-6), where
    else:
        assert a == b, where


def without(runs: list[dict], *keys: str) -> list[dict]:
    """The runs without the fields that measure time, which no two runs share."""
    return [{k: v for k, v in r.items() if k not in keys} for r in runs]


def watched(train, trained: list, stop: tuple[int, int] | None = None):
    """`train` that appends (call, step) to `trained` for every step it trains, and with
    stop=(call, step) sends SIGINT (the notebook's stop button) at that step of that call."""
    calls = [0]

    def wrapper(*args, on_step=None, **kwargs):
        calls[0] += 1
        call = calls[0]

        def step(s, loss):
            trained.append((call, s))
            if on_step is not None:
                on_step(s, loss)
            if (call, s) == stop:
                os.kill(os.getpid(), signal.SIGINT)

        return train(*args, on_step=step, **kwargs)

    return wrapper


@pytest.fixture
def lab(monkeypatch, tmp_path):
    """run(lab, *markers, into=namespace) execs those cells of the lab in `namespace` at the ci
    profile, with checkpoints under tmp_path/<folder>."""
    monkeypatch.setenv("LMLIB_PROFILE", "ci")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setattr(lmlib, "tiny_shakespeare", lambda: lmlib.CharDataset.from_text(TEXT))
    monkeypatch.setattr(shakespeare, "tiny_shakespeare", lmlib.tiny_shakespeare)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small matrices: one thread avoids synchronisation overhead

    def run(name: str, *markers: str, into: dict, folder: str = "checkpoints") -> dict:
        monkeypatch.setenv(CHECKPOINTS_ENV, str(tmp_path / folder))
        for marker in markers:
            exec(cell(name, marker), into)
        return into

    yield run
    torch.set_num_threads(threads)
    plt.close("all")


def test_1_2_training_stopped_and_rerun_ends_as_an_unstopped_run(lab, monkeypatch):
    name, cells = "1_2_multitask_learning", ("S = settings(", "= MultitaskCorpus(", "lmlib.train(")
    train = lmlib.train
    whole = lab(name, *cells, into={}, folder="whole")
    steps, trained = whole["SIZES"]["steps"], []
    monkeypatch.setattr(lmlib, "train", watched(train, trained, stop=(1, steps // 2)))
    stopped = lab(name, *cells, into={}, folder="stopped")
    assert stopped["history"].interrupted and trained[-1] == (1, steps // 2)
    assert stopped["steps"][-1] <= steps // 2
    trained = []
    monkeypatch.setattr(lmlib, "train", watched(train, trained))
    again = lab(name, *cells, into={}, folder="stopped")
    assert trained == [(1, s) for s in range(steps // 2 + 1, steps + 1)]  # only the rest
    assert not again["history"].interrupted
    assert again["steps"] == whole["steps"]
    same(again["overall"], whole["overall"])
    same(again["per_task"], whole["per_task"])
    same(again["shares"], whole["shares"])
    same(again["history"].val_loss, whole["history"].val_loss)


def test_1_3_ladder_stopped_and_rerun_trains_only_the_sizes_left(lab, monkeypatch, tmp_path):
    name, cells = "1_3_scaling_and_emergence", ("S = settings(", "def train_size(")
    train = lmlib.train
    whole = lab(name, *cells, into={}, folder="whole")
    steps, n_small = whole["RUN"]["steps"], len(whole["LADDER"]) - 1
    trained = []
    monkeypatch.setattr(lmlib, "train", watched(train, trained, stop=(2, steps // 2)))
    with pytest.raises(KeyboardInterrupt, match="stopped"):
        lab(name, *cells, into={}, folder="stopped")
    assert trained[-1] == (2, steps // 2)
    assert len(list((tmp_path / "stopped" / name).glob("*.pt"))) == 1, "one size finished"
    trained = []
    monkeypatch.setattr(lmlib, "train", watched(train, trained))
    again = lab(name, *cells, into={}, folder="stopped")
    assert trained == [(c, s) for c in range(1, n_small) for s in range(1, steps + 1)]
    same(again["runs"], whole["runs"])


def test_1_4_isoflop_runs_and_data_curve_stopped_and_rerun_redo_only_the_cut_run(
    lab, monkeypatch, tmp_path
):
    name, isoflop_cell, data_cell = "1_4_compute_optimal", "isoflop_run(", "data_point("
    train = isoflop.train

    def run(folder: str, *cells: str, into: dict | None = None, stop=None) -> tuple[dict, list]:
        """The lab's cells in a fresh namespace (unless `into`) with its first three runs only;
        and the (call, step) its trainings took."""
        if into is None:
            into = lab(name, "S = settings(", "plan = isoflop.plan(", into={}, folder=folder)
            into["plan"] = into["plan"][:3]  # the first budget's three smallest widths
        trained = []
        monkeypatch.setattr(isoflop, "train", watched(train, trained, stop))
        if stop is None:
            return lab(name, *cells, into=into, folder=folder), trained
        with pytest.raises(KeyboardInterrupt, match="stopped"):
            lab(name, *cells, into=into, folder=folder)
        assert trained[-1] == stop
        return into, trained

    whole, _ = run("whole", isoflop_cell, data_cell)
    n_points = len(whole["S"]["data"]["n_train"])
    run("stopped", isoflop_cell, stop=(2, 3))  # stopped in the second run
    again, trained = run("stopped", isoflop_cell)
    assert {c for c, _ in trained} == {1, 2}, "the first run is read back, the other two train"
    run("stopped", data_cell, into=again, stop=(2, 3))  # stopped in the second point
    again, trained = run("stopped", isoflop_cell, data_cell)
    assert {c for c, _ in trained} == set(range(1, n_points)), "only the points left train"
    same(again["runs"], whole["runs"])
    same(again["curve"], whole["curve"])
    assert len(list((tmp_path / "stopped" / name).glob("*.pt"))) == 3 + n_points


def test_2_1_race_stopped_and_rerun_trains_only_the_runs_left(lab, monkeypatch, tmp_path):
    name, cells = "2_1_driving_force", ("S = dataclasses.replace(", "task = S.task", "sweep(")
    train = crossover.train
    whole = lab(name, *cells, into={}, folder="whole")
    n_runs = sum(1 for r in whole["out"]["runs"] if r["model"] != "ngram")
    trained = []
    monkeypatch.setattr(crossover, "train", watched(train, trained, stop=(2, 5)))
    with pytest.raises(KeyboardInterrupt, match="stopped"):
        lab(name, *cells, into={}, folder="stopped")
    assert trained[-1] == (2, 5)
    trained = []
    monkeypatch.setattr(crossover, "train", watched(train, trained))
    again = lab(name, *cells, into={}, folder="stopped")
    assert {c for c, _ in trained} == set(range(1, n_runs)), "all but the first run train"
    same(without(again["out"]["runs"], "train_s"), without(whole["out"]["runs"], "train_s"))
    same(again["out"]["loss"], whole["out"]["loss"])
    same(again["out"]["crossovers"], whole["out"]["crossovers"])
    assert len(list((tmp_path / "stopped" / name).rglob("*.pt"))) == n_runs


def test_3_2_probe_and_ablation_stopped_and_rerun_redo_only_the_cut_run(lab, monkeypatch, tmp_path):
    name, setup = "3_2_mlp", "SIZES, EVAL_BATCHES = "
    probe_cell, ablation_cell = "mlp_ablation.probe_run(", "mlp_ablation.variant("
    probe, train = mlp_ablation.probe, mlp_ablation.train
    whole = lab(name, setup, probe_cell, ablation_cell, into={}, folder="whole")
    n_probes, n_runs = len(whole["probes"]), len(whole["runs"])

    probed = []

    def stopped_probe(*args):
        probed.append(args)
        if len(probed) == 2:
            raise KeyboardInterrupt  # the stop button, inside the second probe's training
        return probe(*args)

    monkeypatch.setattr(mlp_ablation, "probe", stopped_probe)
    with pytest.raises(KeyboardInterrupt):
        lab(name, setup, probe_cell, into={}, folder="stopped")
    probed.clear()
    monkeypatch.setattr(mlp_ablation, "probe", lambda *args: probed.append(args) or probe(*args))
    namespace = lab(name, setup, probe_cell, into={}, folder="stopped")
    assert len(probed) == n_probes - 1, "the first probe is read back, the others train"

    trained = []
    monkeypatch.setattr(mlp_ablation, "train", watched(train, trained, stop=(3, 2)))
    with pytest.raises(KeyboardInterrupt, match="stopped"):
        lab(name, ablation_cell, into=namespace, folder="stopped")
    assert trained[-1] == (3, 2)
    trained, probed[:] = [], []
    monkeypatch.setattr(mlp_ablation, "train", watched(train, trained))
    again = lab(name, setup, probe_cell, ablation_cell, into={}, folder="stopped")
    assert not probed, "every probe is read back"
    assert {c for c, _ in trained} == set(range(1, n_runs - 1)), "two runs are read back"
    same(again["probes"], whole["probes"])
    times = ("train_s", "cpu_s")
    same(without(again["runs"], *times), without(whole["runs"], *times))
    same(again["bigram"], whole["bigram"])
    assert len(list((tmp_path / "stopped" / name).glob("*.pt"))) == n_probes + n_runs
