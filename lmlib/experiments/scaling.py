"""Experiment: a ladder of Transformer sizes trained on the multitask corpus (lmlib.data.multitask).

Each (size, seed) point writes results/scaling/<profile>/<size>-seed<seed>.json with its held-out
loss at log-spaced steps of training (its loss curve, against compute), the loss split by task
family, every probe's metrics (loss, token accuracy, exact match, two-way), fact recall by how often
the fact was seen, FLOPs and provenance. A point whose file exists is skipped, so an interrupted
sweep reruns only its missing points; `--jobs N` runs N points at once, one thread each, with the
same numbers as one at a time. summary.json gathers the points, fits the compute-efficient frontier
(lmlib.analysis.frontier) and names each task's curve per seed. Figures:
lmlib.experiments.scaling_figures.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

import torch

from lmlib.analysis.probes import facts_by_count, run_probe, standard_probes, summarize, task_losses
from lmlib.data.multitask import MultitaskCorpus
from lmlib.experiments.pool import map_spawned
from lmlib.experiments.results import completed, provenance, read_results, write_results
from lmlib.experiments.scaling_summary import summarize_runs
from lmlib.experiments.sizes import Size
from lmlib.models.transformer import TransformerConfig, TransformerLM
from lmlib.runtime.device import pick_device, seed_everything, torch_threads
from lmlib.runtime.profiles import by_profile
from lmlib.training import distributed
from lmlib.training.train import TrainConfig, train

SWEEP = True  # the runner writes one results file per point (see run_sweep)


@dataclass(frozen=True)
class Settings:
    sizes: tuple[Size, ...]  # smallest compute first
    seeds: tuple[int, ...]
    train: TrainConfig  # lr is scaled per size by lr_for
    context: int
    n_entities: int
    n_quotes: int
    probe_items: int
    evals_per_octave: int  # held-out evaluations per doubling of the step count (the loss curve)


def settings(profile: str) -> Settings:
    cpu_sizes = (  # two-layer sizes copy but cannot yet add; three-layer ones learn to
        Size("xs", 2, 16, 2),
        Size("s", 2, 24, 2),
        Size("m", 2, 32, 2),
        Size("l", 3, 64, 4),
        Size("xl", 3, 96, 4),
    )
    return by_profile(
        ci=Settings(
            sizes=(Size("xs", 1, 8, 2), Size("s", 1, 16, 2), Size("m", 2, 16, 2)),
            seeds=(0,),
            train=TrainConfig(steps=30, batch_size=8, lr=1e-2, warmup_steps=5, progress=False),
            context=32,
            n_entities=40,
            n_quotes=8,
            probe_items=20,
            evals_per_octave=2,
        ),
        cpu=Settings(
            sizes=cpu_sizes,
            seeds=(0, 1, 2),
            train=TrainConfig(steps=2000, batch_size=16, lr=3e-3, warmup_steps=50, progress=False),
            context=64,
            n_entities=400,
            n_quotes=32,
            probe_items=200,
            evals_per_octave=3,
        ),
        gpu=Settings(
            sizes=(*cpu_sizes, Size("xxl", 4, 128, 4)),
            seeds=(0, 1, 2),
            train=TrainConfig(steps=4000, batch_size=16, lr=3e-3, warmup_steps=100, progress=False),
            context=64,
            n_entities=400,
            n_quotes=32,
            probe_items=400,
            evals_per_octave=3,
        ),
        profile=profile,
    )


def lr_for(size: Size, base: TrainConfig) -> TrainConfig:
    """Smaller models take larger steps: lr ~ d_model^-1/2, anchored at d_model = 128."""
    return replace(base, lr=min(1e-2, base.lr * (128 / size.d_model) ** 0.5))


def eval_steps(steps: int, per_octave: int) -> list[int]:
    """Log-spaced steps at which the loss curve is measured: steps, steps / 2^(1/k), ... >= 8."""
    out, k = set(), 0
    while (s := round(steps * 2 ** (-k / per_octave))) >= min(8, steps):
        out.add(s)
        k += 1
    return sorted(out)


def build_world(s: Settings, data_seed: int = 0) -> tuple[MultitaskCorpus, object, object]:
    """The corpus, its training stream (enough tokens for every run) and a held-out stream."""
    corpus = MultitaskCorpus(s.n_entities, s.n_quotes, seed=data_seed)
    tokens = s.train.steps * s.train.batch_size * s.context
    return (
        corpus,
        corpus.stream(tokens + s.context + 1, seed=0),
        corpus.stream(64 * s.context + 1, 1),
    )


def run_one(profile: str, size: Size, seed: int, world=None) -> dict:
    """Train one size from one seed; return its results record."""
    s = settings(profile)
    corpus, stream, held_out = world or build_world(s)
    cfg = TransformerConfig(
        corpus.tokenizer.vocab_size,
        s.context,
        size.d_model,
        size.n_heads,
        size.n_layers,
        pos="rope",
    )
    train_cfg = replace(lr_for(size, s.train), seed=seed, eval_every=s.train.steps, eval_batches=2)
    train_cfg = replace(train_cfg, data_parallel=False)  # under torchrun, one point per rank
    seed_everything(seed)
    model = TransformerLM(cfg)
    flops_per_token = model.flops_per_token()
    per_step = train_cfg.batch_size * s.context
    evals = set(eval_steps(train_cfg.steps, s.evals_per_octave))
    curve = [{"step": 0, "compute": 0.0, **task_losses(model, held_out, s.context)}]

    def on_step(step: int, loss: float) -> None:
        if step in evals:
            snap = task_losses(model, held_out, s.context)
            curve.append(
                {"step": step, "compute": float(flops_per_token * per_step * step), **snap}
            )

    start, cpu_start = time.perf_counter(), time.process_time()
    history = completed(train(model, stream.ids, held_out.ids, train_cfg, on_step=on_step))
    train_wall = time.perf_counter() - start
    probes = standard_probes(corpus, s.probe_items)
    scores = {name: run_probe(model, p) for name, p in probes.items()}
    tokens = train_cfg.steps * per_step
    return {
        "experiment": "scaling",
        "profile": profile,
        "size": size.name,
        "seed": seed,
        "model_config": cfg,
        "train_config": train_cfg,
        "params": model.num_params(),
        "params_non_embedding": model.num_params() - cfg.vocab_size * cfg.d_model,
        "flops_per_token": flops_per_token,
        "tokens": tokens,
        "compute": flops_per_token * tokens,
        "final_train_loss": sum(history.train_loss[-50:]) / len(history.train_loss[-50:]),
        "decomposition": curve[-1],
        "snapshots": curve,
        "probes": {name: summarize(v) for name, v in scores.items()},
        "facts_by_count": facts_by_count(scores["facts"], stream.fact_counts),
        "train_wall_s": round(train_wall, 2),
        "cpu_time_s": round(time.process_time() - cpu_start, 2),
        **provenance(pick_device(None if train_cfg.device == "auto" else train_cfg.device)),
    }


def run_path(root: Path, profile: str, size: str, seed: int) -> Path:
    return root / profile / f"{size}-seed{seed}.json"


@dataclass(frozen=True)
class Point:
    """One (size, seed) of a sweep and the file its results go to."""

    size: Size
    seed: int
    path: Path


def plan_points(
    profile: str, root: Path, seeds: tuple[int, ...] | None = None, shard: tuple[int, int] = (0, 1)
) -> list[Point]:
    """The points still to run (no results file yet), largest compute first so that parallel
    workers finish together; shard=(rank, world) keeps every world-th point from rank on."""
    s = settings(profile)
    rank, world = shard
    if not 0 <= rank < world:
        raise ValueError(f"shard must be (rank, world) with 0 <= rank < world, got {shard}")
    todo = [
        Point(size, seed, run_path(root, profile, size.name, seed))
        for size in reversed(s.sizes)
        for seed in seeds or s.seeds
    ]
    return [p for p in todo if not p.path.exists()][rank::world]


_WORLD: dict = {}  # one corpus and stream per process and profile


def run_point(profile: str, point: Point) -> dict:
    """Run one point on one thread (its numbers do not depend on the core count) and write it."""
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    with torch_threads(1):
        if profile not in _WORLD:
            _WORLD[profile] = build_world(settings(profile))
        start = time.perf_counter()
        cpu_start = time.process_time()
        record = run_one(profile, point.size, point.seed, _WORLD[profile])
    record["wall_time_s"] = round(time.perf_counter() - start, 2)
    record["cpu_time_s"] = round(time.process_time() - cpu_start, 2)
    record["started"] = started
    write_results(point.path, record)
    print(f"wrote {point.path} ({record['wall_time_s']:.1f} s)", flush=True)
    return record


def run_points(profile: str, points: list[Point], jobs: int = 1) -> None:
    """Run the points, `jobs` at a time in spawned worker processes (lmlib.experiments.pool)."""
    map_spawned(run_point, [(profile, p) for p in points], jobs)


def run_sweep(
    profile: str, root: Path, seeds: tuple[int, ...] | None = None, jobs: int = 1
) -> dict:
    """Every (size, seed) of the profile; points whose file exists are read, not retrained.
    Under torchrun each rank trains its share of the points (one process, one GPU each)."""
    ranks = distributed.launched()
    shard = (0, 1)
    if ranks.parallel:
        shard, jobs = _join(ranks), 1
    points = plan_points(profile, root, seeds, shard)
    distributed.barrier(ranks)  # every rank has planned before any writes a point
    run_points(profile, points, jobs)
    distributed.barrier(ranks)  # every point is written before anyone sums them up
    s = settings(profile)
    paths = [run_path(root, profile, z.name, seed) for z in s.sizes for seed in seeds or s.seeds]
    summary = summarize_runs(profile, [read_results(p) for p in paths])
    if ranks.is_main:
        write_results(root / profile / "summary.json", summary)
    return summary


def _join(ranks: distributed.Ranks) -> tuple[int, int]:
    """Under torchrun: this rank's GPU if any, a gloo group for the barriers, its shard."""
    distributed.local_device(pick_device(), ranks)  # cuda:LOCAL_RANK becomes "cuda"
    distributed.join(torch.device("cpu"), ranks)
    return ranks.rank, ranks.world_size


def load_runs(root: Path, profile: str) -> list[dict]:
    """Every run file of a profile's sweep (not the summary)."""
    files = sorted((root / profile).glob("*-seed*.json"))
    if not files:
        raise FileNotFoundError(f"no runs in {root / profile}; run `lmlib run scaling` first")
    return [read_results(f) for f in files]


def figures(root: Path, profile: str, outdir: Path) -> list[Path]:
    from lmlib.experiments.scaling_figures import draw_all

    runs = load_runs(root, profile)
    summary = summarize_runs(profile, runs)
    write_results(root / profile / "summary.json", summary)
    return draw_all(runs, summary, outdir)
