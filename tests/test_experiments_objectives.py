"""The objectives sweep at the ci profile: per-run files, equal budgets, resume, figures."""

import pytest

from lmlib.experiments import objectives
from lmlib.experiments.results import read_results
from lmlib.tools.cli import main


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    root = tmp_path_factory.mktemp("objectives")
    args = ["run", "objectives", "--profile", "ci", "--jobs", "1", "--results", str(root)]
    assert main([*args, "--figdir", str(root / "fig")]) == 0
    return root


def test_one_file_per_run_at_equal_flops_and_a_summary(sweep):
    s = objectives.settings("ci")
    names = {p.name for p in (sweep / "objectives" / "ci").iterdir()}
    runs = [(r, k) for r in s.runs for k in s.seeds] + [
        (r, k) for r in s.ablations for k in s.ablation_seeds
    ]
    assert names == {f"{r.name}-seed{k}.json" for r, k in runs} | {"summary.json"}
    budget = s.pretrain.flops
    for r, k in runs:
        run = read_results(sweep / "objectives" / "ci" / f"{r.name}-seed{k}.json")
        assert (
            run["points"][-1]["flops"]
            <= budget
            < run["points"][-1]["flops"] + run["flops_per_step"]
        )
        assert [p["step"] for p in run["points"]][0] == 0 and run["git_commit"]
    mlm = read_results(sweep / "objectives" / "ci" / "mlm-seed0.json")
    electra = read_results(sweep / "objectives" / "ci" / "electra-0.5-seed0.json")
    assert electra["steps"] < mlm["steps"]  # the generator's FLOPs are paid for in steps
    summary = read_results(sweep / "objectives" / "ci" / "summary.json")
    assert set(summary["runs"]) == {r.name for r, _ in runs}
    assert summary["electra_vs_mlm"]["0"][0]["share"] == 0
    assert {p.name for p in (sweep / "fig").iterdir()} == {
        "objectives_equal_compute.png",
        "objectives_generator_size.png",
    }


def test_resume_reads_existing_files(sweep):
    path = sweep / "objectives" / "ci" / "mlm-seed0.json"
    before = path.stat().st_mtime_ns
    args = ["run", "objectives", "--profile", "ci", "--jobs", "1", "--results", str(sweep)]
    assert main([*args, "--figdir", str(sweep / "fig")]) == 0
    assert path.stat().st_mtime_ns == before
