"""Experiment: an RNN, a CNN and a Transformer of equal parameter count on tiny Shakespeare.

Records each family's validation loss against wall time and training FLOPs, its training
throughput, and the throughput of one training step as the sequence grows (tokens per batch
fixed). On CPU profiles it runs on one thread: the matrices are small, and on a shared machine a
second thread mostly adds synchronisation. The lab `2_2_three_ways_to_read` runs a shorter version.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path

import torch
import torch.nn.functional as F

from lmlib.data.shakespeare import tiny_shakespeare
from lmlib.experiments.results import completed, provenance
from lmlib.models import families
from lmlib.runtime.device import pick_device, seed_everything
from lmlib.runtime.files import save_figure
from lmlib.runtime.profiles import by_profile
from lmlib.training.train import TrainConfig, train

LAYERS = {"rnn": 2, "cnn": 4, "transformer": 2}


def settings(profile: str) -> dict:
    return by_profile(
        ci=dict(n_params=8_000, context=16, seq_lengths=[16, 32], threads=1),
        cpu=dict(n_params=100_000, context=64, seq_lengths=[64, 128, 256, 512, 1024], threads=1),
        gpu=dict(n_params=1_000_000, context=256, seq_lengths=[64, 256, 1024, 4096], threads=0),
        profile=profile,
    ) | {"tokens": by_profile(ci=128, cpu=2048, gpu=16384, profile=profile)}


def train_settings(profile: str, seed: int) -> TrainConfig:
    common = dict(seed=seed, progress=False)
    return by_profile(
        ci=TrainConfig(
            steps=6, batch_size=4, lr=3e-3, warmup_steps=1, eval_every=3, eval_batches=1, **common
        ),
        cpu=TrainConfig(
            steps=1000,
            batch_size=32,
            lr=3e-3,
            warmup_steps=50,
            eval_every=100,
            eval_batches=10,
            **common,
        ),
        gpu=TrainConfig(
            steps=3000,
            batch_size=64,
            lr=1e-3,
            warmup_steps=100,
            eval_every=250,
            eval_batches=20,
            **common,
        ),
        profile=profile,
    )


def step_throughput(family: str, d_model: int, T: int, tokens: int, vocab_size: int) -> float:
    """Tokens per second of one forward + backward at length T (best of 2 after a warm-up)."""
    torch.manual_seed(0)
    model = families.build(family, vocab_size, T, d_model, LAYERS[family])
    idx = torch.randint(0, vocab_size, (max(1, tokens // T), T))
    times = []
    for _ in range(3):
        start = time.perf_counter()
        F.cross_entropy(model(idx).flatten(0, 1), idx.flatten()).backward()
        times.append(time.perf_counter() - start)
    return idx.numel() / min(times[1:])


def run(profile: str, seed: int = 0) -> dict:
    s = settings(profile)
    if s["threads"]:
        torch.set_num_threads(s["threads"])
    ds = tiny_shakespeare()
    V = ds.tokenizer.vocab_size
    cfg = train_settings(profile, seed)
    runs = {}
    for family in families.FAMILIES:
        seed_everything(seed)
        model = families.build_matched(family, s["n_params"], V, s["context"], LAYERS[family])
        history = completed(train(model, ds.train, ds.val, cfg))
        tokens = cfg.steps * cfg.batch_size * s["context"]
        runs[family] = {
            "d_model": model.config.d_model,
            "n_layers": LAYERS[family],
            "params": families.num_params(model),
            "flops_per_token": model.flops_per_token(s["context"]),
            "history": history.to_dict(),
            "final_val_loss": history.val_loss[-1],
            "train_s": history.train_time[-1],
            "tokens_per_s": tokens / history.train_time[-1],
        }
    throughput = {
        f: [step_throughput(f, runs[f]["d_model"], T, s["tokens"], V) for T in s["seq_lengths"]]
        for f in families.FAMILIES
    }
    return {
        "experiment": "three_families",
        "profile": profile,
        "seed": seed,
        "settings": s,
        "train_config": asdict(cfg),
        "threads": torch.get_num_threads(),
        "runs": runs,
        "crossover_s": crossover(runs),
        "throughput": throughput,
        **provenance(pick_device(None if cfg.device == "auto" else cfg.device)),
    }


def crossover(runs: dict) -> float | None:
    """First training time at which the Transformer's validation loss is below the best the RNN
    and the CNN had reached by then (both evaluated at least once); None if it never is."""

    def best_by(family: str, seconds: float) -> float | None:
        h = runs[family]["history"]
        seen = [v for t, v in zip(h["train_time"], h["val_loss"]) if t <= seconds]
        return min(seen) if seen else None

    h = runs["transformer"]["history"]
    for t, v in zip(h["train_time"], h["val_loss"]):
        others = [best_by(family, t) for family in ("rnn", "cnn")]
        if None not in others and v < min(others):
            return t
    return None


def figures(r: dict, outdir: Path) -> list[Path]:
    import matplotlib.pyplot as plt

    outdir.mkdir(parents=True, exist_ok=True)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    ctx, batch = r["settings"]["context"], r["train_config"]["batch_size"]
    for family, run in r["runs"].items():
        h = run["history"]
        flops = [s * batch * ctx * run["flops_per_token"] for s in h["eval_step"]]
        label = f"{family} ({run['params'] / 1e3:.0f}K params)"
        ax1.plot(h["train_time"], h["val_loss"], "o-", ms=3, label=label)
        ax2.plot(flops, h["val_loss"], "o-", ms=3, label=label)
    ax1.set(xlabel="training wall time (s, one CPU thread)", ylabel="validation loss (nats/char)")
    ax2.set(xlabel="training FLOPs (forward + backward)", xscale="log")
    ax1.legend()
    fig.suptitle(f"Three families at equal parameter count ({r['profile']} profile)")
    fig.tight_layout()
    loss = outdir / "families_loss.png"
    save_figure(fig, loss)
    plt.close(fig)

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    lengths = r["settings"]["seq_lengths"]
    for family, speeds in r["throughput"].items():
        layers = r["runs"][family]["n_layers"]
        ax1.plot(lengths, speeds, "o-", label=family)
        path = [families.critical_path(family, T, layers) for T in lengths]
        ax2.plot(lengths, path, "o-", label=f"{family}, {layers} layers")
    ax1.set(ylabel="training throughput (tokens/s)", title="Measured, one CPU thread")
    ax2.set(ylabel="critical path (sequential layer steps)", yscale="log", title="Counted")
    for ax in (ax1, ax2):
        ax.set(xlabel="sequence length T (tokens)", xscale="log")
        ax.legend()
    fig.tight_layout()
    speed = outdir / "families_throughput.png"
    save_figure(fig, speed)
    plt.close(fig)
    return [loss, speed]
