"""The scaling sweep at the ci profile: per-point files, resume, parallel = sequential."""

import os
import re
import socket
import subprocess
import sys

import pytest

from lmlib.experiments import scaling
from lmlib.experiments.results import read_results
from lmlib.tools.cli import main


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    root = tmp_path_factory.mktemp("scaling")
    args = ["run", "scaling", "--profile", "ci", "--jobs", "1", "--results", str(root)]
    assert main([*args, "--figdir", str(root / "fig")]) == 0
    return root / "scaling"


def numbers(run: dict) -> dict:
    keep = ("decomposition", "snapshots", "probes", "facts_by_count", "final_train_loss")
    return {k: run[k] for k in keep}


def test_one_file_per_point_and_a_summary(sweep):
    s = scaling.settings("ci")
    names = {p.name for p in (sweep / "ci").iterdir()}
    assert names == {f"{z.name}-seed{k}.json" for z in s.sizes for k in s.seeds} | {"summary.json"}
    run = read_results(sweep / "ci" / f"{s.sizes[0].name}-seed0.json")
    for key in ("model_config", "train_config", "seed", "torch", "lmlib", "git_commit", "device"):
        assert key in run
    assert run["compute"] == run["flops_per_token"] * run["tokens"] and run["wall_time_s"] > 0
    tasks = run["decomposition"]["tasks"]
    assert sum(t["share"] * t["loss"] for t in tasks) == pytest.approx(run["decomposition"]["loss"])
    steps = [sn["step"] for sn in run["snapshots"]]
    assert steps == sorted(steps) and steps[-1] == run["train_config"]["steps"]
    per_step = run["compute"] / run["train_config"]["steps"]
    assert all(sn["compute"] == pytest.approx(per_step * sn["step"]) for sn in run["snapshots"])
    summary = read_results(sweep / "ci" / "summary.json")
    assert sorted(summary["sizes"]) == sorted(z.name for z in s.sizes)
    assert summary["compute"] == sorted(summary["compute"])
    assert summary["ladders"]["main"] == [z.name for z in s.sizes if z.ladder == "main"]
    assert (
        len(run["items"]["facts"]) == run["probe_items"]["facts"] == summary["probe_items"]["facts"]
    )
    m = summary["metrics"]["copying/exact"][s.sizes[0].name]
    assert m["min"] <= m["median"] <= m["max"] and set(m["seeds"]) == {str(k) for k in s.seeds}
    assert summary["shapes"]["copying/exact"]["label"] in scaling_labels()
    assert {p.name for p in (sweep.parent / "fig").iterdir()} >= {
        "scaling_loss_vs_compute.png",
        "emergence_memo_trap.png",
    }


def scaling_labels() -> set[str]:
    return {"flat", "U-shaped", "dip", "non-monotone", "jump", "smooth", "seed-dependent"}


def test_eval_steps_are_log_spaced_and_end_at_the_last_step():
    steps = scaling.eval_steps(1500, 3)
    assert steps[-1] == 1500 and steps[0] >= 8 and steps == sorted(set(steps))
    ratios = [b / a for a, b in zip(steps, steps[1:])]
    assert all(1.1 < r < 1.4 for r in ratios[3:])
    assert scaling.eval_steps(5, 2) == [5]


def test_plan_points_seed_by_seed_largest_first_missing_only_and_sharded(tmp_path):
    s = scaling.settings("ci")
    pts = scaling.plan_points("ci", tmp_path, seeds=(0, 1))
    assert [p.seed for p in pts] == sorted(p.seed for p in pts)  # whole seeds first
    compute = [scaling.size_compute(s, p.size) for p in pts if p.seed == 0]
    assert compute == sorted(compute, reverse=True) and len(compute) == len(s.sizes)
    pts = scaling.plan_points("ci", tmp_path)
    pts[0].path.parent.mkdir(parents=True)
    pts[0].path.write_text("{}")
    assert scaling.plan_points("ci", tmp_path) == pts[1:]
    halves = [scaling.plan_points("ci", tmp_path, shard=(r, 2)) for r in (0, 1)]
    assert sorted(halves[0] + halves[1], key=pts.index) == pts[1:]
    with pytest.raises(ValueError, match="rank"):
        scaling.plan_points("ci", tmp_path, shard=(2, 2))
    with pytest.raises(ValueError, match="jobs"):
        scaling.run_points("ci", pts, jobs=0)


@pytest.mark.slow  # starts worker processes
def test_two_workers_give_the_numbers_of_one(sweep, tmp_path):
    scaling.run_sweep("ci", tmp_path, jobs=2)
    first, second = (read_results(r / "ci" / "summary.json") for r in (sweep, tmp_path))
    assert first["loss"] == second["loss"] and first["metrics"] == second["metrics"]
    for z in scaling.settings("ci").sizes:
        name = f"{z.name}-seed0.json"
        assert numbers(read_results(tmp_path / "ci" / name)) == numbers(
            read_results(sweep / "ci" / name)
        )


def test_resume_reruns_only_missing_points(sweep, tmp_path, monkeypatch):
    done = tmp_path / "ci"
    done.mkdir()
    last = scaling.settings("ci").sizes[-1].name
    for p in (sweep / "ci").glob("*-seed*.json"):
        if not p.name.startswith(f"{last}-"):
            (done / p.name).write_text(p.read_text())
    trained = []
    real = scaling.run_one
    monkeypatch.setattr(
        scaling,
        "run_one",
        lambda profile, size, seed, world: (
            trained.append(size.name) or real(profile, size, seed, world)
        ),
    )
    scaling.run_sweep("ci", tmp_path)
    assert trained == [last]
    assert numbers(read_results(done / f"{last}-seed0.json")) == numbers(
        read_results(sweep / "ci" / f"{last}-seed0.json")
    )


def test_figures_redraw_from_results_without_training(sweep, tmp_path, monkeypatch):
    monkeypatch.setattr(scaling, "run_one", None)  # training would crash
    args = ["run", "scaling", "--profile", "ci", "--results", str(sweep.parent), "--figures"]
    assert main([*args, "--figdir", str(tmp_path)]) == 0
    assert len(list(tmp_path.glob("*.png"))) == 7


def _same_runs(a, b):
    ra, rb = read_results(a / "ci" / "summary.json"), read_results(b / "ci" / "summary.json")
    assert ra["loss"] == rb["loss"] and ra["metrics"] == rb["metrics"]
    for z in scaling.settings("ci").sizes:
        name = f"{z.name}-seed0.json"
        assert numbers(read_results(a / "ci" / name)) == numbers(read_results(b / "ci" / name))


@pytest.mark.slow  # starts two ranks under torchrun
def test_torchrun_ranks_share_the_points_and_give_the_sequential_numbers(sweep, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    env.update(OMP_NUM_THREADS="1", GLOO_SOCKET_IFNAME="lo", LMLIB_DEVICE="cpu")
    launcher = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2"]
    launcher += ["--master_addr=127.0.0.1", f"--master_port={port}", "-m", "lmlib"]
    args = ["run", "scaling", "--profile", "ci", "--results", str(tmp_path)]
    args += ["--figdir", str(tmp_path / "fig")]
    done = subprocess.run([*launcher, *args], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    # the ranks print at once, so two reports can share a line: find them in the whole output
    wrote = re.findall(r"wrote \S+/scaling/ci/(\S+-seed\d+\.json)", done.stdout)
    assert sorted(wrote) == sorted(f"{s.name}-seed0.json" for s in scaling.settings("ci").sizes)
    _same_runs(sweep, tmp_path / "scaling")
    assert (tmp_path / "fig" / "scaling_loss_vs_compute.png").exists()
