"""The objectives sweep at the ci profile: per-run files, equal budgets, pairing, summary,
resume, figures; and the gpu profile's size."""

import pytest

from lmlib.experiments import objectives
from lmlib.experiments.objectives_summary import score_se, validity
from lmlib.experiments.results import read_results
from lmlib.tools.budget import T4_ACHIEVED_FLOPS
from lmlib.tools.cli import main


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    root = tmp_path_factory.mktemp("objectives")
    args = ["run", "objectives", "--profile", "ci", "--jobs", "1", "--results", str(root)]
    assert main([*args, "--figdir", str(root / "fig")]) == 0
    return root


def test_one_file_per_run_at_equal_flops_from_one_start(sweep):
    s = objectives.settings("ci")
    out = sweep / "objectives" / "ci"
    runs = [(r, k) for r in s.runs for k in s.seeds]
    runs += [(r, k) for r in s.ablations for k in s.ablation_seeds]
    assert {p.name for p in out.iterdir()} == {f"{r.name}-seed{k}.json" for r, k in runs} | {
        "summary.json"
    }
    budget = s.pretrain.flops
    for r, k in runs:
        run = read_results(out / f"{r.name}-seed{k}.json")
        last = run["points"][-1]
        assert last["flops"] <= budget < last["flops"] + run["flops_per_step"]
        assert [p["step"] for p in run["points"]][0] == 0 and len(run["points"]) == 5
        assert run["git_commit"] and run["cpu_time_s"] > 0
    steps = {r.name: read_results(out / f"{r.name}-seed0.json")["steps"] for r, _ in runs}
    assert steps["electra"] < steps["mlm"]  # the generator's FLOPs are paid for in steps
    assert steps["all_tokens_mlm"] < steps["replace_mlm"]  # a head at every position costs
    summary = read_results(out / "summary.json")
    # every objective of a seed starts from one encoder and meets one fine-tuning: one floor
    assert all(len(v) == 1 for v in summary["floor_by_seed"].values())
    assert set(summary["versus_mlm"]) == {"electra", "replace_mlm", "all_tokens_mlm", "electra_15"}
    diffs = summary["versus_mlm"]["electra"]["0"]
    assert [d["share"] for d in diffs] == list(s.pretrain.checkpoints)
    e, m = summary["runs"]["electra"]["0"]["points"], summary["runs"]["mlm"]["0"]["points"]
    assert diffs[-1]["diff"] == pytest.approx(e[-1]["score"] - m[-1]["score"], rel=1e-9)
    assert summary["electra_wins"]["0"] == sum(d["diff"] > 0 for d in diffs)
    assert set(summary["bag_of_words"]) == {"agreement", "negation", "facts"}
    assert summary["cpu_time_s"] > 0
    assert {p.name for p in (sweep / "fig").iterdir()} == {
        "objectives_equal_compute.png",
        "objectives_paired_differences.png",
    }


def test_resume_reads_existing_files(sweep):
    path = sweep / "objectives" / "ci" / "mlm-seed0.json"
    before = path.stat().st_mtime_ns
    args = ["run", "objectives", "--profile", "ci", "--jobs", "1", "--results", str(sweep)]
    assert main([*args, "--figdir", str(sweep / "fig")]) == 0
    assert path.stat().st_mtime_ns == before


def point(acc: float) -> dict:
    return {"agreement": acc, "negation": acc, "facts": acc, "score": acc}


def test_validity_needs_three_standard_errors_in_every_seed_and_over_them():
    assert score_se(point(0.5), 100) == pytest.approx((3 * 0.25 / 100) ** 0.5 / 3, rel=1e-12)

    def table(finals):
        return {"mlm": {str(k): {"points": [point(0.5)], "final": point(f)}
                        for k, f in enumerate(finals)}}  # fmt: skip

    assert validity(table([0.7, 0.72, 0.71]), 512)["valid"]
    assert not validity(table([0.7, 0.72, 0.52]), 512)["valid"]  # one seed within noise
    assert not validity(table([0.55, 0.6, 0.9]), 512)["valid"]  # seeds too spread
    v = validity(table([0.7, 0.72, 0.71]), 512)
    assert v["mean_diff"] == pytest.approx(0.21, rel=1e-9) and v["sigmas"] > 3


def test_the_gpu_profile_fits_ten_minutes_of_a_t4():
    seconds = objectives.planned_flops("gpu") / T4_ACHIEVED_FLOPS
    assert 300 < seconds <= 600
    assert objectives.planned_flops("cpu") < objectives.planned_flops("gpu") / 10


def test_the_gpu_profile_trains_on_cuda_and_the_others_on_the_cpu(monkeypatch):
    from unittest import mock

    import torch

    monkeypatch.delenv("LMLIB_DEVICE", raising=False)
    with mock.patch.object(torch.cuda, "is_available", return_value=True):
        assert objectives.run_device("gpu").type == "cuda"
        assert objectives.run_device("cpu").type == "cpu" == objectives.run_device("ci").type
    with (
        mock.patch.object(torch.cuda, "is_available", return_value=False),
        mock.patch("lmlib.runtime.device._mps_available", return_value=False),
    ):
        assert objectives.run_device("gpu").type == "cpu"  # no GPU: the same sweep, slower


def test_the_lab_runs_the_sweep_sizes_but_a_larger_encoder_at_gpu():
    from dataclasses import replace

    for profile in ("ci", "cpu"):
        assert objectives.lab_settings(profile) == objectives.settings(profile)
    lab, sweep = objectives.lab_settings("gpu"), objectives.settings("gpu")
    assert lab.pretrain.flops > sweep.pretrain.flops
    assert lab.model["d_model"] > sweep.model["d_model"]
    assert replace(lab, model=sweep.model, pretrain=sweep.pretrain) == sweep  # nothing else


def test_a_run_takes_the_settings_it_is_given():
    from dataclasses import replace

    s = objectives.settings("ci")
    small = replace(s, pretrain=replace(s.pretrain, flops=s.pretrain.flops / 4))
    record = objectives.run_one("ci", objectives.MAIN[0], 0, s=small)
    assert record["pretrain_config"].flops == small.pretrain.flops
    assert record["points"][-1]["flops"] <= small.pretrain.flops < s.pretrain.flops / 2
