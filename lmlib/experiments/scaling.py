"""Experiment: a ladder of Transformer sizes trained on the multitask corpus (lmlib.data.multitask).

Each (size, seed) run writes results/scaling/<profile>/<size>-seed<seed>.json with its held-out
loss split by task family, every probe's metrics (loss, token accuracy, exact match, two-way),
fact recall by how often the fact was seen, FLOPs and provenance; a run whose file exists is
skipped, so an interrupted sweep resumes where it stopped. summary.json gathers the runs and the
power-law fits. Figures: lmlib.experiments.scaling_figures.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch

from lmlib.analysis.power_law import fit_power_law
from lmlib.analysis.probes import facts_by_count, run_probe, standard_probes, summarize, task_losses
from lmlib.data.multitask import MultitaskCorpus
from lmlib.experiments.results import provenance, read_results, write_results
from lmlib.models.transformer import TransformerConfig, TransformerLM
from lmlib.runtime.device import pick_device, seed_everything
from lmlib.runtime.profiles import by_profile
from lmlib.training import distributed
from lmlib.training.train import TrainConfig, train

SWEEP = True  # the runner writes one results file per run (see run_sweep)


@dataclass(frozen=True)
class Size:
    name: str
    n_layers: int
    d_model: int
    n_heads: int


@dataclass(frozen=True)
class Settings:
    sizes: tuple[Size, ...]
    seeds: tuple[int, ...]
    train: TrainConfig  # lr is scaled per size by lr_for
    context: int
    n_entities: int
    n_quotes: int
    probe_items: int
    snapshots: int  # how many times during training the loss decomposition is recorded


def settings(profile: str) -> Settings:
    cpu_sizes = (
        Size("xs", 1, 16, 2),
        Size("s", 1, 32, 2),
        Size("m", 2, 32, 2),
        Size("l", 2, 64, 4),
        Size("xl", 3, 96, 4),
        Size("xxl", 4, 128, 4),
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
            snapshots=2,
        ),
        cpu=Settings(
            sizes=cpu_sizes,
            seeds=(0, 1),
            train=TrainConfig(steps=1100, batch_size=16, lr=3e-3, warmup_steps=50, progress=False),
            context=64,
            n_entities=400,
            n_quotes=32,
            probe_items=200,
            snapshots=6,
        ),
        gpu=Settings(
            sizes=(*cpu_sizes, Size("xxxl", 6, 192, 6)),
            seeds=(0, 1, 2),
            train=TrainConfig(steps=3000, batch_size=16, lr=3e-3, warmup_steps=100, progress=False),
            context=64,
            n_entities=400,
            n_quotes=32,
            probe_items=400,
            snapshots=8,
        ),
        profile=profile,
    )


def lr_for(size: Size, base: TrainConfig) -> TrainConfig:
    """Smaller models take larger steps: lr ~ d_model^-1/2, anchored at d_model = 128."""
    return replace(base, lr=min(1e-2, base.lr * (128 / size.d_model) ** 0.5))


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
    every = max(1, train_cfg.steps // s.snapshots)
    snapshots = [{"step": 0, **task_losses(model, held_out, s.context)}]

    def on_step(step: int, loss: float) -> None:
        if step % every == 0 or step == train_cfg.steps:
            snapshots.append({"step": step, **task_losses(model, held_out, s.context)})

    start = time.perf_counter()
    history = train(model, stream.ids, held_out.ids, train_cfg, on_step=on_step)
    train_wall = time.perf_counter() - start
    probes = standard_probes(corpus, s.probe_items)
    scores = {name: run_probe(model, p) for name, p in probes.items()}
    tokens = train_cfg.steps * train_cfg.batch_size * s.context
    flops_per_token = model.flops_per_token()
    return {
        "experiment": "scaling",
        "profile": profile,
        "size": size.name,
        "seed": seed,
        "model_config": cfg,
        "train_config": train_cfg,
        "params": model.num_params(),
        "params_non_embedding": model.num_params(non_embedding=True),
        "flops_per_token": flops_per_token,
        "tokens": tokens,
        "compute": flops_per_token * tokens,
        "final_train_loss": sum(history.train_loss[-50:]) / len(history.train_loss[-50:]),
        "decomposition": snapshots[-1],
        "snapshots": snapshots,
        "probes": {name: summarize(v) for name, v in scores.items()},
        "facts_by_count": facts_by_count(scores["facts"], stream.fact_counts),
        "train_wall_s": round(train_wall, 2),
        **provenance(pick_device(None if train_cfg.device == "auto" else train_cfg.device)),
    }


def run_path(root: Path, profile: str, size: str, seed: int) -> Path:
    return root / profile / f"{size}-seed{seed}.json"


_WORLD: dict = {}  # one corpus and stream per process and profile


def _run_and_write(profile: str, size: Size, seed: int, path: Path) -> dict:
    """One run on one thread (so its numbers do not depend on the machine's core count)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        if profile not in _WORLD:
            _WORLD[profile] = build_world(settings(profile))
        start = time.perf_counter()
        record = run_one(profile, size, seed, _WORLD[profile])
    finally:
        torch.set_num_threads(threads)
    record["wall_time_s"] = round(time.perf_counter() - start, 2)
    write_results(path, record)
    print(f"wrote {path} ({record['wall_time_s']:.1f} s)", flush=True)
    return record


def run_sweep(
    profile: str, root: Path, seeds: tuple[int, ...] | None = None, jobs: int = 1
) -> dict:
    """Every (size, seed) of the profile, `jobs` runs at a time (one thread each); runs whose
    file exists are read, not retrained."""
    s = settings(profile)
    todo = [(size, seed) for size in s.sizes for seed in seeds or s.seeds]
    paths = [run_path(root, profile, size.name, seed) for size, seed in todo]
    missing = [(*job, path) for job, path in zip(todo, paths) if not path.exists()]
    ranks = distributed.launched()
    if ranks.parallel:
        missing, jobs = _share(missing, ranks), 1
    if jobs > 1 and len(missing) > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(jobs, mp_context=ctx) as pool:
            for f in [pool.submit(_run_and_write, profile, *job) for job in missing]:
                f.result()
    else:
        for job in missing:
            _run_and_write(profile, *job)
    distributed.barrier(ranks)  # every point is written before anyone sums them up
    summary = summarize_runs(profile, [read_results(path) for path in paths])
    if ranks.is_main:
        write_results(root / profile / "summary.json", summary)
    return summary


def _share(points: list, ranks: distributed.Ranks) -> list:
    """Rank r of N (under torchrun) trains points r, r + N, ..., each on its own GPU if any."""
    distributed.local_device(pick_device(), ranks)  # cuda:LOCAL_RANK becomes "cuda"
    distributed.join(torch.device("cpu"), ranks)  # gloo, for the barrier at the end
    return points[ranks.rank :: ranks.world_size]


def mean_over_seeds(runs: list[dict], get) -> dict[str, tuple[float, float]]:
    """size -> (mean, std over seeds) of get(run)."""
    out = {}
    for size in dict.fromkeys(r["size"] for r in runs):
        vals = torch.tensor([float(get(r)) for r in runs if r["size"] == size], dtype=torch.float64)
        out[size] = (vals.mean().item(), vals.std().item() if len(vals) > 1 else 0.0)
    return out


def summarize_runs(profile: str, runs: list[dict]) -> dict:
    """Per-size means over seeds of every metric, and the power-law fits of loss."""
    runs = sorted(runs, key=lambda r: (r["params"], r["seed"]))
    loss = mean_over_seeds(runs, lambda r: r["decomposition"]["loss"])
    first = {r["size"]: r for r in runs}
    sizes = list(loss)
    compute = [first[n]["compute"] for n in sizes]
    params = [first[n]["params_non_embedding"] for n in sizes]
    fits = {}
    if len(sizes) >= 3:
        y = [loss[n][0] for n in sizes]
        fits = {"compute": fit_power_law(compute, y), "params": fit_power_law(params, y)}
    metrics = {}
    for probe, scores in runs[0]["probes"].items():
        for metric in scores:
            stats = mean_over_seeds(runs, lambda r, p=probe, m=metric: r["probes"][p][m])
            metrics[f"{probe}/{metric}"] = {n: stats[n] for n in sizes}
    return {
        "experiment": "scaling",
        "profile": profile,
        "sizes": sizes,
        "seeds": sorted({r["seed"] for r in runs}),
        "params": params,
        "compute": compute,
        "loss": {n: loss[n] for n in sizes},
        "metrics": metrics,
        "fits": {k: asdict(v) for k, v in fits.items()},
        "total_wall_time_s": round(sum(r.get("wall_time_s", 0.0) for r in runs), 1),
        "runs": [f"{r['size']}-seed{r['seed']}.json" for r in runs],
    }


def load_runs(root: Path, profile: str) -> list[dict]:
    """Every run file of a profile's sweep (not the summary)."""
    files = sorted((root / profile).glob("*-seed*.json"))
    if not files:
        raise FileNotFoundError(f"no runs in {root / profile}; run `lmlib run scaling` first")
    return [read_results(f) for f in files]


def figures(root: Path, profile: str, outdir: Path) -> list[Path]:
    from lmlib.experiments.scaling_figures import draw_all

    return draw_all(load_runs(root, profile), read_results(root / profile / "summary.json"), outdir)
