"""Experiment: MLM against ELECTRA at equal pretraining FLOPs, judged by fine-tuning.

Every run pretrains one encoder with one objective to the same FLOP budget (a generator counted
against its objective) on the text of lmlib.analysis.context_tasks, and judges it before training
and at 1/8, 1/4, 1/2 and all of the budget by fine-tuning it whole, with one recipe, on three
tasks that need context (agreement across an attractor, negation, facts about the pretraining's
people on a relation the fine-tuning never saw).

Runs of one seed are paired: every objective starts from the same encoder weights and reads the
same batches in the same order (lmlib.training.pretrain), and the fine-tuning draws the same head
and batches. The untrained encoder, fine-tuned the same way, is the floor: the instrument is
valid only if MLM's trained encoder beats it by more than 3 standard errors (`validity`).
Objectives: "mlm" (BERT), "electra" (generator a quarter as wide), and the steps between them of
Clark et al. 2020: "replace_mlm", "all_tokens_mlm" (with the copy mechanism) and "electra_15".

Each (objective, seed) writes results/objectives/<profile>/<run>-seed<seed>.json; an existing file
is read, not retrained, so an interrupted sweep resumes. summary.json gathers the runs and the
paired differences (lmlib.experiments.objectives_summary); figures: objectives_figures.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import asdict, dataclass, is_dataclass, replace
from pathlib import Path

import torch

from lmlib.analysis.context_tasks import ContextWorld, bag_of_words_accuracy
from lmlib.experiments.pool import map_spawned
from lmlib.experiments.results import provenance, read_results, write_results
from lmlib.models.encoder import Encoder
from lmlib.models.transformer import TransformerConfig
from lmlib.runtime.device import pick_device, seed_everything, torch_threads
from lmlib.runtime.profiles import by_profile
from lmlib.training.checkpoint import kept_result
from lmlib.training.electra import Electra, ElectraConfig, ReplaceMLM
from lmlib.training.finetune import FinetuneConfig, evaluate
from lmlib.training.masking import MaskedLM
from lmlib.training.pretrain import PretrainConfig, pretrain, steps_for

SWEEP = True
CHECKPOINTS = (0.125, 0.25, 0.5, 1.0)


@dataclass(frozen=True)
class Run:
    name: str  # file name: mlm, electra, replace_mlm, all_tokens_mlm, electra_15
    objective: str  # mlm | electra | replace_mlm | all_tokens_mlm | electra_15
    gen_width: float = 0.25  # with a generator: its width / the kept model's width


@dataclass(frozen=True)
class Settings:
    runs: tuple[Run, ...]  # MLM and ELECTRA, paired in every seed
    ablations: tuple[Run, ...]  # the steps between them, paired with both
    seeds: tuple[int, ...]
    ablation_seeds: tuple[int, ...]  # the ablations' seeds (a subset of seeds)
    model: dict  # TransformerConfig fields other than vocab_size (always an encoder)
    pretrain: PretrainConfig  # flops = the budget of every run
    finetune: FinetuneConfig  # the recipe that judges every checkpoint (seed: the run's)
    n_people: int
    stream_tokens: int
    n_train: int  # fine-tuning examples per task
    n_test: int  # held-out examples per task


MAIN = (Run("mlm", "mlm"), Run("electra", "electra"))
ABLATIONS = (Run("replace_mlm", "replace_mlm"), Run("all_tokens_mlm", "all_tokens_mlm"))
ABLATIONS += (Run("electra_15", "electra_15"),)


def settings(profile: str) -> Settings:
    return by_profile(
        ci=Settings(
            runs=MAIN,
            ablations=ABLATIONS,
            seeds=(0,),
            ablation_seeds=(0,),
            model=dict(context=16, d_model=16, n_heads=2, n_layers=1, pos="rope"),
            pretrain=PretrainConfig(1.5e8, 16, 8, 3e-3, 2, checkpoints=CHECKPOINTS),
            finetune=FinetuneConfig(epochs=1, batch_size=16, lr=1e-3),
            n_people=8,
            stream_tokens=20_000,
            n_train=32,
            n_test=32,
        ),
        cpu=Settings(
            runs=MAIN,
            ablations=ABLATIONS,
            seeds=(0, 1, 2),
            ablation_seeds=(0, 1, 2),
            model=dict(context=32, d_model=64, n_heads=4, n_layers=2, pos="rope"),
            pretrain=PretrainConfig(2e12, 32, 32, 3e-3, 50, checkpoints=CHECKPOINTS),
            finetune=FinetuneConfig(epochs=6, batch_size=16, lr=1e-3, restarts=3),
            n_people=40,
            stream_tokens=1_000_000,
            n_train=256,
            n_test=512,
        ),
        gpu=Settings(
            runs=MAIN,
            ablations=ABLATIONS,
            seeds=(0, 1, 2),
            ablation_seeds=(0, 1, 2),
            model=dict(context=64, d_model=128, n_heads=4, n_layers=4, pos="rope"),
            pretrain=PretrainConfig(1.2e14, 64, 64, 2e-3, 200, checkpoints=CHECKPOINTS),
            finetune=FinetuneConfig(epochs=6, batch_size=16, lr=1e-3, restarts=3),
            n_people=100,
            stream_tokens=8_000_000,
            n_train=512,
            n_test=1024,
        ),
        profile=profile,
    )


def build_world(s: Settings) -> tuple[ContextWorld, torch.Tensor, dict]:
    """The world, its pretraining stream, and the three fine-tuning tasks."""
    world = ContextWorld(s.n_people)
    return world, world.stream(s.stream_tokens), world.tasks(s.n_train, s.n_test)


def model_config(s: Settings, world: ContextWorld) -> tuple[TransformerConfig, int]:
    mask_id = world.tokenizer.vocab_size  # one id past the words: [MASK]
    return TransformerConfig(mask_id + 1, causal=False, **s.model), mask_id


def build(run: Run, cfg: TransformerConfig, mask_id: int) -> torch.nn.Module:
    ecfg = ElectraConfig(cfg, run.gen_width, mask_id, all_tokens=run.objective != "electra_15")
    if run.objective == "mlm":
        return MaskedLM(cfg, mask_id)
    if run.objective in ("electra", "electra_15"):
        return Electra(ecfg)
    if run.objective in ("replace_mlm", "all_tokens_mlm"):
        return ReplaceMLM(ecfg, all_tokens=run.objective == "all_tokens_mlm")
    raise ValueError(f"unknown objective {run.objective!r}")


def initial_encoder(cfg: TransformerConfig, seed: int) -> dict:
    """The encoder weights every objective of a seed starts from."""
    seed_everything(seed)
    return Encoder(cfg).state_dict()


def lab_settings(profile: str) -> Settings:
    """The lab's sizes: the sweep's, except at `gpu`, where the lab's one seed of MLM and
    ELECTRA takes a wider, deeper encoder and a larger budget for a T4's minutes."""
    s = settings(profile)
    if profile != "gpu":
        return s
    model = dict(s.model, d_model=256, n_heads=8, n_layers=6)
    return replace(s, model=model, pretrain=replace(s.pretrain, flops=8e14))


def run_one(
    profile: str,
    run: Run,
    seed: int,
    world=None,
    device: str | torch.device = "cpu",
    checkpoint: Path | None = None,
    s: Settings | None = None,
) -> dict:
    """One (objective, seed) at `profile`'s settings, or at `s` where given (the lab's), scored at
    each budget share; with `checkpoint`, a file, a run stopped midway carries on from its last
    scoring (lmlib.training.pretrain)."""
    s = s or settings(profile)
    world, ids, tasks = world or build_world(s)
    cfg, mask_id = model_config(s, world)
    start = initial_encoder(cfg, seed)
    seed_everything(seed + 1)  # the generator's own weights
    objective = build(run, cfg, mask_id)
    missing = objective.encoder.load_state_dict(start, strict=False).missing_keys
    assert all(k.startswith("classifier") for k in missing), missing  # only a head is new
    pcfg = replace(s.pretrain, seed=seed)
    fcfg = replace(s.finetune, seed=seed)
    out = pretrain(objective, ids, pcfg, lambda enc: evaluate(enc, tasks, fcfg), device, checkpoint)
    return {
        "experiment": "objectives",
        "profile": profile,
        "run": run.name,
        "objective": run.objective,
        "gen_width": None if run.objective == "mlm" else run.gen_width,
        "seed": seed,
        "model_config": cfg,
        "pretrain_config": pcfg,
        "finetune_config": fcfg,
        "n_test": s.n_test,
        "params": objective.encoder.num_params(),
        "params_trained": sum(p.numel() for p in objective.parameters()),
        **out,
        **provenance(torch.device(device)),
    }


def kept_run(
    profile: str, run: Run, seed: int, world, folder: str | Path, s=None, device="cpu"
) -> dict:
    """run_one's record (its configs as dicts), kept in `folder`: a run finished before, at the same
    profile, settings and seed, is read back; a run stopped midway carries on from its last
    scoring. The files' names hold a hash of the settings, so no other run's file is read."""
    s = s or settings(profile)
    key = {"profile": profile, "run": repr(run), "settings": repr(s), "seed": seed}
    key["device"] = torch.device(device).type
    name = f"{run.name}-seed{seed}-{profile}-{hashlib.sha256(repr(key).encode()).hexdigest()[:12]}"

    def compute() -> dict:
        path = Path(folder) / f"{name}-pretraining.pt"
        r = run_one(profile, run, seed, world, device, checkpoint=path, s=s)
        plain = lambda v: asdict(v) if is_dataclass(v) else str(v) if isinstance(v, str) else v
        return {k: plain(v) for k, v in r.items()}  # torch's version string as a str

    return kept_result(Path(folder) / f"{name}.pt", key, compute)


def bag_of_words(s: Settings, world=None) -> dict[str, float]:
    """Held-out accuracy of a logistic regression on word counts, per task."""
    world, _, tasks = world or build_world(s)
    return {n: bag_of_words_accuracy(t, world.tokenizer.vocab_size) for n, t in tasks.items()}


def planned_flops(profile: str) -> float:
    """Training FLOPs of the whole sweep: pretraining, and fine-tuning at every checkpoint."""
    s = settings(profile)
    world = ContextWorld(s.n_people)
    cfg, mask_id = model_config(s, world)
    tasks = world.tasks(s.n_train, s.n_test)
    enc = Encoder(cfg)
    tokens = sum(int(x.numel()) for t in tasks.values() for x in t.train.x)
    passes = s.finetune.epochs * s.finetune.restarts  # over every task's training examples
    finetune = passes * enc.flops_per_token(cfg.context, head_share=0) * tokens
    total = 0.0
    for runs, n_seeds in ((s.runs, len(s.seeds)), (s.ablations, len(s.ablation_seeds))):
        for run in runs:
            objective = build(run, cfg, mask_id)
            per_step = objective.flops_per_token(s.pretrain.context) * s.pretrain.batch_size
            pretraining = steps_for(objective, s.pretrain) * per_step * s.pretrain.context
            total += n_seeds * (pretraining + (1 + len(s.pretrain.checkpoints)) * finetune)
    return total


def run_device(profile: str) -> torch.device:
    """Where a sweep's runs train: the best device at the gpu profile (CUDA on a T4), the CPU at
    the others, whose numbers must not depend on the machine."""
    return pick_device() if profile == "gpu" else torch.device("cpu")


def run_path(root: Path, profile: str, name: str, seed: int) -> Path:
    return root / profile / f"{name}-seed{seed}.json"


_WORLD: dict = {}


def _run_and_write(profile: str, run: Run, seed: int, path: Path) -> dict:
    """One run on one thread (its numbers then do not depend on the machine's core count)."""
    with torch_threads(1):
        if profile not in _WORLD:
            _WORLD[profile] = build_world(settings(profile))
        start = time.perf_counter()
        cpu_start = time.process_time()
        record = run_one(profile, run, seed, _WORLD[profile], run_device(profile))
    record["wall_time_s"] = round(time.perf_counter() - start, 2)
    record["cpu_time_s"] = round(time.process_time() - cpu_start, 2)
    write_results(path, record)
    print(f"wrote {path} ({record['wall_time_s']:.1f} s)", flush=True)
    return record


def run_sweep(
    profile: str, root: Path, seeds: tuple[int, ...] | None = None, jobs: int = 1
) -> dict:
    """Every (run, seed) of the profile, `jobs` at a time; existing files are read. The main
    pair runs first in every seed, then the ablations seed by seed, so a cut-short sweep has the
    comparison first (`write_summary` summarises it)."""
    s = settings(profile)
    seeds = seeds or s.seeds
    todo = [(run, k) for k in seeds for run in s.runs]
    todo += [(run, k) for k in seeds if k in s.ablation_seeds for run in s.ablations]
    paths = [run_path(root, profile, run.name, k) for run, k in todo]
    missing = [(*job, path) for job, path in zip(todo, paths) if not path.exists()]
    start = time.perf_counter()
    map_spawned(_run_and_write, [(profile, *job) for job in missing], jobs)
    summary = write_summary(profile, root)
    summary["sweep_wall_s"] = round(time.perf_counter() - start, 2)
    summary["jobs"] = jobs
    write_results(root / profile / "summary.json", summary)
    return summary


def write_summary(profile: str, root: Path) -> dict:
    """summary.json of the runs whose files exist: MLM and ELECTRA in every seed, and the
    ablations in the ablation seeds they have (a sweep stopped during the ablations is
    summarised as far as it went)."""
    from lmlib.experiments.objectives_summary import summarize

    s = settings(profile)
    main = [run_path(root, profile, run.name, k) for run in s.runs for k in s.seeds]
    if missing := [p.name for p in main if not p.exists()]:
        raise FileNotFoundError(f"no results for {missing} in {root / profile}; run the sweep")
    extra = [run_path(root, profile, run.name, k) for run in s.ablations for k in s.ablation_seeds]
    runs = [read_results(p) for p in main + [p for p in extra if p.exists()]]
    summary = summarize(profile, runs, s, bag_of_words(s))
    write_results(root / profile / "summary.json", summary)
    return summary


def figures(root: Path, profile: str, outdir: Path) -> list[Path]:
    from lmlib.experiments.objectives_figures import draw_all

    return draw_all(read_results(root / profile / "summary.json"), outdir)
