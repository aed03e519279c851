"""Experiment: structure against compute. A count model, a CNN and a Transformer at growing budgets.

Dims: B batch, P period (= the context), V vocabulary, N budgets, S seeds.

The task (lmlib.data.markov_copy) has near structure, which a bigram count model and a CNN with
a small receptive field can use, and far structure (a copy L + 1 tokens back), which only the
Transformer can reach. Each model is trained separately at each compute budget (FLOPs, forward
and backward), from fresh weights, for every seed; the held-out loss is measured on whole
examples. The count model's cost is about 2n operations per counted token: it counts the whole
training stream for less than the smallest budget, so it is the same at every budget.
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from lmlib.analysis.crossing import crossover_budget, seed_band
from lmlib.data.markov_copy import MarkovCopyTask
from lmlib.experiments.pool import map_spawned
from lmlib.experiments.results import completed, provenance
from lmlib.models.cnn import CNNLM, CNNConfig
from lmlib.models.ngram import ngram_log_probs
from lmlib.models.transformer import TransformerConfig, TransformerLM
from lmlib.runtime.device import pick_device, seed_everything
from lmlib.runtime.files import save_figure
from lmlib.runtime.profiles import by_profile
from lmlib.training.checkpoint import kept_result
from lmlib.training.train import TrainConfig, train

MODELS = ("ngram", "cnn", "transformer")  # from the most built-in structure to the least
PAIRS = (("cnn", "ngram"), ("transformer", "cnn"), ("transformer", "ngram"))  # (overtaker, other)


@dataclass(frozen=True)
class Settings:
    task: MarkovCopyTask
    train_examples: int
    val_examples: int
    ngram_order: int
    d_model: int
    cnn_layers: int
    kernel_size: int
    transformer_layers: int
    n_heads: int
    budgets: tuple[float, ...]  # training FLOPs
    n_seeds: int
    batch_size: int
    lr: float
    jobs: int  # neural runs in parallel, one thread each


def settings(profile: str) -> Settings:
    return by_profile(
        ci=Settings(MarkovCopyTask(8, 5), 400, 40, 2, 16, 2, 3, 1, 2,
                    (2e6, 5e6, 1.2e7, 3e7, 7e7), 2, 16, 1e-2, 1),
        cpu=Settings(MarkovCopyTask(16, 12), 20_000, 400, 2, 48, 3, 3, 2, 4,
                     (2e9, 6.3e9, 2e10, 6.3e10, 2e11), 3, 32, 3e-3, 2),
        gpu=Settings(MarkovCopyTask(16, 12), 100_000, 800, 2, 96, 3, 3, 2, 4,
                     (2e10, 6.3e10, 2e11, 6.3e11, 2e12, 6.3e12, 2e13, 6.3e13, 2e14), 3, 64,
                     3e-3, 1),
        profile=profile,
    )  # fmt: skip


@functools.lru_cache(maxsize=4)
def data(s: Settings, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(train stream, validation stream) of a seed; the chain (the task itself) is shared."""
    return s.task.stream(s.train_examples, 2 * seed), s.task.stream(s.val_examples, 2 * seed + 1)


def build(model: str, s: Settings) -> nn.Module:
    V, P = s.task.vocab_size, s.task.period
    if model == "cnn":  # no dilation: the receptive field stays below the copy distance
        cfg = CNNConfig(V, P, s.d_model, s.cnn_layers, s.kernel_size, dilation_growth=1)
        if cfg.receptive_field > s.task.prefix_len:
            raise ValueError(
                f"the CNN sees {cfg.receptive_field} tokens, enough to copy from "
                f"{s.task.prefix_len + 1} back; use fewer layers or a smaller kernel"
            )
        return CNNLM(cfg)
    if model == "transformer":
        cfg = TransformerConfig(V, P, s.d_model, s.n_heads, s.transformer_layers, pos="rope")
        return TransformerLM(cfg)
    raise ValueError(f"unknown neural model {model!r}; use 'cnn' or 'transformer'")


@torch.no_grad()
def held_out_loss(model: nn.Module, s: Settings, val: torch.Tensor) -> float:
    """Mean next-token loss over every target of whole held-out examples."""
    windows = s.task.windows(val).to(next(model.parameters()).device)  # (n, P + 1)
    model.eval()
    total = sum(
        F.cross_entropy(model(w[:, :-1]).flatten(0, 1), w[:, 1:].flatten(), reduction="sum").item()
        for w in windows.split(256)
    )
    return total / windows[:, 1:].numel()


def ngram_run(s: Settings, budget: float, seed: int) -> dict:
    """The count model at a budget: it counts as much of the stream as 2n operations a token buy."""
    train_ids, val = data(s, seed)
    n, P = s.ngram_order, s.task.period
    tokens = int(min(len(train_ids), budget // (2 * n)))
    table = ngram_log_probs(train_ids[:tokens], s.task.vocab_size, n, k=0.1)
    windows = val.unfold(0, n, 1)[P - n + 1 :]  # contexts of the same targets as the windows
    loss = -table[tuple(windows.T)].mean().item()
    return {"model": "ngram", "budget": budget, "seed": seed, "compute": 2 * n * tokens,
            "tokens": tokens, "steps": 0, "val_loss": loss, "train_s": 0.0}  # fmt: skip


def neural_run(s: Settings, model_name: str, budget: float, seed: int) -> dict:
    """Train one model from scratch with `budget` FLOPs and measure its held-out loss."""
    train_ids, val = data(s, seed)
    seed_everything(seed)
    model = build(model_name, s)
    P = s.task.period
    per_step = s.batch_size * P * model.flops_per_token(P)
    steps = max(1, round(budget / per_step))
    cfg = TrainConfig(steps=steps, batch_size=s.batch_size, lr=s.lr,
                      warmup_steps=max(1, steps // 10), eval_every=steps, eval_batches=1,
                      seed=seed, progress=False)  # fmt: skip
    history = completed(train(model, train_ids, val, cfg))
    return {
        "model": model_name,
        "budget": budget,
        "seed": seed,
        "compute": steps * per_step,
        "tokens": steps * s.batch_size * P,
        "steps": steps,
        "params": sum(p.numel() for p in model.parameters()),
        "val_loss": held_out_loss(model, s, val),
        "train_s": history.train_time[-1],
    }


def _neural_job(
    s: Settings, model: str, budget: float, seed: int, threads: int, keep: Path | None = None
) -> dict:
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        if keep is None:
            return neural_run(s, model, budget, seed)
        # the key: every setting a run depends on (not how many seeds or jobs the sweep has)
        key = [{**asdict(s), "n_seeds": None, "jobs": None}, model, budget, seed]
        path = keep / f"{model}-{budget:.3g}-seed{seed}.pt"
        return kept_result(path, key, lambda: neural_run(s, model, budget, seed))
    finally:
        torch.set_num_threads(before)


def sweep(s: Settings, seeds: list[int], keep: Path | None = None) -> dict:
    """Every (model, budget, seed): the runs and the loss table loss[model][seed][budget].

    With `keep` (a folder), each neural run is kept there once finished (lmlib.kept_result), so
    that a sweep stopped and run again trains only the runs it had not finished."""
    device = pick_device(None)
    jobs = s.jobs if device.type == "cpu" else 1
    threads = 1 if device.type == "cpu" else torch.get_num_threads()
    neural = [(m, b, sd) for sd in seeds for m in MODELS[1:] for b in s.budgets]
    neural.sort(key=lambda job: -job[1])  # longest first, so that the workers finish together
    runs = map_spawned(_neural_job, [(s, m, b, sd, threads, keep) for m, b, sd in neural], jobs)
    runs += [ngram_run(s, b, sd) for sd in seeds for b in s.budgets]
    loss = {
        m: [[_find(runs, m, b, sd)["val_loss"] for b in s.budgets] for sd in seeds] for m in MODELS
    }
    return {"runs": runs, "loss": loss, **summarize(list(s.budgets), loss)}


def run(profile: str, seed: int = 0) -> dict:
    s = settings(profile)
    seeds = [seed + i for i in range(s.n_seeds)]
    return {
        "experiment": "crossover",
        "profile": profile,
        "seed": seed,
        "seeds": seeds,
        "settings": asdict(s),
        "budgets": list(s.budgets),
        "floor": s.task.floor(),
        **sweep(s, seeds),
        **provenance(pick_device(None)),
    }


def _find(runs: list[dict], model: str, budget: float, seed: int) -> dict:
    return next(r for r in runs if (r["model"], r["budget"], r["seed"]) == (model, budget, seed))


def summarize(budgets: list[float], loss: dict[str, list[list[float]]]) -> dict:
    """Which model is lowest at each end, per seed, and where each pair crosses (seed means and
    each seed)."""
    n_seeds = len(loss[MODELS[0]])
    ends = {
        end: [min(MODELS, key=lambda m: loss[m][i][j]) for i in range(n_seeds)]
        for end, j in (("smallest", 0), ("largest", -1))
    }
    mean = {m: seed_band(loss[m])[0] for m in MODELS}
    crossovers = {
        f"{a}_over_{b}": {
            "mean": crossover_budget(budgets, mean[a], mean[b]),
            "per_seed": [crossover_budget(budgets, loss[a][i], loss[b][i]) for i in range(n_seeds)],
        }
        for a, b in PAIRS
    }
    return {"lowest": ends, "crossovers": crossovers}


LABELS = {
    "ngram": "bigram counts (Markov: 1 token back)",
    "cnn": "causal CNN (window of {rf} tokens)",
    "transformer": "Transformer (whole context)",
}


def figures(r: dict, outdir: Path) -> list[Path]:
    import matplotlib.pyplot as plt

    outdir.mkdir(parents=True, exist_ok=True)
    s = r["settings"]
    rf = 1 + s["cnn_layers"] * (s["kernel_size"] - 1)
    budgets = r["budgets"]
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    for model, marker in zip(MODELS, "sod"):
        mean, lo, hi = seed_band(r["loss"][model])
        err = [[m - a for m, a in zip(mean, lo)], [b - m for m, b in zip(mean, hi)]]
        label = LABELS[model].format(rf=rf)
        ax.errorbar(budgets, mean, yerr=err, marker=marker, capsize=3, label=label)
    ax.axhline(r["floor"], color="gray", ls="--", lw=1, label=f"best possible ({r['floor']:.2f})")
    heights = iter((0.97, 0.87, 0.77))
    for name, c in r["crossovers"].items():
        if c["mean"] is not None and c["mean"] > budgets[0]:
            a, b = name.split("_over_")
            ax.axvline(c["mean"], color="gray", ls=":", lw=1)
            ax.annotate(
                f" {a} below {b}\n at {c['mean']:.2g} FLOPs",
                (c["mean"], next(heights)),
                xycoords=("data", "axes fraction"),
                fontsize=7,
                va="top",
            )
    ax.set(xscale="log", yscale="log", xlabel="training compute (FLOPs, forward + backward)",
           ylabel="held-out loss (nats/token)",
           title=f"More structure starts better, less ends better ({len(r['seeds'])} seeds, "
                 "bars: min-max)")  # fmt: skip
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    path = outdir / "crossover_loss.png"
    save_figure(fig, path)
    plt.close(fig)
    return [path]
