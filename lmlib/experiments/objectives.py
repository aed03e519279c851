"""Experiment: MLM against ELECTRA at equal pretraining FLOPs, scored on mini-GLUE.

Every run pretrains one encoder with one objective to the same FLOP budget (ELECTRA's generator
counted against ELECTRA) and scores it with few-shot probes on the mini-GLUE tasks
(lmlib.analysis.mini_glue) before training and at a quarter, half and all of the budget.
Objectives: "mlm" (BERT), "electra" (generator widths as shares of the discriminator's),
"all_tokens_mlm" and "electra_15" (the ablations of Clark et al. 2020, Table 5).

Each (objective, seed) writes results/objectives/<profile>/<run>-seed<seed>.json; an existing
file is read, not retrained, so an interrupted sweep resumes. summary.json gathers the runs.
Figures: lmlib.experiments.objectives_figures.
"""

from __future__ import annotations

import random
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch

from lmlib.analysis.mini_glue import TASKS, evaluate, make_tasks
from lmlib.data.multitask import MultitaskCorpus
from lmlib.experiments.pool import map_spawned
from lmlib.experiments.results import provenance, read_results, write_results
from lmlib.models.transformer import TransformerConfig
from lmlib.runtime.device import seed_everything, torch_threads
from lmlib.runtime.profiles import by_profile
from lmlib.training.electra import Electra, ElectraConfig
from lmlib.training.masking import MaskedLM
from lmlib.training.pretrain import PretrainConfig, pretrain

SWEEP = True
MIX = {"agreement": 0.4, "facts": 0.4, "sentiment": 0.2}  # the text the encoders read


@dataclass(frozen=True)
class Run:
    name: str  # file name: mlm, electra-0.25, all_tokens_mlm, electra_15
    objective: str  # mlm | electra | all_tokens_mlm | electra_15
    gen_width: float = 0.25  # ELECTRA only: generator width / discriminator width


@dataclass(frozen=True)
class Settings:
    runs: tuple[Run, ...]  # MLM and the generator-size sweep, every seed
    seeds: tuple[int, ...]
    ablations: tuple[Run, ...]  # All-Tokens MLM and ELECTRA 15%, fewer seeds
    ablation_seeds: tuple[int, ...]
    model: dict  # TransformerConfig fields other than vocab_size (always an encoder)
    pretrain: PretrainConfig  # flops = the budget of every run
    n_entities: int
    stream_tokens: int
    n_train: int  # probe training pool per task (the shots are drawn from it)
    n_test: int
    shots: int
    draws: int


def _electra(width: float) -> Run:
    return Run(f"electra-{width:g}", "electra", width)


def settings(profile: str) -> Settings:
    runs = (Run("mlm", "mlm"), *(_electra(w) for w in (0.125, 0.25, 0.5, 1.0)))
    ablations = (Run("all_tokens_mlm", "all_tokens_mlm"), Run("electra_15", "electra_15"))
    return by_profile(
        ci=Settings(
            runs=(Run("mlm", "mlm"), _electra(0.25), _electra(0.5)),
            seeds=(0,),
            ablations=ablations,
            ablation_seeds=(0,),
            model=dict(context=16, d_model=16, n_heads=2, n_layers=1, pos="rope"),
            pretrain=PretrainConfig(flops=1.5e8, context=16, batch_size=8, lr=3e-3, warmup_steps=2),
            n_entities=20,
            stream_tokens=20_000,
            n_train=32,
            n_test=64,
            shots=8,
            draws=2,
        ),
        cpu=Settings(
            runs=runs,
            seeds=(0, 1),
            ablations=ablations,
            ablation_seeds=(0,),
            model=dict(context=32, d_model=64, n_heads=4, n_layers=2, pos="rope"),
            pretrain=PretrainConfig(flops=2e11, context=32, batch_size=32, lr=3e-3),
            n_entities=50,
            stream_tokens=400_000,
            n_train=256,
            n_test=256,
            shots=16,
            draws=8,
        ),
        gpu=Settings(
            runs=runs,
            seeds=(0, 1, 2),
            ablations=ablations,
            ablation_seeds=(0, 1, 2),
            model=dict(context=64, d_model=128, n_heads=4, n_layers=4, pos="rope"),
            pretrain=PretrainConfig(flops=1e13, context=64, batch_size=64, lr=2e-3),
            n_entities=50,
            stream_tokens=4_000_000,
            n_train=256,
            n_test=1024,
            shots=16,
            draws=8,
        ),
        profile=profile,
    )


def build_world(s: Settings) -> tuple[MultitaskCorpus, torch.Tensor, dict]:
    """The corpus, a stream of its labelled families' sentences, and the mini-GLUE tasks."""
    corpus = MultitaskCorpus(s.n_entities)
    rng, ids = random.Random("objectives-stream"), []
    while len(ids) < s.stream_tokens:
        family = rng.choices(list(MIX), weights=list(MIX.values()))[0]
        sentence = getattr(corpus, {"facts": "fact"}.get(family, family))(rng)
        ids += corpus.tokenizer.encode(sentence.words)
    tasks = make_tasks(corpus, s.n_train, s.n_test, n_people=min(64, s.n_entities))
    return corpus, torch.tensor(ids), tasks


def build(run: Run, cfg: TransformerConfig, mask_id: int) -> torch.nn.Module:
    if run.objective in ("mlm", "all_tokens_mlm"):
        return MaskedLM(cfg, mask_id, all_tokens=run.objective == "all_tokens_mlm")
    if run.objective in ("electra", "electra_15"):
        ecfg = ElectraConfig(cfg, run.gen_width, mask_id, all_tokens=run.objective == "electra")
        return Electra(ecfg)
    raise ValueError(f"unknown objective {run.objective!r}")


def run_one(profile: str, run: Run, seed: int, world=None) -> dict:
    s = settings(profile)
    corpus, ids, tasks = world or build_world(s)
    mask_id = corpus.tokenizer.vocab_size  # one id past the corpus's words: [MASK]
    cfg = TransformerConfig(mask_id + 1, causal=False, **s.model)
    seed_everything(seed)
    objective = build(run, cfg, mask_id)
    pcfg = replace(s.pretrain, seed=seed)
    out = pretrain(objective, ids, pcfg, lambda enc: evaluate(enc, tasks, s.shots, s.draws))
    return {
        "experiment": "objectives",
        "profile": profile,
        "run": run.name,
        "objective": run.objective,
        "gen_width": run.gen_width if "electra" in run.objective else None,
        "seed": seed,
        "model_config": cfg,
        "pretrain_config": pcfg,
        "params": objective.encoder.num_params(),
        "params_trained": sum(p.numel() for p in objective.parameters()),
        **out,
        **provenance(torch.device("cpu")),
    }


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
        record = run_one(profile, run, seed, _WORLD[profile])
    record["wall_time_s"] = round(time.perf_counter() - start, 2)
    record["cpu_time_s"] = round(time.process_time() - cpu_start, 2)
    write_results(path, record)
    print(f"wrote {path} ({record['wall_time_s']:.1f} s)", flush=True)
    return record


def run_sweep(
    profile: str, root: Path, seeds: tuple[int, ...] | None = None, jobs: int = 1
) -> dict:
    """Every (run, seed) of the profile, `jobs` at a time; existing files are read."""
    s = settings(profile)
    todo = [(run, seed) for run in s.runs for seed in seeds or s.seeds]
    todo += [(run, seed) for run in s.ablations for seed in seeds or s.ablation_seeds]
    paths = [run_path(root, profile, run.name, seed) for run, seed in todo]
    missing = [(*job, path) for job, path in zip(todo, paths) if not path.exists()]
    start = time.perf_counter()
    map_spawned(_run_and_write, [(profile, *job) for job in missing], jobs)
    runs = [read_results(path) for path in paths]
    summary = summarize(profile, runs, s)
    summary["sweep_wall_s"] = round(time.perf_counter() - start, 2)
    summary["jobs"] = jobs
    write_results(root / profile / "summary.json", summary)
    return summary


def summarize(profile: str, runs: list[dict], s: Settings) -> dict:
    """Scores by run, seed and FLOPs; ELECTRA (width 1/4) against MLM seed by seed."""
    table = {}
    for r in runs:
        points = [{k: p[k] for k in ("step", "flops", *TASKS, "score")} for p in r["points"]]
        table.setdefault(r["run"], {})[str(r["seed"])] = {
            "steps": r["steps"],
            "flops_per_step": r["flops_per_step"],
            "wall_time_s": r.get("wall_time_s"),
            "points": points,
            "final": points[-1],
        }
    versus = {}
    if "mlm" in table and "electra-0.25" in table:
        for seed in table["mlm"]:
            m, e = table["mlm"][seed]["points"], table["electra-0.25"].get(seed, {}).get("points")
            if e:
                versus[seed] = [
                    {"share": c, "electra": pe["score"], "mlm": pm["score"]}
                    for c, pm, pe in zip((0, *s.pretrain.checkpoints), m, e)
                ]
    return {
        "experiment": "objectives",
        "profile": profile,
        "settings": asdict(s),
        "runs": table,
        "electra_vs_mlm": versus,
        "wall_time_s": round(sum(r.get("wall_time_s", 0) for r in runs), 2),
    }


def figures(root: Path, profile: str, outdir: Path) -> list[Path]:
    from lmlib.experiments.objectives_figures import draw_all

    return draw_all(read_results(root / profile / "summary.json"), outdir)
