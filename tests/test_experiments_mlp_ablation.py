"""The MLP-ablation experiment: equal-FLOPs steps, one variant, the bigram floor, the rate
picked on validation, the probe, the summary, the resumable runs and the gpu profile's size."""

import json
import math
import os
from pathlib import Path

import pytest
import torch

from lmlib.data.shakespeare import CharDataset
from lmlib.experiments import EXPERIMENTS, mlp_ablation, runner
from lmlib.experiments.labs import MLP_EXPANSIONS
from lmlib.experiments.results import read_results
from lmlib.models.transformer import TransformerLM
from lmlib.tools.budget import T4_ACHIEVED_FLOPS

ROOT = Path(__file__).resolve().parents[1]
LAB = ROOT / "labs" / "solutions" / "3_2_mlp.ipynb"
TEXT = "To be, or not to be, that is the question:\n" * 40
SIZES = dict(d_model=16, n_layers=1, context=16, batch_size=4, base_steps=4, seeds=[0, 1])


@pytest.mark.parametrize("profile", ["ci", "cpu", "gpu"])
def test_every_expansion_spends_the_budget_of_expansion_4(profile):
    sizes = mlp_ablation.settings(profile)["sizes"]
    steps = mlp_ablation.ablation_steps(sizes, 65)
    assert set(steps) == set(MLP_EXPANSIONS) and steps[4] == sizes["base_steps"]
    flops = {e: TransformerLM(mlp_ablation.config(sizes, 65, e)).flops_per_token() for e in steps}
    budget = sizes["base_steps"] * flops[4]
    for e, n in steps.items():
        assert abs(n * flops[e] - budget) <= flops[e] / 2
    assert steps[0] > steps[1] > steps[2] > steps[4] > steps[8]


def test_the_experiment_has_ten_times_the_labs_flops_and_the_gpu_fits_a_t4():
    cpu, lab = mlp_ablation.settings("cpu"), mlp_ablation.lab_settings("cpu")
    assert cpu["sizes"]["base_steps"] >= 10 * lab["sizes"]["base_steps"]
    assert {k: v for k, v in cpu["sizes"].items() if k != "base_steps"} == {
        k: v for k, v in lab["sizes"].items() if k not in ("base_steps", "seeds")
    }
    for profile in ("cpu", "gpu"):
        s = mlp_ablation.settings(profile)
        assert len(s["lrs"]) >= 3 and len(s["seeds"]) >= 3
    gpu = mlp_ablation.planned_flops(mlp_ablation.settings("gpu"), 65)
    assert 0.8 * 600 < gpu / T4_ACHIEVED_FLOPS <= 600  # about 10 minutes of a T4


def test_bigram_loss_matches_counting_by_hand():
    ids = torch.tensor([0, 1, 0, 1, 1, 0, 2, 0, 1])
    test = torch.tensor([0, 1, 1, 2])
    V = 3
    counts = torch.ones(V, V)
    for a, b in zip(ids[:-1].tolist(), ids[1:].tolist()):
        counts[a, b] += 1
    p = counts / counts.sum(1, keepdim=True)
    by_hand = -(p[0, 1].log() + p[1, 1].log() + p[1, 2].log()) / 3
    assert mlp_ablation.bigram_loss(ids, test, V) == pytest.approx(by_hand.item(), rel=1e-6)
    cycle = torch.arange(300) % 3  # 0 1 2 0 1 2 ...: the table learns it almost exactly
    assert mlp_ablation.bigram_loss(cycle, cycle, 3) < 0.05 < math.log(3)


def test_a_variant_is_reproducible_and_scores_both_halves():
    data = CharDataset.from_text(TEXT)
    val, test = mlp_ablation.held_out_halves(data)
    assert len(val) + len(test) == len(data.val) and torch.equal(torch.cat([val, test]), data.val)
    a = mlp_ablation.variant(data, SIZES, 1, 2, steps=3, seed=1, lr=5e-3)
    b = mlp_ablation.variant(data, SIZES, 1, 2, steps=3, seed=1, lr=5e-3)
    assert a["val_loss"] == b["val_loss"] and a["test_loss"] == b["test_loss"]
    assert a["steps"] == 3 and a["seed"] == 1 and a["lr"] == 5e-3
    assert a["cpu_s"] > 0 and a["train_s"] > 0
    other = mlp_ablation.variant(data, SIZES, 1, 2, steps=3, seed=1, lr=1e-2)
    assert other["val_loss"] != a["val_loss"]
    none = mlp_ablation.variant(data, SIZES, 1, 0, steps=3, seed=1)
    assert none["params"] < a["params"] and none["expansion"] == 0


def test_the_probe_follows_the_table_and_its_seed():
    table = mlp_ablation.probe_table()
    seq = mlp_ablation.triples(table, 3, 5, torch.Generator().manual_seed(0))  # (3, 15)
    assert seq.shape == (3, 15) and (seq[:, 2::3] == table[seq[:, 0::3], seq[:, 1::3]]).all()
    run = mlp_ablation.probe_run(4, 6, seed=2)
    assert len(run["losses"]) == 6 and run["half"] == run["losses"][2]
    assert run["end"] == run["losses"][-1] and run == mlp_ablation.probe_run(4, 6, seed=2)
    assert mlp_ablation.probe(4, 6, seed=0) != run["losses"]


def test_summarize_picks_rates_on_the_first_seeds_validation_and_judges_on_test():
    # (expansion, lr, seed): (val, test). The sweep runs seed 0 at every rate; seeds 1 and 2
    # run at the picked rate only. Test losses never pick a rate.
    table = {(0, 1e-3, 0): (2.0, 0.1), (0, 1e-2, 0): (1.9, 2.0),
             (4, 1e-3, 0): (1.7, 1.5), (4, 1e-2, 0): (1.8, 0.1),
             (8, 1e-3, 0): (1.75, 1.65), (8, 1e-2, 0): (1.9, 0.1),
             (0, 1e-2, 1): (9.0, 2.1), (0, 1e-2, 2): (9.0, 2.2),
             (4, 1e-3, 1): (9.0, 1.6), (4, 1e-3, 2): (9.0, 1.7),
             (8, 1e-3, 1): (9.0, 1.5), (8, 1e-3, 2): (9.0, 1.8)}  # fmt: skip
    runs = [{"expansion": e, "lr": lr, "seed": sd, "val_loss": v, "test_loss": t}
            for (e, lr, sd), (v, t) in table.items()]  # fmt: skip
    halves = {0: [1.7, 1.6, 1.0], 4: [1.0, 1.1, 1.2]}
    probes = [{"expansion": e, "seed": s, "half": h, "end": h / 2}
              for e, hs in halves.items() for s, h in enumerate(hs)]  # fmt: skip
    out = mlp_ablation.summarize(runs, probes)
    pe = out["per_expansion"]
    assert (pe["0"]["lr"], pe["4"]["lr"], pe["8"]["lr"]) == (1e-2, 1e-3, 1e-3)
    assert pe["0"]["val_by_lr"] == {"0.001": 2.0, "0.01": 1.9}
    assert pe["0"]["loss"] == [2.0, 2.1, 2.2] and pe["8"]["median"] == 1.65
    assert out["best_median"] == 4 and out["order_by_median"] == [4, 8, 0]
    assert out["order_steps"] == [2, 3]  # 4 < 8 in seeds 0 and 2; 8 < 0 in all three
    assert out["lower_in"]["8<4"] == 1 and out["lower_in"]["4<8"] == 2
    assert out["lowest_per_seed"] == {"0": 4, "1": 8, "2": 4}
    assert out["lowest_count"] == {"0": 0, "4": 2, "8": 1}
    assert out["gaps_to_best"]["0"]["exceeds_spread"]
    assert out["gaps_to_best"]["0"]["best_lower_in"] == 3
    assert not out["gaps_to_best"]["8"]["exceeds_spread"]
    assert out["probe"]["half"] == {"attention_only": [1.7, 1.6, 1.0], "mlp": [1.0, 1.1, 1.2],
                                    "mlp_lower_in": 2}  # fmt: skip


def test_a_finished_run_is_read_back_not_trained_again(tmp_path, monkeypatch):
    monkeypatch.setenv("LMLIB_CACHE_DIR", str(tmp_path))
    calls = []

    def fake(data, sizes, eval_batches, expansion, steps, seed, lr):
        calls.append((expansion, lr, seed))
        return {"expansion": expansion, "lr": lr, "seed": seed, "val_loss": 1.0}

    monkeypatch.setattr(mlp_ablation, "variant", fake)
    monkeypatch.setattr(mlp_ablation, "tiny_shakespeare", lambda: None)
    first = mlp_ablation._cached_variant("ci", 2, 5, 1e-3, 0)
    again = mlp_ablation._cached_variant("ci", 2, 5, 1e-3, 0)
    assert first == again and calls == [(2, 1e-3, 0)]
    mlp_ablation._cached_variant("ci", 2, 5, 1e-2, 0)  # another rate is another run
    assert len(calls) == 2 and len(list(tmp_path.rglob("*.json"))) == 2


def test_the_lab_calls_the_experiment():
    nb = json.loads(LAB.read_text())
    code = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    for call in ("mlp_ablation.variant(", "mlp_ablation.probe_run(", "mlp_ablation.summarize(",
                 "mlp_ablation.ablation_steps("):  # fmt: skip
        assert call in code
    assert "def probe" not in code and "def triples" not in code and "def flops" not in code
    assert EXPERIMENTS["mlp_ablation"] == "lmlib.experiments.mlp_ablation"


@pytest.mark.skipif(not os.environ.get("LMLIB_DATA_DIR"), reason="needs LMLIB_DATA_DIR")
def test_ci_run_writes_results_and_figures(tmp_path, monkeypatch):
    from lmlib.tools.cli import main

    monkeypatch.setenv("LMLIB_CACHE_DIR", str(tmp_path / "cache"))
    args = ["run", "mlp_ablation", "--profile", "ci", "--results", str(tmp_path / "res"),
            "--figdir", str(tmp_path / "fig")]  # fmt: skip
    assert main(args) == 0
    r = read_results(runner.results_path("mlp_ablation", "ci", 0, tmp_path / "res"))
    n = len(MLP_EXPANSIONS) * (len(r["settings"]["lrs"]) + len(r["seeds"]) - 1)
    assert len(r["runs"]) == n and len(r["probes"]) == 2 * len(r["seeds"])
    assert 1 < r["bigram_test_loss"] < r["uniform_loss"] == pytest.approx(math.log(65))
    figs = {p.name for p in (tmp_path / "fig").iterdir()}
    assert figs == {"mlp_ablation.png", "mlp_rates.png", "mlp_probe.png"}
