"""The MLP-ablation experiment: equal-FLOPs steps, one variant, the probe, the summary."""

import json
import os
from pathlib import Path

import pytest

from lmlib.data.shakespeare import CharDataset
from lmlib.experiments import EXPERIMENTS, mlp_ablation, runner
from lmlib.experiments.labs import MLP_EXPANSIONS
from lmlib.experiments.results import read_results
from lmlib.models.transformer import TransformerLM

ROOT = Path(__file__).resolve().parents[1]
LAB = ROOT / "labs" / "solutions" / "3_2_mlp.ipynb"
TEXT = "To be, or not to be, that is the question:\n" * 40
SIZES = dict(d_model=16, n_layers=1, context=16, batch_size=4, base_steps=4, seeds=[0, 1])


def test_every_expansion_spends_the_budget_of_expansion_4():
    sizes = mlp_ablation.settings("cpu")["sizes"]
    steps = mlp_ablation.ablation_steps(sizes, 65)
    assert set(steps) == set(MLP_EXPANSIONS) and steps[4] == sizes["base_steps"]
    flops = {e: TransformerLM(mlp_ablation.config(sizes, 65, e)).flops_per_token() for e in steps}
    budget = sizes["base_steps"] * flops[4]
    for e, n in steps.items():
        assert abs(n * flops[e] - budget) <= flops[e] / 2
    assert steps[0] > steps[1] > steps[2] > steps[4] > steps[8]


def test_a_variant_is_reproducible_and_reports_its_size():
    data = CharDataset.from_text(TEXT)
    a = mlp_ablation.variant(data, SIZES, 1, 2, steps=3, seed=1)
    b = mlp_ablation.variant(data, SIZES, 1, 2, steps=3, seed=1)
    assert a["val_loss"] == b["val_loss"] and a["steps"] == 3 and a["seed"] == 1
    assert a["cpu_s"] > 0 and a["train_s"] > 0
    none = mlp_ablation.variant(data, SIZES, 1, 0, steps=3, seed=1)
    assert none["params"] < a["params"] and none["expansion"] == 0


def test_the_probe_follows_the_table_and_its_seed():
    table = mlp_ablation.probe_table()
    import torch

    seq = mlp_ablation.triples(table, 3, 5, torch.Generator().manual_seed(0))  # (3, 15)
    assert seq.shape == (3, 15) and (seq[:, 2::3] == table[seq[:, 0::3], seq[:, 1::3]]).all()
    run = mlp_ablation.probe_run(4, 6, seed=2)
    assert len(run["losses"]) == 6 and run["half"] == run["losses"][2]
    assert run["end"] == run["losses"][-1] and run == mlp_ablation.probe_run(4, 6, seed=2)
    assert mlp_ablation.probe(4, 6, seed=0) != run["losses"]


def test_summarize_counts_seeds_and_compares_gaps_with_the_spread():
    loss = {0: [2.0, 2.1, 2.2], 4: [1.5, 1.6, 1.7], 8: [1.65, 1.5, 1.8]}
    runs = [{"expansion": e, "seed": s, "val_loss": v} for e, vals in loss.items()
            for s, v in enumerate(vals)]  # fmt: skip
    halves = {0: [1.7, 1.6, 1.0], 4: [1.0, 1.1, 1.2]}
    probes = [{"expansion": e, "seed": s, "half": h, "end": h / 2}
              for e, hs in halves.items() for s, h in enumerate(hs)]  # fmt: skip
    out = mlp_ablation.summarize(runs, probes)
    assert out["best_median"] == 4 and out["per_expansion"]["8"]["median"] == 1.65
    assert out["lowest_per_seed"] == {"0": 4, "1": 8, "2": 4}
    assert out["lowest_count"] == {"0": 0, "4": 2, "8": 1}
    assert (
        out["gaps_to_best"]["0"]["exceeds_spread"]
        and out["gaps_to_best"]["0"]["best_lower_in"] == 3
    )
    assert not out["gaps_to_best"]["8"]["exceeds_spread"]
    assert out["probe"]["half"] == {"attention_only": [1.7, 1.6, 1.0], "mlp": [1.0, 1.1, 1.2],
                                    "mlp_lower_in": 2}  # fmt: skip


def test_the_lab_calls_the_experiment():
    nb = json.loads(LAB.read_text())
    code = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    for call in ("mlp_ablation.variant(", "mlp_ablation.probe_run(", "mlp_ablation.summarize(",
                 "mlp_ablation.ablation_steps("):  # fmt: skip
        assert call in code
    assert "def probe" not in code and "def triples" not in code and "def flops" not in code
    assert EXPERIMENTS["mlp_ablation"] == "lmlib.experiments.mlp_ablation"


@pytest.mark.skipif(not os.environ.get("LMLIB_DATA_DIR"), reason="needs LMLIB_DATA_DIR")
def test_ci_run_writes_results_and_figures(tmp_path):
    from lmlib.tools.cli import main

    args = ["run", "mlp_ablation", "--profile", "ci", "--results", str(tmp_path / "res"),
            "--figdir", str(tmp_path / "fig")]  # fmt: skip
    assert main(args) == 0
    r = read_results(runner.results_path("mlp_ablation", "ci", 0, tmp_path / "res"))
    assert len(r["runs"]) == len(MLP_EXPANSIONS) * 2 and len(r["probes"]) == 2 * 2
    assert {p.name for p in (tmp_path / "fig").iterdir()} == {"mlp_ablation.png", "mlp_probe.png"}
