"""Experiment: which signal should a small student copy from a large teacher?

A teacher Transformer is trained on the multitask corpus (lmlib.data.multitask) and cached on
disk under a hash of everything that determines it, so a rerun reuses it. Students of two sizes
then train side by side for the same steps on the same batches (lmlib.training.students), one
per objective of the ladder: gold labels, the teacher's labels, its soft targets at two
temperatures, soft plus gold, and soft plus gold plus a cosine term on the output states.
Two variants at the larger student size: label noise (a fraction of the training targets
replaced by random words; the teacher learns from the same noisy targets) and
self-distillation (the teacher has the student's own size and training). A second teacher,
trained the same way from other initial weights and batches, teaches a few rungs again. The
data-limited arm trains larger students for several epochs on the first `limited_fraction` of
the text, from either teacher. Every student is scored on a clean held-out stream (loss and
next-token accuracy) and on fact recall, overall and in the tail.

One results file holds every seed: results/distill/<profile>-seed<first seed>.json. The text
and the scoring: lmlib.experiments.distill_world; figures: lmlib.experiments.distill_figures.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch

from lmlib.experiments.distill_world import World, build_world, evaluate
from lmlib.experiments.pool import map_spawned
from lmlib.experiments.results import provenance
from lmlib.experiments.sizes import Size
from lmlib.models.transformer import TransformerConfig, TransformerLM
from lmlib.runtime.device import seed_everything
from lmlib.runtime.files import atomic_write
from lmlib.runtime.profiles import by_profile
from lmlib.training.checkpoint import load_checkpoint, save_checkpoint
from lmlib.training.distill import Objective
from lmlib.training.students import Student, train_side_by_side, training_device
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
SECOND_OBJECTIVES = ("labels", "soft_T1", "soft+gold")  # taught again by the second teacher
LIMITED_OBJECTIVES = ("gold", "labels", "soft_T1", "soft+gold")  # the data-limited arm


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
    limited: Size | None = None  # the data-limited arm's student (None: no such arm)
    limited_fraction: float = 0.05  # of the training text, read for limited_steps
    limited_steps: int = 0
    device: str = "cpu"  # where students and teachers train: "cpu", "cuda" or "auto"


def settings(profile: str) -> Settings:
    return by_profile(
        ci=Settings(Size("teacher", 1, 32, 2), (Size("xs", 1, 8, 2), Size("s", 1, 16, 2)),
                    seeds=2, teacher_steps=40, steps=20, batch_size=8, lr=3e-3, context=32,
                    n_entities=40, n_quotes=8, probe_items=20, noise=0.3, jobs=1,
                    limited=Size("m", 1, 16, 2), limited_steps=20),
        cpu=Settings(Size("teacher", 2, 64, 4), (Size("xs", 1, 16, 2), Size("s", 1, 32, 2)),
                     seeds=3, teacher_steps=1000, steps=400, batch_size=16, lr=3e-3, context=64,
                     n_entities=200, n_quotes=16, probe_items=200, noise=0.3, jobs=2,
                     limited=Size("m", 2, 64, 4), limited_steps=400),
        gpu=Settings(Size("teacher", 4, 256, 8), (Size("xs", 1, 64, 4), Size("s", 2, 96, 4)),
                     seeds=3, teacher_steps=6500, steps=600, batch_size=64, lr=3e-3, context=64,
                     n_entities=1000, n_quotes=32, probe_items=400, noise=0.3, limited_steps=250,
                     limited=Size("m", 3, 192, 6), limited_fraction=0.01, jobs=1, device="auto"),
        profile=profile,
    )  # fmt: skip


def train_config(s: Settings, steps: int, seed: int, device: str | None = None) -> TrainConfig:
    """Training of students and teachers: on `device` (default s.device; "auto" picks CUDA
    where there is one, lmlib.runtime.device.pick_device)."""
    return TrainConfig(
        steps=steps,
        batch_size=s.batch_size,
        lr=s.lr,
        warmup_steps=max(1, steps // 20),
        eval_every=steps,
        eval_batches=2,
        seed=seed,
        device=device or s.device,
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


# ---- teachers --------------------------------------------------------------------------------


def teacher_specs(s: Settings) -> dict[str, tuple[Size, int, bool, int]]:
    """name -> (size, steps, learns from the noisy targets, seed of its weights and batches)."""
    big, small = s.teacher, s.students[-1]
    return {
        "teacher": (big, s.teacher_steps, False, 1000),
        "teacher2": (big, s.teacher_steps, False, 2000),
        "teacher_noisy": (big, s.teacher_steps, True, 1000),
        "self": (small, s.steps, False, 1000),
    }


# Settings that change no teacher, so that changing them keeps the cache
NOT_TEACHER = ("seeds", "jobs", "limited", "limited_fraction", "limited_steps", "device")


def cache_dir() -> Path:
    root = os.environ.get("LMLIB_CACHE_DIR") or Path.home() / ".cache" / "lmlib"
    return Path(root) / "distill"


def teacher_key(s: Settings, name: str) -> str:
    """A hash of everything that determines the teacher and its scores (not seeds or jobs)."""
    fields = {k: v for k, v in asdict(s).items() if k not in NOT_TEACHER}
    text = json.dumps([name, teacher_specs(s)[name], fields], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def get_teacher(
    s: Settings, name: str, world: World | None = None, cache: bool | Path = True
) -> tuple[TransformerLM, dict]:
    """The teacher `name` and its record: from the cache, or trained (gold only) and cached.

    With cache=False it is always trained and nothing is written; with a folder (a lab's
    checkpoints), it is kept there, in a file whose name also says the device it trains on.
    """
    world = world or build_world(s)
    size, steps, noisy, seed = teacher_specs(s)[name]
    file = f"{name}-{teacher_key(s, name)}"
    if isinstance(cache, Path):
        file += "-" + training_device(train_config(s, steps, seed)).type
    path = (cache if isinstance(cache, Path) else cache_dir()) / f"{file}.pt"
    model = new_model(s, size, world.corpus.tokenizer.vocab_size, seed=seed)
    if cache and path.exists():
        state = load_checkpoint(path)
        model.load_state_dict(state["model"])
        return model.eval(), {**state["record"], "cached": True}
    student = Student(name, model, Objective(), lr_for(s, size), noisy=noisy)
    wall = train_side_by_side(
        [student], {}, world.ids, train_config(s, steps, seed), world.noisy_targets
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
        state = {k: v.cpu() for k, v in model.state_dict().items()}
        save_checkpoint({"model": state, "record": record}, path)
    return model.eval(), {**record, "cached": False}


# ---- students --------------------------------------------------------------------------------


def roster(s: Settings) -> list[tuple[Size, str, str | None, bool, str]]:
    """(size, objective, teacher, noisy, variant) of every student of one seed that reads the
    whole training text; the data-limited arm's are in `limited_roster`."""
    ladder = [(size, obj, "teacher", False, "ladder") for size in s.students for obj in OBJECTIVES]
    big = s.students[-1]
    second = [(big, obj, "teacher2", False, "teacher2") for obj in SECOND_OBJECTIVES]
    noisy = [(big, obj, "teacher_noisy", True, "noise") for obj in NOISE_OBJECTIVES]
    return [*ladder, *second, *noisy, (big, "soft+gold", "self", False, "self")]


def limited_roster(s: Settings) -> list[tuple[Size, str, str | None, bool, str]]:
    """The data-limited arm: gold, then every other objective from each full-data teacher."""
    if s.limited is None:
        return []
    taught = [(s.limited, obj, t, False, v) for t, v in (("teacher", "limited"),
              ("teacher2", "limited2")) for obj in LIMITED_OBJECTIVES if obj != "gold"]  # fmt: skip
    return [(s.limited, "gold", None, False, "limited"), *taught]


def _students(s: Settings, seed: int, vocab_size: int, roster: list) -> list[Student]:
    out = []
    for size, obj, teacher, noisy, variant in roster:
        # every student of one size starts from the same weights in a seed
        model = new_model(s, size, vocab_size, seed=seed * 1000 + _sizes(s).index(size))
        out.append(Student(f"{variant}/{size.name}/{obj}", model, OBJECTIVES[obj],
                           lr_for(s, size), teacher, noisy))  # fmt: skip
    return out


def _sizes(s: Settings) -> list[Size]:
    return [*s.students, *([s.limited] if s.limited is not None else [])]


def train_seed(s: Settings, seed: int) -> list[dict]:
    """Every student of one seed (one thread): those of the whole text side by side on the same
    batches, then the data-limited arm's side by side on batches of its fraction of the text."""
    torch.set_num_threads(1)
    cpu_start = time.process_time()
    world = build_world(s)
    V = world.corpus.tokenizer.vocab_size
    teachers = {name: get_teacher(s, name, world)[0] for name in teacher_specs(s)}
    groups = [(roster(s), world.ids, s.steps), (limited_roster(s), world.limited_ids,
                                                 s.limited_steps)]  # fmt: skip
    rows = []
    for plan, ids, steps in groups:
        if not plan:
            continue
        students = _students(s, seed, V, plan)
        used = {name: teachers[name] for name in {p[2] for p in plan if p[2] is not None}}
        cfg = train_config(s, steps, seed)
        noisy = world.noisy_targets if any(p[3] for p in plan) else None
        wall = train_side_by_side(students, used, ids, cfg, noisy)
        for st, (size, obj, teacher, noisy, variant) in zip(students, plan):
            rows.append({"variant": variant, "size": size.name, "objective": obj, "seed": seed,
                         "teacher": teacher if obj != "gold" else None, "noisy": noisy,
                         "params": st.model.num_params(), "steps": steps,
                         "epochs": steps * s.batch_size * s.context / len(ids),
                         "final_train_loss": sum(st.losses[-50:]) / len(st.losses[-50:]),
                         "side_by_side_wall_s": round(wall, 2),
                         **evaluate(st.model, world, s)})  # fmt: skip
    cpu = round(time.process_time() - cpu_start, 2)
    return [dict(r, seed_process_cpu_s=cpu) for r in rows]


def _teacher_record(s: Settings, name: str) -> dict:
    torch.set_num_threads(1)
    start = time.process_time()
    record = get_teacher(s, name)[1]
    return {**record, "process_cpu_s": round(time.process_time() - start, 2)}


def _cached_seed(s: Settings, seed: int) -> list[dict]:
    """`train_seed`, kept on disk under a hash of the settings and the seed, so that a stopped
    experiment resumes with the seeds it has not finished."""
    fields = {k: v for k, v in asdict(s).items() if k != "jobs"}
    key = json.dumps([seed, fields], sort_keys=True, default=str)
    path = cache_dir() / f"students-{hashlib.sha256(key.encode()).hexdigest()[:16]}.json"
    if path.exists():
        return json.loads(path.read_text())
    rows = train_seed(s, seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path, "w") as f:
        json.dump(rows, f)
    return rows


def run(profile: str, seed: int = 0) -> dict:
    """Teachers (`jobs` processes), then every seed's students (one process per seed)."""
    s = settings(profile)
    start = time.perf_counter()
    names = list(teacher_specs(s))
    teachers = dict(zip(names, map_spawned(_teacher_record, [(s, n) for n in names], s.jobs)))
    teacher_wall = time.perf_counter() - start
    seeds = [seed + i for i in range(s.seeds)]
    runs = map_spawned(_cached_seed, [(s, sd) for sd in seeds], s.jobs)
    record = {
        "experiment": "distill",
        "profile": profile,
        "seeds": seeds,
        "settings": s,
        "objectives": OBJECTIVES,
        "ladder": list(OBJECTIVES),  # in order (the results file sorts dict keys)
        "noise_objectives": list(NOISE_OBJECTIVES),
        "limited_objectives": list(LIMITED_OBJECTIVES),
        "teachers": teachers,
        "students": [row for rows in runs for row in rows],
        "teacher_phase_wall_s": round(teacher_wall, 2),
        "student_phase_wall_s": round(time.perf_counter() - start - teacher_wall, 2),
        # CPU seconds in the worker processes: the teachers' and each seed's (cached ones too)
        "workers_cpu_s": sum(t["process_cpu_s"] for t in teachers.values())
        + sum(rows[0]["seed_process_cpu_s"] for rows in runs),
        **provenance(training_device(train_config(s, 1, 0))),
    }
    from lmlib.experiments.distill_figures import comparisons

    return {**record, "comparisons": comparisons(_plain(record))}


def _plain(record: dict) -> dict:
    """The record as its results file will hold it (dataclasses as dicts)."""
    return json.loads(json.dumps(record, default=asdict))


def lab_settings(profile: str) -> Settings:
    """The lab's smaller version: one seed, one student size's ladder and the noise variant."""
    s = settings(profile)
    s1 = replace(s, seeds=1, jobs=1)
    return by_profile(ci=s1, cpu=replace(s1, teacher_steps=600, steps=300), gpu=s1, profile=profile)


def figures(record: dict, outdir: Path) -> list[Path]:
    from lmlib.experiments.distill_figures import draw_all

    return draw_all(_plain(record), outdir)  # dataclasses as in the results file
