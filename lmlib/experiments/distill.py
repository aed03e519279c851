"""Experiment: which signal should a small student copy from a large teacher?

A teacher Transformer is trained on the multitask corpus (lmlib.data.multitask) and cached on
disk under a hash of everything that determines it, so a rerun reuses it. Students of two sizes
then train side by side for the same steps on the same batches (lmlib.training.students), one
per objective of the ladder: gold labels, the teacher's labels, its soft targets at two
temperatures, soft plus gold, and soft plus gold plus a cosine term on the output states.
Two variants at the larger student size: label noise (a fraction of the training targets
replaced by random words; the teacher learns from the same noisy targets) and
self-distillation (the teacher has the student's own size and training). Every student is
scored on a clean held-out stream (loss) and on fact recall, overall and in the tail.

One results file holds every seed: results/distill/<profile>-seed<first seed>.json.
Figures: lmlib.experiments.distill_figures.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch

from lmlib.analysis.probes import facts_by_count, run_probe, standard_probes, task_losses
from lmlib.data.multitask import MultitaskCorpus
from lmlib.experiments.pool import map_spawned
from lmlib.experiments.results import provenance
from lmlib.experiments.sizes import Size
from lmlib.models.transformer import TransformerConfig, TransformerLM
from lmlib.runtime.device import seed_everything
from lmlib.runtime.profiles import by_profile
from lmlib.training.checkpoint import load_checkpoint, save_checkpoint
from lmlib.training.distill import Objective
from lmlib.training.students import Student, corrupt_targets, train_side_by_side
from lmlib.training.train import TrainConfig

# The ladder, lightest signal first. Soft plus gold weighs the two equally (the soft term
# carries its T^2, so the balance holds at any temperature).
OBJECTIVES = {
    "gold": Objective(),
    "labels": Objective(gold=0.0, labels=1.0),
    "soft_T1": Objective(gold=0.0, soft=1.0, temperature=1.0),
    "soft_T4": Objective(gold=0.0, soft=1.0, temperature=4.0),
    "soft+gold": Objective(gold=0.5, soft=0.5, temperature=2.0),
    "soft+gold+cos": Objective(gold=0.5, soft=0.5, cosine=0.5, temperature=2.0),
}
NOISE_OBJECTIVES = ("gold", "labels", "soft+gold")
TAIL = (1, 16)  # tail facts: seen at least 1 and fewer than 16 times in training


@dataclass(frozen=True)
class Settings:
    teacher: Size
    students: tuple[Size, Size]  # the smaller first; the variants use the larger
    seeds: int  # student seeds: seed, seed + 1, ...
    teacher_steps: int
    steps: int  # every student's steps (the self-distillation teacher's too)
    batch_size: int
    lr: float  # peak lr at d_model = 128, scaled by (128 / d_model)^0.5
    context: int
    n_entities: int
    n_quotes: int
    probe_items: int
    noise: float  # fraction of training targets replaced in the label-noise variant
    jobs: int  # processes (one thread each)


def settings(profile: str) -> Settings:
    return by_profile(
        ci=Settings(Size("teacher", 1, 32, 2), (Size("xs", 1, 8, 2), Size("s", 1, 16, 2)),
                    seeds=2, teacher_steps=40, steps=20, batch_size=8, lr=3e-3, context=32,
                    n_entities=40, n_quotes=8, probe_items=20, noise=0.3, jobs=1),
        cpu=Settings(Size("teacher", 2, 64, 4), (Size("xs", 1, 16, 2), Size("s", 1, 32, 2)),
                     seeds=2, teacher_steps=1000, steps=400, batch_size=16, lr=3e-3, context=64,
                     n_entities=200, n_quotes=16, probe_items=200, noise=0.3, jobs=2),
        gpu=Settings(Size("teacher", 3, 96, 4), (Size("xs", 1, 16, 2), Size("s", 1, 32, 2)),
                     seeds=3, teacher_steps=2000, steps=800, batch_size=16, lr=3e-3, context=64,
                     n_entities=400, n_quotes=32, probe_items=400, noise=0.3, jobs=1),
        profile=profile,
    )  # fmt: skip


def train_config(s: Settings, steps: int, seed: int) -> TrainConfig:
    return TrainConfig(
        steps=steps,
        batch_size=s.batch_size,
        lr=s.lr,
        warmup_steps=max(1, steps // 20),
        eval_every=steps,
        eval_batches=2,
        seed=seed,
        device="cpu",
        progress=False,
    )


def lr_for(s: Settings, size: Size) -> float:
    return min(1e-2, s.lr * (128 / size.d_model) ** 0.5)


def new_model(s: Settings, size: Size, vocab_size: int, seed: int) -> TransformerLM:
    seed_everything(seed)
    cfg = TransformerConfig(
        vocab_size, s.context, size.d_model, size.n_heads, size.n_layers, pos="rope"
    )
    return TransformerLM(cfg)


@dataclass(frozen=True)
class World:
    corpus: MultitaskCorpus
    ids: torch.Tensor  # the training text
    noisy_targets: torch.Tensor  # its next-token targets with `noise` of them replaced
    fact_counts: list[int]  # times each fact occurs in the training text
    held_out: object  # a clean held-out Stream


def build_world(s: Settings) -> World:
    corpus = MultitaskCorpus(s.n_entities, s.n_quotes, seed=0)
    n = max(s.teacher_steps, s.steps) * s.batch_size * s.context + s.context + 1
    stream = corpus.stream(n, seed=0)
    noisy = corrupt_targets(stream.ids, s.noise, corpus.tokenizer.vocab_size, seed=1)
    held_out = corpus.stream(64 * s.context + 1, seed=1)
    return World(corpus, stream.ids, noisy, stream.fact_counts, held_out)


def evaluate(model: TransformerLM, world: World, s: Settings) -> dict:
    """Clean held-out loss (and by family), fact recall overall, in the tail, by count."""
    facts = run_probe(model, standard_probes(world.corpus, s.probe_items)["facts"])
    counts = torch.tensor(world.fact_counts)
    tail = (counts >= TAIL[0]) & (counts < TAIL[1])
    held = task_losses(model, world.held_out, s.context)
    return {
        "held_out_loss": held["loss"],
        "tasks": held["tasks"],
        "fact_recall": facts["exact"].mean().item(),
        "tail_recall": facts["exact"][tail].mean().item(),
        "n_tail_facts": int(tail.sum()),
        "facts_by_count": facts_by_count(facts, world.fact_counts),
    }


# ---- teachers --------------------------------------------------------------------------------


def teacher_specs(s: Settings) -> dict[str, tuple[Size, int, bool]]:
    """name -> (size, steps, learns from the noisy targets)."""
    big, small = s.teacher, s.students[-1]
    return {
        "teacher": (big, s.teacher_steps, False),
        "teacher_noisy": (big, s.teacher_steps, True),
        "self": (small, s.steps, False),
    }


def cache_dir() -> Path:
    root = os.environ.get("LMLIB_CACHE_DIR") or Path.home() / ".cache" / "lmlib"
    return Path(root) / "distill"


def teacher_key(s: Settings, name: str) -> str:
    """A hash of everything that determines the teacher and its scores (not seeds or jobs)."""
    fields = {k: v for k, v in asdict(s).items() if k not in ("seeds", "jobs")}
    text = json.dumps([name, teacher_specs(s)[name], fields], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def get_teacher(
    s: Settings, name: str, world: World | None = None, cache: bool = True
) -> tuple[TransformerLM, dict]:
    """The teacher `name` and its record: from the cache, or trained (gold only) and cached.

    With cache=False it is always trained and nothing is written.
    """
    world = world or build_world(s)
    size, steps, noisy = teacher_specs(s)[name]
    path = cache_dir() / f"{name}-{teacher_key(s, name)}.pt"
    model = new_model(s, size, world.corpus.tokenizer.vocab_size, seed=1000)
    if cache and path.exists():
        state = load_checkpoint(path)
        model.load_state_dict(state["model"])
        return model.eval(), {**state["record"], "cached": True}
    student = Student(name, model, Objective(), lr_for(s, size), noisy=noisy)
    wall = train_side_by_side(
        [student], {}, world.ids, train_config(s, steps, 1000), world.noisy_targets
    )
    record = {
        "name": name,
        "size": size.name,
        "steps": steps,
        "noisy": noisy,
        "params": model.num_params(),
        "train_wall_s": round(wall, 2),
        **evaluate(model, world, s),
    }
    if cache:
        save_checkpoint({"model": model.state_dict(), "record": record}, path)
    return model.eval(), {**record, "cached": False}


# ---- students --------------------------------------------------------------------------------


def roster(s: Settings) -> list[tuple[Size, str, str | None, bool, str]]:
    """(size, objective, teacher, noisy, variant) of every student of one seed."""
    ladder = [(size, obj, "teacher", False, "ladder") for size in s.students for obj in OBJECTIVES]
    big = s.students[-1]
    noisy = [(big, obj, "teacher_noisy", True, "noise") for obj in NOISE_OBJECTIVES]
    return [*ladder, *noisy, (big, "soft+gold", "self", False, "self")]


def train_seed(s: Settings, seed: int) -> list[dict]:
    """Every student of one seed, side by side on the same batches (one thread)."""
    torch.set_num_threads(1)
    cpu_start = time.process_time()
    world = build_world(s)
    V = world.corpus.tokenizer.vocab_size
    teachers = {name: get_teacher(s, name, world)[0] for name in teacher_specs(s)}
    students = []
    for size, obj, teacher, noisy, variant in roster(s):
        # every student of one size starts from the same weights in a seed
        model = new_model(s, size, V, seed=seed * 1000 + s.students.index(size))
        name = f"{variant}/{size.name}/{obj}"
        students.append(
            Student(
                name,
                model,
                OBJECTIVES[obj],
                lr_for(s, size),
                None if obj == "gold" else teacher,
                noisy,
            )
        )
    wall = train_side_by_side(
        students, teachers, world.ids, train_config(s, s.steps, seed), world.noisy_targets
    )
    rows = []
    for st, (size, obj, teacher, noisy, variant) in zip(students, roster(s)):
        rows.append(
            {
                "variant": variant,
                "size": size.name,
                "objective": obj,
                "seed": seed,
                "teacher": teacher if obj != "gold" else None,
                "noisy": noisy,
                "params": st.model.num_params(),
                "final_train_loss": sum(st.losses[-50:]) / len(st.losses[-50:]),
                **evaluate(st.model, world, s),
            }
        )
    cpu = round(time.process_time() - cpu_start, 2)
    return [dict(r, side_by_side_wall_s=round(wall, 2), seed_process_cpu_s=cpu) for r in rows]


def _teacher_record(s: Settings, name: str) -> dict:
    torch.set_num_threads(1)
    start = time.process_time()
    record = get_teacher(s, name)[1]
    return {**record, "process_cpu_s": round(time.process_time() - start, 2)}


def run(profile: str, seed: int = 0) -> dict:
    """Teachers (two processes), then every seed's students (one process per seed)."""
    s = settings(profile)
    start = time.perf_counter()
    names = list(teacher_specs(s))
    teachers = dict(zip(names, map_spawned(_teacher_record, [(s, n) for n in names], s.jobs)))
    teacher_wall = time.perf_counter() - start
    seeds = [seed + i for i in range(s.seeds)]
    runs = map_spawned(train_seed, [(s, sd) for sd in seeds], s.jobs)
    record = {
        "experiment": "distill",
        "profile": profile,
        "seeds": seeds,
        "settings": s,
        "objectives": OBJECTIVES,
        "ladder": list(OBJECTIVES),  # in order (the results file sorts dict keys)
        "noise_objectives": list(NOISE_OBJECTIVES),
        "teachers": teachers,
        "students": [row for rows in runs for row in rows],
        "teacher_phase_wall_s": round(teacher_wall, 2),
        "student_phase_wall_s": round(time.perf_counter() - start - teacher_wall, 2),
        **provenance(torch.device("cpu")),
    }
    from lmlib.experiments.distill_figures import comparisons

    return {**record, "comparisons": comparisons(_plain(record))}


def _plain(record: dict) -> dict:
    """The record as its results file will hold it (dataclasses as dicts)."""
    return json.loads(json.dumps(record, default=asdict))


def lab_settings(profile: str) -> Settings:
    """The lab's smaller version: one seed, one student size's ladder and the noise variant."""
    s = settings(profile)
    return by_profile(
        ci=replace(s, seeds=1),
        cpu=replace(s, teacher_steps=600, steps=300, seeds=1, jobs=1),
        gpu=replace(s, seeds=1, jobs=1),
        profile=profile,
    )


def figures(record: dict, outdir: Path) -> list[Path]:
    from lmlib.experiments.distill_figures import draw_all

    return draw_all(_plain(record), outdir)  # dataclasses as in the results file
