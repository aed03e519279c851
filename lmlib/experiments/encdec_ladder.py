"""Experiment: from encoder-decoder to decoder-only, one structural difference removed at a time.

Five configurations of lmlib's EncoderDecoder, each one switch further than the last:

1. ``encoder_decoder``: cross-attention to the encoder's final layer, separate stacks,
   bidirectional input;
2. ``joint_attention``: no cross-attention; the decoder's self-attention reads the input's
   final-layer states and the target's at once;
3. ``shared_stack``: one stack of parameters for input and target;
4. ``prefix_lm``: each layer reads the input at the same layer;
5. ``decoder_only``: causal attention over the input too (lmlib's TransformerLM).

Each is trained on both seq2seq tasks (fact lookup: long input, short target; toy translation:
target longer than input) for the same training FLOPs, counted by the model's
``flops_per_example`` (cross-attention's projections and scores included): the encoder-decoder
trains ``base_steps`` steps, a cheaper configuration proportionally more. Each run is repeated
over seeds; runs go two at a time, one thread each.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import asdict, replace
from pathlib import Path

import torch

from lmlib.data.seq2seq import fact_lookup, lexicon_translation
from lmlib.experiments.pool import map_spawned
from lmlib.experiments.results import provenance
from lmlib.models.encdec import EncDecConfig, EncoderDecoder
from lmlib.runtime.files import save_figure
from lmlib.runtime.profiles import by_profile
from lmlib.training.checkpoint import kept_result
from lmlib.training.seq2seq_train import train_seq2seq
from lmlib.training.train import TrainConfig

LADDER = {
    "encoder_decoder": dict(cross_attention=True, shared=False, memory="final", bidirectional=True),
    "joint_attention": dict(
        cross_attention=False, shared=False, memory="final", bidirectional=True
    ),
    "shared_stack": dict(cross_attention=False, shared=True, memory="final", bidirectional=True),
    "prefix_lm": dict(cross_attention=False, shared=True, memory="same", bidirectional=True),
    "decoder_only": dict(cross_attention=False, shared=True, memory="same", bidirectional=False),
}
REMOVED = {  # what each step of the ladder took away
    "joint_attention": "cross-attention",
    "shared_stack": "separate parameters",
    "prefix_lm": "final-layer attention",
    "decoder_only": "bidirectional input",
}
TASKS = ("fact_lookup", "lexicon_translation")


def settings(profile: str) -> dict:
    return by_profile(
        ci=dict(
            model=dict(d_model=16, n_heads=2, n_layers=1),
            batch_size=8,
            base_steps={"fact_lookup": 4, "lexicon_translation": 4},
            tasks=dict(n_train=64, n_test=8),
            seeds=2,
            jobs=1,
        ),
        cpu=dict(
            model=dict(d_model=64, n_heads=4, n_layers=2),
            batch_size=32,
            base_steps={"fact_lookup": 800, "lexicon_translation": 300},
            tasks=dict(n_train=20_000, n_test=512),
            seeds=2,
            jobs=2,
        ),
        gpu=dict(
            model=dict(d_model=128, n_heads=4, n_layers=4),
            batch_size=64,
            base_steps={"fact_lookup": 3000, "lexicon_translation": 1500},
            tasks=dict(n_train=50_000, n_test=1024),
            seeds=3,
            jobs=1,
        ),
        profile=profile,
    )


FACTS = dict(n_facts=6, n_keys=6, n_values=4)  # inputs of 8 tokens, targets of 2
TRANSLATION = dict(n_words=6, n_source=16, n_symbols=8)  # inputs of 6 tokens, targets of 13


def make_task(name: str, sizes: dict):
    if name == "fact_lookup":
        return fact_lookup(**sizes, **FACTS)
    return lexicon_translation(**sizes, **TRANSLATION)


def model_config(name: str, task, s: dict) -> EncDecConfig:
    cfg = EncDecConfig(task.vocab_size, context=task.src_len + task.tgt_len, **s["model"])
    return replace(cfg, **LADDER[name])


def steps_for(name: str, task, s: dict) -> int:
    """Steps that spend the encoder-decoder's base_steps worth of training FLOPs."""
    fpe = {n: EncoderDecoder(model_config(n, task, s)).flops_per_example(task.src_len, task.tgt_len)
           for n in ("encoder_decoder", name)}  # fmt: skip
    return max(1, round(s["base_steps"][task.name] * fpe["encoder_decoder"] / fpe[name]))


def one_run(name: str, task_name: str, seed: int, s: dict, device: str) -> dict:
    """Train one configuration on one task with one seed; its scores and history."""
    if device == "cpu":
        torch.set_num_threads(1)  # two runs side by side, one core each
    task = make_task(task_name, s["tasks"])
    cfg = model_config(name, task, s)
    torch.manual_seed(seed)
    model = EncoderDecoder(cfg).to(device)
    steps = steps_for(name, task, s)
    train = TrainConfig(
        steps=steps,
        batch_size=s["batch_size"],
        lr=3e-3,
        warmup_steps=max(1, steps // 10),
        eval_every=max(1, steps // 2),
        seed=seed,
        device=device,
        progress=False,
    )
    r = train_seq2seq(model, task, train)
    return {
        "config": name,
        "task": task_name,
        "seed": seed,
        "steps": steps,
        "params": model.num_params(),
        "flops_per_example": model.flops_per_example(task.src_len, task.tgt_len),
        **r,
    }


def summarize(runs: list[dict]) -> dict:
    """Per task and configuration: mean, sd, min and max over seeds of loss and exact match; per
    task and metric: whether the five configurations' means lie within the seeds' spread."""
    out = {}
    for task in TASKS:
        by_config = {}
        for name in LADDER:
            rows = [r for r in runs if r["task"] == task and r["config"] == name]
            by_config[name] = {"steps": rows[0]["steps"], "params": rows[0]["params"]}
            for metric in ("loss", "exact_match", "token_accuracy"):
                v = torch.tensor([r[metric] for r in rows], dtype=torch.float64)
                by_config[name][metric] = {
                    "mean": v.mean().item(),
                    "sd": v.std().item() if len(v) > 1 else 0.0,
                    "min": v.min().item(),
                    "max": v.max().item(),
                }
        noise = {}
        for metric in ("loss", "exact_match"):
            means = [c[metric]["mean"] for c in by_config.values()]
            within = max(c[metric]["max"] - c[metric]["min"] for c in by_config.values())
            noise[metric] = {
                "between_configs": max(means) - min(means),
                "within_seeds": within,
                "within_noise": max(means) - min(means) <= within,
            }
        out[task] = {"configs": by_config, "noise": noise}
    return out


def kept_run(name: str, task_name: str, seed: int, s: dict, device: str, folder: str) -> dict:
    """one_run's result, kept in `folder`: a run finished before is read back, not trained again."""
    path = Path(folder) / f"{task_name}-{name}-seed{seed}-{device}.pt"
    key = {"config": name, "task": task_name, "seed": seed, "settings": s, "device": device}
    return kept_result(path, key, lambda: one_run(name, task_name, seed, s, device))


def run_ladder(
    s: dict, seeds: list[int], device: str = "cpu", verbose: bool = True, keep: Path | None = None
) -> list[dict]:
    """Every configuration on every task for every seed, s["jobs"] runs at a time. With `keep`,
    a folder, each finished run is kept there, and a ladder stopped midway and run again trains
    only the runs it had not finished."""
    jobs = [(name, task, sd, s, device) for task in TASKS for sd in seeds for name in LADDER]
    start, done = time.perf_counter(), itertools.count(1)
    progress = (lambda r: _progress(r, next(done), len(jobs), start)) if verbose else None
    if keep is None:
        return map_spawned(one_run, jobs, s["jobs"], progress)
    return map_spawned(kept_run, [(*job, str(keep)) for job in jobs], s["jobs"], progress)


def planned_flops(s: dict) -> float:
    """Training FLOPs of a whole ladder at settings s (what the ledger will record)."""
    total = 0.0
    for task_name in TASKS:
        task = make_task(task_name, dict(n_train=1, n_test=1))
        for name in LADDER:
            fpe = EncoderDecoder(model_config(name, task, s)).flops_per_example(
                task.src_len, task.tgt_len
            )
            total += s["seeds"] * steps_for(name, task, s) * s["batch_size"] * fpe
    return total


def run(profile: str, seed: int = 0) -> dict:
    s = settings(profile)
    device = "cuda" if profile == "gpu" and torch.cuda.is_available() else "cpu"
    seeds = [seed + i for i in range(s["seeds"])]
    runs = run_ladder(s, seeds, device)
    return {
        "experiment": "encdec_ladder",
        "profile": profile,
        "seed": seed,
        "seeds": seeds,
        "settings": s,
        "ladder": LADDER,
        "removed": REMOVED,
        "model_configs": {
            t: {n: asdict(model_config(n, make_task(t, s["tasks"]), s)) for n in LADDER}
            for t in TASKS
        },
        "runs": runs,
        "summary": summarize(runs),
        **provenance(torch.device(device)),
    }


def _progress(r: dict, done: int, total: int, start: float) -> None:
    print(
        f"[{done}/{total} {time.perf_counter() - start:.0f} s] {r['task']} {r['config']} "
        f"seed {r['seed']}: loss {r['loss']:.3f}, exact match {r['exact_match']:.3f}",
        flush=True,
    )


LABELS = {
    "encoder_decoder": "encoder-\ndecoder",
    "joint_attention": "- cross-\nattention",
    "shared_stack": "- separate\nparameters",
    "prefix_lm": "- final-layer\n(prefix LM)",
    "decoder_only": "- bidirectional\n(decoder-only)",
}


def plot(runs: list[dict], seeds: list[int], title: str):
    """Held-out loss and exact match by configuration, task and seed, with the seeds' mean."""
    import matplotlib.pyplot as plt

    summary = summarize(runs)
    fig, axes = plt.subplots(2, 2, figsize=(12, 7), sharex=True)
    names = list(LADDER)
    metrics = (("loss", "held-out loss (nats per target token)"), ("exact_match", "exact match"))
    for col, task in enumerate(TASKS):
        for row, (metric, label) in enumerate(metrics):
            ax = axes[row, col]
            for seed in seeds:
                by_name = {x["config"]: x[metric] for x in runs
                           if x["task"] == task and x["seed"] == seed}  # fmt: skip
                ax.plot(range(len(names)), [by_name[n] for n in names], "o", alpha=0.7,
                        label=f"seed {seed}")  # fmt: skip
            means = [summary[task]["configs"][n][metric]["mean"] for n in names]
            ax.plot(range(len(names)), means, "k-", lw=1, label="mean over seeds")
            ax.set_ylabel(label)
            if row == 0:
                ax.set_title(task.replace("_", " "))
            ax.set_xticks(range(len(names)), [LABELS[n] for n in names], fontsize=8)
    axes[0, 0].legend()
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def figures(r: dict, outdir: Path) -> list[Path]:
    import matplotlib.pyplot as plt

    outdir.mkdir(parents=True, exist_ok=True)
    title = f"Encoder-decoder to decoder-only at equal training FLOPs ({r['profile']} profile)"
    fig = plot(r["runs"], r["seeds"], title)
    path = outdir / "encdec_ladder.png"
    save_figure(fig, path)
    plt.close(fig)
    return [path]
