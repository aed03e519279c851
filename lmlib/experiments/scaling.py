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

from lmlib.analysis.emergence import bits
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
    sizes: tuple[Size, ...]  # smallest compute first within each ladder
    seeds: tuple[int, ...]
    train: TrainConfig  # lr is scaled per size by lr_for
    context: int
    n_entities: int
    n_quotes: int
    quote_endings: int | None  # None: each quote its own ending (MultitaskCorpus)
    copy_lengths: tuple[int, int]  # copy lists as long as the quotes (6 to 8 words)
    probe_items: int
    sum_items: int  # held-out 3-digit sums (never in the training stream)
    held_out_windows: int  # context windows of the held-out loss stream (final loss)
    curve_windows: int  # the first of them, for the loss curve's earlier evaluations
    evals_per_octave: int  # held-out evaluations per doubling of the step count (the loss curve)


def ladder(name: str, n_layers: int, n_heads: int, widths: tuple[int, ...]) -> tuple[Size, ...]:
    return tuple(Size(f"L{n_layers}-d{d}", n_layers, d, n_heads, name) for d in widths)


# main: one depth at widths 0.11 to 0.19 decades of compute apart (multiples of 8: four heads of
# even width for the rotary embedding); control: the same heads at two layers; one: one-layer
# models below the size where copying (an induction head, two layers) can form.
MAIN_WIDTHS = (24, 32, 40, 48, 56, 72, 88, 104)
CPU_SIZES = (
    *ladder("one", 1, 4, (8, 16)),
    *ladder("control", 2, 4, (24, 32, 40, 56)),
    *ladder("main", 3, 4, MAIN_WIDTHS),
)


def settings(profile: str) -> Settings:
    world = dict(n_entities=300, n_quotes=512, quote_endings=32, copy_lengths=(3, 8))
    return by_profile(
        ci=Settings(
            sizes=(*ladder("one", 1, 2, (4,)), *ladder("control", 1, 2, (8,)))
            + ladder("main", 2, 2, (8, 16)),
            seeds=(0,),
            train=TrainConfig(steps=30, batch_size=8, lr=1e-2, warmup_steps=5, progress=False),
            context=32,
            n_entities=40,
            n_quotes=32,
            quote_endings=8,
            copy_lengths=(3, 8),
            probe_items=20,
            sum_items=40,
            held_out_windows=8,
            curve_windows=4,
            evals_per_octave=2,
        ),
        cpu=Settings(
            sizes=CPU_SIZES,
            seeds=(0, 1, 2),
            train=TrainConfig(steps=2000, batch_size=16, lr=3e-3, warmup_steps=50, progress=False),
            context=64,
            **world,
            probe_items=200,
            sum_items=2000,
            held_out_windows=1024,
            curve_windows=256,
            evals_per_octave=2,
        ),
        gpu=Settings(  # sized by FLOPs to about ten minutes of a T4 (tests/test_scaling_design.py)
            sizes=(*CPU_SIZES, *ladder("main", 3, 4, (128, 152))),
            seeds=(0, 1, 2),
            train=TrainConfig(steps=9000, batch_size=64, lr=3e-3, warmup_steps=200, progress=False),
            context=64,
            **world,
            probe_items=400,
            sum_items=4000,
            held_out_windows=2048,
            curve_windows=1024,
            evals_per_octave=2,
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


def build_world(s: Settings, data_seed: int = 0) -> tuple[MultitaskCorpus, object, object, dict]:
    """The corpus, its training stream (enough tokens for every run), a held-out stream and the
    probes, each family of new sentences split into held-out items and ones seen in training."""
    corpus = MultitaskCorpus(
        s.n_entities,
        s.n_quotes,
        seed=data_seed,
        copy_lengths=s.copy_lengths,
        quote_endings=s.quote_endings,
    )
    tokens = s.train.steps * s.train.batch_size * s.context + s.context + 1
    probes = standard_probes(corpus, s.probe_items, seen=corpus.seen(tokens, 0), n_sums=s.sum_items)
    held_out = corpus.stream(s.held_out_windows * s.context + 1, 1)
    return corpus, corpus.stream(tokens, seed=0), held_out, probes


ITEMS = {"facts": "exact", "quotes": "exact", "arithmetic_3": "exact", "memo_trap": "two_way"}


def run_one(profile: str, size: Size, seed: int, world=None) -> dict:
    """Train one size from one seed; return its results record."""
    s = settings(profile)
    corpus, stream, held_out, probes = world or build_world(s)
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

    def losses(step: int) -> dict:
        windows = s.held_out_windows if step == train_cfg.steps else s.curve_windows
        return task_losses(model, held_out, s.context, max_windows=windows)

    curve = [{"step": 0, "compute": 0.0, **losses(0)}]

    def on_step(step: int, loss: float) -> None:
        if step in evals:
            curve.append({"step": step, "compute": float(flops_per_token * per_step * step)})
            curve[-1].update(losses(step))

    start, cpu_start = time.perf_counter(), time.process_time()
    history = completed(train(model, stream.ids, held_out.ids, train_cfg, on_step=on_step))
    train_wall = time.perf_counter() - start
    scores = {name: run_probe(model, p) for name, p in probes.items()}
    tokens = train_cfg.steps * per_step
    return {
        "experiment": "scaling",
        "profile": profile,
        "size": size.name,
        "ladder": size.ladder,
        "seed": seed,
        "model_config": cfg,
        "train_config": train_cfg,
        "params": model.num_params(),
        "params_non_embedding": model.num_params() - cfg.vocab_size * cfg.d_model,
        "flops_per_token": flops_per_token,
        "tokens": tokens,
        "compute": flops_per_token * tokens,
        "held_out_tokens": s.held_out_windows * s.context,
        "curve_tokens": s.curve_windows * s.context,
        "final_train_loss": sum(history.train_loss[-50:]) / len(history.train_loss[-50:]),
        "decomposition": curve[-1],
        "snapshots": curve,
        "probes": {name: summarize(v) for name, v in scores.items()},
        "probe_items": {name: len(p.idx) for name, p in probes.items()},
        "items": {name: bits(scores[name][metric]) for name, metric in ITEMS.items()},
        "facts_by_count": facts_by_count(scores["facts"], stream.fact_counts),
        "train_wall_s": round(train_wall, 2),
        "cpu_time_s": round(time.process_time() - cpu_start, 2),
        **provenance(pick_device(None if train_cfg.device == "auto" else train_cfg.device)),
    }


def size_compute(s: Settings, size: Size, vocab_size: int = 600) -> float:
    """Training FLOPs of one size (vocab_size only sets the output layer's share)."""
    cfg = TransformerConfig(vocab_size, s.context, size.d_model, size.n_heads, size.n_layers)
    return TransformerLM(cfg).flops_per_token() * s.train.steps * s.train.batch_size * s.context


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
    """The points still to run (no results file yet), seed by seed so that an interrupted sweep
    leaves whole seeds, largest compute first within a seed so that parallel workers finish
    together; shard=(rank, world) keeps every world-th point from rank on."""
    s = settings(profile)
    rank, world = shard
    if not 0 <= rank < world:
        raise ValueError(f"shard must be (rank, world) with 0 <= rank < world, got {shard}")
    by_compute = sorted(s.sizes, key=lambda z: -size_compute(s, z))
    todo = [
        Point(size, seed, run_path(root, profile, size.name, seed))
        for seed in seeds or s.seeds
        for size in by_compute
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
