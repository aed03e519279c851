"""Chapters 2.2 and 3.2 quote what the results files and lmlib say; their figures are committed."""

import json
from pathlib import Path

import pytest

from lmlib import TransformerConfig, TransformerLM
from lmlib.experiments import three_families

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results" / "three_families" / "cpu-seed0.json"


def chapter(name: str) -> str:
    return (ROOT / "lectures" / f"{name}.md").read_text()


def test_chapter_5_quotes_the_committed_cpu_run():
    r = json.loads(RESULTS.read_text())
    text = chapter("2_2_rnn_cnn_transformer")
    runs = r["runs"]
    quoted = []
    for family, run in runs.items():
        quoted.append(
            f"| {family} | {run['d_model']} | {run['params']:,} | {run['final_val_loss']:.2f} | "
            f"{run['train_s']:.0f} s | {run['tokens_per_s']:,.0f} | "
            f"{run['flops_per_token'] / 1e6:.2f} |"
        )
    h = {family: run["history"] for family, run in runs.items()}

    def gap(step: int) -> float:
        at = {f: h[f]["val_loss"][h[f]["eval_step"].index(step)] for f in ("rnn", "transformer")}
        return at["transformer"] - at["rnn"]

    quoted.append(f"shrank from {gap(200):.2f} nats after 200 steps to {gap(1000):.2f} after")
    tokens = r["train_config"]["steps"] * r["train_config"]["batch_size"] * r["settings"]["context"]
    flops = tokens * runs["transformer"]["flops_per_token"]
    quoted += [
        f"beyond {tokens / 1e6:.1f}M training tokens",
        f"{r['wall_time_s']:.0f} s on two CPU cores",
        f"{flops / 1e12:.1f} \\times 10^{{12}}",
    ]
    ratio = runs["rnn"]["tokens_per_s"] / runs["transformer"]["tokens_per_s"]
    quoted.append(f"{ratio:.1f} times as many training tokens")
    if r["crossover_s"] is None:
        quoted.append("never got ahead of both")
    else:
        quoted.append(f"{r['crossover_s']:.0f} s")
    for family, speeds in r["throughput"].items():
        quoted.append(f"{family} from {speeds[0]:,.0f} to {speeds[-1]:,.0f} tokens/s")
    missing = [q for q in quoted if q not in text]
    assert not missing, f"chapter 2.2 does not quote these committed results: {missing}"


def test_chapter_6_share_of_mlp_weights_is_two_thirds():
    cfg = TransformerConfig(vocab_size=65, d_model=64, n_layers=1, bias=False)
    block = TransformerLM(cfg).blocks[0]
    mlp = sum(p.numel() for p in block.mlp.parameters())
    attn = sum(p.numel() for p in block.attn.parameters())
    assert mlp / (mlp + attn) == pytest.approx(2 / 3)
    assert "two thirds" in chapter("3_2_mlp")


def test_crossover_is_the_first_time_the_transformer_leads():
    def run(times, losses):
        return {"history": {"train_time": times, "val_loss": losses}}

    runs = {"rnn": run([1, 3], [3.0, 2.0]), "cnn": run([2, 4], [2.8, 1.9])}
    assert three_families.crossover(runs | {"transformer": run([1, 3, 5], [2.9, 2.5, 1.8])}) == 5
    assert three_families.crossover(runs | {"transformer": run([2, 5], [2.9, 2.5])}) is None
    # at t=1 the CNN has no evaluation yet: not counted as a lead
    assert three_families.crossover(runs | {"transformer": run([1], [2.5])}) is None


def test_figures_redraw_from_the_committed_results(tmp_path):
    made = three_families.figures(json.loads(RESULTS.read_text()), tmp_path)
    assert [p.name for p in made] == ["families_loss.png", "families_throughput.png"]
