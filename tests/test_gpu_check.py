"""`lmlib gpu-check` and scripts/gpu_check.sh, tested where no GPU is: the plan, the time limits,
the targets read from a bench result, and (slow) the whole run on the CPU at the `ci` profile."""

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from lmlib.tools import gpu_check
from lmlib.tools.cli import main

ROOT = Path(__file__).resolve().parents[1]
LABS = ["2_1_driving_force", "1_1_next_token_prediction"]


def test_the_script_is_valid_bash():
    subprocess.run(["bash", "-n", str(ROOT / "scripts" / "gpu_check.sh")], check=True)


def test_dry_run_plans_every_step_in_order_and_runs_nothing(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    out = tmp_path / "gpu"
    assert main(["gpu-check", "--dry-run", "--out", str(out), "--labs", *LABS]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "profile gpu" in lines[0]
    names = [line.split(":")[0].strip() for line in lines[1:]]
    # the measurements that matter most come first; labs cheapest first (lab 1_1 trains most)
    assert names == ["doctor", "cuda_tests", "bench", "grade", *LABS]
    bench = next(line for line in lines if line.strip().startswith("bench:"))
    assert "--shapes gpt2-small" in bench and "--modes eager compiled" in bench
    assert "--models lmlib hf-gpt2" in bench and f"{out}/bench-gpt2-small.json" in bench
    assert "-m cuda" in next(line for line in lines if "cuda_tests:" in line)
    assert not out.exists()


def test_an_unknown_lab_is_refused_by_name(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    assert main(["gpu-check", "--dry-run", "--labs", "9_9_nothing"]) == 2
    assert "9_9_nothing" in capsys.readouterr().err


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_without_a_gpu_only_the_smoke_run_or_the_plan(capsys):
    assert main(["gpu-check"]) == 2
    assert "--smoke" in capsys.readouterr().err


def test_a_step_stops_at_its_limit_and_none_starts_after_the_deadline(tmp_path):
    sleep = [sys.executable, "-c", "import time; time.sleep(30)"]
    step = gpu_check.Step("sleep", sleep, tmp_path / "sleep.txt", limit_s=0.5)
    start = time.monotonic()
    result = gpu_check.run_step(step, start + 60, {}, min_s=0.1)
    assert result["status"].startswith("timeout") and time.monotonic() - start < 10
    late = gpu_check.run_step(step, time.monotonic() + 0.01, {}, min_s=0.1)
    assert late == {"status": "skipped: no time left", "rc": None, "seconds": 0.0}
    fails = gpu_check.Step("fails", [sys.executable, "-c", "raise SystemExit(3)"], step.log, 10)
    assert gpu_check.run_step(fails, time.monotonic() + 60, {}, min_s=0.1)["rc"] == 3


def bench(ratio: float, mfu: float | None) -> dict:
    row = {"model": "lmlib", "mode": "compiled", "ratio_vs_hf-gpt2": {"median": ratio}}
    eager = {"model": "lmlib", "mode": "eager", "ratio_vs_hf-gpt2": {"median": 9.0}}
    return {"rows": [eager, {**row, **({"mfu_bf16_peak": mfu} if mfu is not None else {})}]}


def test_targets_read_the_compiled_row():
    labs = {"a": {"status": "ok"}, "b": {"status": "timeout after 30 s"}}
    met = gpu_check.targets({"a": {"status": "ok"}}, bench(1.2, 0.45))
    assert [(t["value"], t["met"]) for t in met] == [("1/1", True), (1.2, True), (0.45, True)]
    missed = gpu_check.targets(labs, bench(1.05, 0.3))
    assert [(t["value"], t["met"]) for t in missed] == [("1/2", False), (1.05, False), (0.3, False)]
    unrated = gpu_check.targets(labs, bench(1.2, None))  # a GPU without a datasheet peak
    assert unrated[2] == {**unrated[2], "value": None, "met": None}
    assert [t["met"] for t in gpu_check.targets({}, None)][1:] == [None, None]


def test_names_and_the_colab_torch():
    assert gpu_check.slug("NVIDIA H100 80GB HBM3") == "nvidia-h100-80gb-hbm3"
    assert gpu_check.colab_torch(ROOT).startswith("2.11.0")


@pytest.mark.slow
def test_smoke_run_writes_every_result(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    out = tmp_path / "smoke"
    assert main(["gpu-check", "--smoke", "--labs", LABS[0], "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["steps"]) == {"doctor", "cuda_tests", "bench", "grade"}
    assert all(s["status"] == "ok" for s in summary["steps"].values())
    lab = json.loads((out / "labs.json").read_text())[LABS[0]]
    assert lab["status"] == "ok" and lab["train_flops"] > 0 and lab["wall_s"] > 0
    assert summary["grade"]["points"] == summary["grade"]["max_points"] > 0
    assert json.loads((out / "bench-tiny.json").read_text())["rows"]
    assert "autocast" in (out / "doctor.txt").read_text()
    assert summary["targets"][0]["met"] is True and summary["git_commit"]
