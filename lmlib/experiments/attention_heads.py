"""Experiment: what the heads of lab 3.1's character Transformer learn, seed by seed.

Dims: L layers, H heads, S seeds.

For each seed, lab 3.1's model (its sizes per profile, its TrainConfig) is trained on tiny
Shakespeare, and every head's mean look-back (characters) and attention entropy (bits,
lmlib.analysis.heads) is measured before and after training on the lab's 16 validation windows
(generator seed 0, the same windows for every seed). The lab runs seed 0 step by step; its
closing summary quotes this experiment's cpu run.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path

import torch

from lmlib.analysis.heads import head_stats, uniform_entropy, uniform_lookback
from lmlib.data.shakespeare import CharDataset, get_batch, tiny_shakespeare
from lmlib.experiments import labs
from lmlib.experiments.results import completed, provenance
from lmlib.models.transformer import TransformerConfig, TransformerLM
from lmlib.runtime.device import pick_device, seed_everything, torch_threads
from lmlib.runtime.files import save_figure
from lmlib.runtime.profiles import by_profile
from lmlib.training.train import TrainConfig, train

LAB = "3_1_multihead_attention"
N_WINDOWS, WINDOW_SEED = 16, 0  # the lab's validation windows for (e)


def settings(profile: str) -> dict:
    """The lab's sizes at `profile`, and the seeds this experiment trains."""
    seeds = by_profile(ci=[0, 1], cpu=[0, 1, 2], gpu=[0, 1, 2], profile=profile)
    return {**labs.settings(LAB, profile), "seeds": seeds}


def configs(s: dict, vocab_size: int, seed: int = 0) -> tuple[TransformerConfig, TrainConfig]:
    """The lab's model and TrainConfig (its cell (c)); only the seed differs between runs."""
    sizes = s["sizes"]
    model = TransformerConfig(
        vocab_size=vocab_size,
        context=sizes["context"],
        d_model=sizes["d_model"],
        n_heads=sizes["n_heads"],
        n_layers=sizes["n_layers"],
    )
    steps = sizes["steps"]
    run = TrainConfig(
        steps=steps,
        batch_size=sizes["batch_size"],
        lr=3e-3,
        warmup_steps=max(1, steps // 10),
        eval_every=max(1, steps // 5),
        eval_batches=s["eval_batches"],
        seed=seed,
        progress=False,
    )
    return model, run


def windows(data: CharDataset, context: int) -> torch.Tensor:
    """(16, context): the validation windows the lab measures its heads on."""
    gen = torch.Generator().manual_seed(WINDOW_SEED)
    return get_batch(data.val, N_WINDOWS, context, gen)[0]


def _stats(model: TransformerLM, idx: torch.Tensor) -> dict:
    back, ent = head_stats(model, idx)  # (L, H) each
    return {"lookback": back.tolist(), "entropy": ent.tolist()}


def train_seed(data: CharDataset, s: dict, seed: int) -> dict:
    """One seed: its heads before and after training, its final validation loss and times."""
    start = time.perf_counter()
    model_cfg, run = configs(s, data.tokenizer.vocab_size, seed)
    seed_everything(seed)
    model = TransformerLM(model_cfg)
    idx = windows(data, model_cfg.context)
    before = _stats(model, idx)
    history = completed(train(model, data.train, data.val, run))
    return {
        "seed": seed,
        "params": model.num_params(),
        "before": before,
        "after": _stats(model, idx),
        "val_loss": history.val_loss[-1],
        "val_curve": {"step": history.eval_step, "loss": history.val_loss},
        "train_s": history.train_time[-1],
        "wall_s": time.perf_counter() - start,
    }


def summarize(runs: list[dict]) -> dict:
    """Per layer and seed: the shortest and the longest head's look-back and their entropies,
    and the layer's mean look-back and entropy, before and after training."""
    out = {}
    for when in ("before", "after"):
        layers = []
        for layer in range(len(runs[0][when]["lookback"])):
            rows = []
            for r in runs:
                back, ent = r[when]["lookback"][layer], r[when]["entropy"][layer]
                short = min(range(len(back)), key=back.__getitem__)
                long = max(range(len(back)), key=back.__getitem__)
                rows.append({
                    "seed": r["seed"],
                    "shortest_head": short,
                    "shortest_lookback": back[short],
                    "shortest_entropy": ent[short],
                    "longest_head": long,
                    "longest_lookback": back[long],
                    "longest_entropy": ent[long],
                    "mean_lookback": sum(back) / len(back),
                    "mean_entropy": sum(ent) / len(ent),
                    "min_entropy": min(ent),
                })  # fmt: skip
            layers.append(rows)
        out[when] = layers
    return out


def run(profile: str, seed: int = 0) -> dict:
    s = settings(profile)
    seeds = [seed + k for k in s["seeds"]]
    device = pick_device(None)
    with torch_threads(1 if device.type == "cpu" else None):  # small matrices, as in the lab
        data = tiny_shakespeare()
        runs = [train_seed(data, s, sd) for sd in seeds]
        model_cfg, run_cfg = configs(s, data.tokenizer.vocab_size, seeds[0])
        return {
            "experiment": "attention_heads",
            "profile": profile,
            "seed": seed,
            "seeds": seeds,
            "settings": s,
            "model": asdict(model_cfg),
            "train": asdict(run_cfg),
            "windows": {"n": N_WINDOWS, "generator_seed": WINDOW_SEED},
            "uniform": {
                "lookback": uniform_lookback(model_cfg.context),
                "entropy": uniform_entropy(model_cfg.context),
            },
            "runs": runs,
            "summary": summarize(runs),
            **provenance(device),
        }


def figures(r: dict, outdir: Path) -> list[Path]:
    import matplotlib.pyplot as plt

    outdir.mkdir(parents=True, exist_ok=True)
    n_layers = len(r["runs"][0]["after"]["lookback"])
    fig, ax = plt.subplots(figsize=(7.5, 5))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    markers = "osd^v<>"
    for layer in range(n_layers):
        for when, fill in (("before", "none"), ("after", colors[layer % len(colors)])):
            back = [b for run in r["runs"] for b in run[when]["lookback"][layer]]
            ent = [e for run in r["runs"] for e in run[when]["entropy"][layer]]
            ax.scatter(back, ent, marker=markers[layer % len(markers)], s=36, facecolors=fill,
                       edgecolors=colors[layer % len(colors)],
                       label=f"layer {layer}, {when} training")  # fmt: skip
    u = r["uniform"]
    ax.scatter([u["lookback"]], [u["entropy"]], marker="x", s=80, color="gray",
               label="uniform over the past")  # fmt: skip
    title = (
        f"Every head of {len(r['seeds'])} seeds, {r['profile']} profile, on "
        f"{r['windows']['n']} validation windows of {r['model']['context']} characters"
    )
    ax.set(
        xlabel="mean look-back (characters)", ylabel="mean attention entropy (bits)", title=title
    )
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = outdir / "attention_heads.png"
    save_figure(fig, path)
    plt.close(fig)
    return [path]
