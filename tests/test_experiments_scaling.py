"""The scaling sweep at the ci profile: per-run files, resume, same seed -> same numbers."""

import os
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


def test_one_file_per_run_and_a_summary_with_fits(sweep):
    s = scaling.settings("ci")
    names = {p.name for p in (sweep / "ci").iterdir()}
    assert names == {f"{z.name}-seed{k}.json" for z in s.sizes for k in s.seeds} | {"summary.json"}
    run = read_results(sweep / "ci" / "xs-seed0.json")
    for key in ("model_config", "train_config", "seed", "torch", "lmlib", "git_commit", "device"):
        assert key in run
    assert run["compute"] == run["flops_per_token"] * run["tokens"] and run["wall_time_s"] > 0
    tasks = run["decomposition"]["tasks"]
    assert sum(t["share"] * t["loss"] for t in tasks) == pytest.approx(run["decomposition"]["loss"])
    summary = read_results(sweep / "ci" / "summary.json")
    assert summary["sizes"] == [z.name for z in s.sizes]
    assert set(summary["fits"]) == {"compute", "params"}
    assert {p.name for p in (sweep.parent / "fig").iterdir()} >= {
        "scaling_loss_vs_compute.png",
        "emergence_memo_trap.png",
    }


def test_same_seed_same_numbers(sweep, tmp_path):
    scaling.run_sweep("ci", tmp_path)
    first, second = (read_results(r / "ci" / "summary.json") for r in (sweep, tmp_path))
    assert first["loss"] == second["loss"] and first["metrics"] == second["metrics"]
    for name in ("xs-seed0.json", "m-seed0.json"):
        assert numbers(read_results(tmp_path / "ci" / name)) == numbers(
            read_results(sweep / "ci" / name)
        )


def test_resume_skips_finished_runs(sweep, tmp_path, monkeypatch):
    done = tmp_path / "ci"
    done.mkdir()
    for p in (sweep / "ci").glob("*-seed*.json"):
        if not p.name.startswith("m-"):
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
    assert trained == ["m"]


def test_figures_redraw_from_results_without_training(sweep, tmp_path, monkeypatch):
    monkeypatch.setattr(scaling, "run_one", None)  # training would crash
    args = ["run", "scaling", "--profile", "ci", "--results", str(sweep.parent), "--figures"]
    assert main([*args, "--figdir", str(tmp_path)]) == 0
    assert len(list(tmp_path.glob("*.png"))) == 6


def _same_runs(a, b):
    ra, rb = read_results(a / "ci" / "summary.json"), read_results(b / "ci" / "summary.json")
    assert ra["loss"] == rb["loss"] and ra["metrics"] == rb["metrics"]
    for z in scaling.settings("ci").sizes:
        name = f"{z.name}-seed0.json"
        assert numbers(read_results(a / "ci" / name)) == numbers(read_results(b / "ci" / name))


@pytest.mark.slow  # starts worker processes
def test_parallel_jobs_give_the_sequential_numbers(sweep, tmp_path):
    args = ["run", "scaling", "--profile", "ci", "--jobs", "2", "--results", str(tmp_path)]
    assert main([*args, "--figdir", str(tmp_path / "fig")]) == 0
    _same_runs(sweep, tmp_path / "scaling")


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
    wrote = [
        line for line in done.stdout.splitlines() if line.startswith("wrote ") and ".json" in line
    ]
    assert len(wrote) == len(scaling.settings("ci").sizes)  # each point trained once
    _same_runs(sweep, tmp_path / "scaling")
    assert (tmp_path / "fig" / "scaling_loss_vs_compute.png").exists()
