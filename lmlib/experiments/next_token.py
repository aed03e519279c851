"""Experiment: a character Transformer learns tiny Shakespeare by next-token prediction.

Records the loss curve, count-based n-gram baselines, samples before and after training, and the
validation loss split by the kind of prediction (spelling, word choice, punctuation, line start).
The lab `1_1_next_token_prediction` runs the same settings step by step.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path

import torch

from lmlib.analysis.skills import CHAR_TASKS, char_task_labels, decompose_loss
from lmlib.data.shakespeare import CharDataset, get_batch, tiny_shakespeare
from lmlib.experiments.results import completed, provenance
from lmlib.models.ngram import ngram_loss
from lmlib.models.transformer import TransformerConfig, TransformerLM
from lmlib.runtime.device import evaluating, pick_device, seed_everything
from lmlib.runtime.files import save_figure
from lmlib.runtime.profiles import by_profile
from lmlib.training.loss import token_losses
from lmlib.training.sampling import generate
from lmlib.training.train import TrainConfig, train


def settings(profile: str, vocab_size: int = 65) -> tuple[TransformerConfig, TrainConfig]:
    """Model and training settings per profile (ci: seconds, cpu: about a minute, gpu: minutes)."""
    model = by_profile(
        ci=TransformerConfig(vocab_size, context=32, d_model=32, n_heads=2, n_layers=2),
        cpu=TransformerConfig(vocab_size, context=64, d_model=128, n_heads=4, n_layers=3),
        gpu=TransformerConfig(vocab_size, context=256, d_model=384, n_heads=6, n_layers=6),
        profile=profile,
    )
    run = by_profile(
        ci=TrainConfig(
            steps=40, batch_size=16, lr=3e-3, warmup_steps=5, eval_every=10, eval_batches=4
        ),
        cpu=TrainConfig(
            steps=700, batch_size=24, lr=5e-3, warmup_steps=40, eval_every=50, eval_batches=20
        ),
        gpu=TrainConfig(
            steps=1800, batch_size=64, lr=1e-3, warmup_steps=100, eval_every=200, eval_batches=40
        ),
        profile=profile,
    )
    return model, run


@torch.no_grad()
def task_breakdown(
    model: TransformerLM, ds: CharDataset, n_batches: int = 8, batch_size: int = 32
) -> list[dict]:
    """Validation loss split by CHAR_TASKS on fixed windows (the same windows every call)."""
    gen = torch.Generator().manual_seed(4321)
    device = next(model.parameters()).device
    codes = torch.tensor([ord(c) for c in ds.tokenizer.chars])
    losses, labels = [], []
    with evaluating(model):
        for _ in range(n_batches):
            x, y = get_batch(ds.val, batch_size, model.context, gen)
            losses.append(token_losses(model(x.to(device)), y.to(device)).cpu())
            labels.append(char_task_labels(codes[x], codes[y]))
    return [asdict(t) for t in decompose_loss(torch.cat(losses), torch.cat(labels), CHAR_TASKS)]


def run(profile: str, seed: int = 0) -> dict:
    ds = tiny_shakespeare()
    model_cfg, train_cfg = settings(profile, ds.tokenizer.vocab_size)
    seed_everything(seed)
    model = TransformerLM(model_cfg)
    prompt = ds.tokenizer.encode("ROMEO:\n")[None]
    gen = torch.Generator().manual_seed(seed)
    before = ds.tokenizer.decode(generate(model, prompt, 200, generator=gen)[0])
    tasks_before = task_breakdown(model, ds)
    start = time.perf_counter()
    history = completed(train(model, ds.train, ds.val, train_cfg))
    train_wall = time.perf_counter() - start
    gen = torch.Generator().manual_seed(seed)
    after = ds.tokenizer.decode(generate(model, prompt.cpu(), 300, 0.8, 20, gen)[0])
    baselines = {
        f"{n}-gram": ngram_loss(ds.train, ds.val, ds.tokenizer.vocab_size, n) for n in (1, 2, 3, 4)
    }
    return {
        "experiment": "next_token",
        "profile": profile,
        "seed": seed,
        "model_config": model_cfg,
        "train_config": train_cfg,
        "params": model.num_params(),
        "history": history.to_dict(),
        "final_val_loss": history.val_loss[-1],
        "train_wall_s": round(train_wall, 2),
        "tokens_seen": train_cfg.steps * train_cfg.batch_size * model_cfg.context,
        "baselines": {"uniform": float(torch.log(torch.tensor(65.0))), **baselines},
        "tasks_before": tasks_before,
        "tasks_after": task_breakdown(model, ds),
        "sample_before": before,
        "sample_after": after,
        **provenance(pick_device(None if train_cfg.device == "auto" else train_cfg.device)),
    }


def figures(r: dict, outdir: Path) -> list[Path]:
    import matplotlib.pyplot as plt

    outdir.mkdir(parents=True, exist_ok=True)
    h = r["history"]
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(h["step"], h["train_loss"], lw=0.8, alpha=0.6, label="train (one batch)")
    ax.plot(h["eval_step"], h["val_loss"], "o-", label="validation")
    for i, (name, value) in enumerate(r["baselines"].items()):
        style = ("k", ":") if name == "uniform" else (f"C{i + 2}", "--")
        ax.axhline(value, color=style[0], ls=style[1], lw=1)
        ax.annotate(
            f"{name} {value:.2f}", (h["step"][-1], value), ha="right", va="bottom", fontsize=8
        )
    ax.set(
        xlabel="training step",
        ylabel="loss (nats per character)",
        ylim=(1.0, 4.6),
        title=f"Character Transformer on tiny Shakespeare ({r['profile']} profile, "
        f"{r['params'] / 1e3:.0f}K parameters)",
    )
    ax.legend(loc="lower left")
    fig.tight_layout()
    curve = outdir / "next_token_loss_curve.png"
    save_figure(fig, curve)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 3.6))
    names = [t["task"] for t in r["tasks_after"]]
    xs = torch.arange(len(names)).float()
    for dx, key, label in ((-0.2, "tasks_before", "untrained"), (0.2, "tasks_after", "trained")):
        ax.bar(xs + dx, [t["loss"] for t in r[key]], width=0.4, label=label)
    ax.set_xticks(
        xs.tolist(), [f"{n}\n({t['share']:.0%} of chars)" for n, t in zip(names, r["tasks_after"])]
    )
    ax.set(ylabel="mean validation loss (nats)", title="One objective, several tasks")
    ax.legend()
    fig.tight_layout()
    tasks = outdir / "next_token_tasks.png"
    save_figure(fig, tasks)
    plt.close(fig)
    return [curve, tasks]
