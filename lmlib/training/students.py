"""Training students side by side: the same batches, each its own objective and optimizer.

Every student sees exactly the same windows of the training text in the same order, so two
students differ only in what they are asked to copy (lmlib.training.distill.Objective). Teachers
are frozen: each one runs once per step and all its students read the result. With label noise,
a student reads the clean text but is scored against targets of which a fraction was replaced.

Dims: B batch, T tokens (the context), V vocabulary, D a model's width.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from lmlib.runtime.device import pick_device
from lmlib.training.distill import Objective, StateProjection, distillation_loss, logits_and_states
from lmlib.training.flops import record, work_flops
from lmlib.training.train import TrainConfig, lr_at


@dataclass
class Student:
    """A model in training: what it copies, from which teacher, and its loss curve."""

    name: str
    model: nn.Module
    objective: Objective
    lr: float
    teacher: str | None = None  # a key of the teachers passed to train_side_by_side
    noisy: bool = False  # scored against the corrupted targets
    projection: StateProjection | None = None  # set up by train_side_by_side for a cosine term
    losses: list[float] = field(default_factory=list)


def training_device(cfg: TrainConfig) -> torch.device:
    """The device cfg.device names ("auto": the best available); a clear error if it is absent."""
    return pick_device(None if cfg.device == "auto" else cfg.device)


def corrupt_targets(ids: Tensor, fraction: float, vocab_size: int, seed: int) -> Tensor:
    """(N,) token ids -> (N - 1,) next-token targets, `fraction` of them replaced by uniformly
    random tokens. The same position keeps the same wrong target every time it is read."""
    if not 0 <= fraction <= 1:
        raise ValueError(f"fraction must be in [0, 1], got {fraction}")
    gen = torch.Generator().manual_seed(seed)
    targets = ids[1:].clone()
    hit = torch.rand(len(targets), generator=gen) < fraction
    targets[hit] = torch.randint(vocab_size, (int(hit.sum()),), generator=gen)
    return targets


def _check(students: list[Student], teachers: dict[str, nn.Module]) -> None:
    names = [s.name for s in students]
    if len(set(names)) != len(names):
        raise ValueError(f"student names must be unique, got {names}")
    for s in students:
        if s.objective.needs_teacher and s.teacher not in teachers:
            raise ValueError(
                f"student {s.name!r} learns from teacher {s.teacher!r}, which is not among "
                f"the teachers passed ({sorted(teachers)})"
            )


def train_side_by_side(
    students: list[Student],
    teachers: dict[str, nn.Module],
    ids: Tensor,
    cfg: TrainConfig,
    noisy_targets: Tensor | None = None,
) -> float:
    """Train every student for cfg.steps on (cfg.batch_size, context) windows of `ids`, in place.

    Each student follows cfg's warmup and cosine schedule from its own peak lr, with AdamW and
    gradient clipping as in lmlib.training.train. Students and teachers move to cfg.device
    ("auto": CUDA where there is one, see lmlib.runtime.device.pick_device) and stay there.
    Returns the wall time in seconds.
    """
    _check(students, teachers)
    if any(s.noisy for s in students) and noisy_targets is None:
        raise ValueError("a noisy student needs noisy_targets (see corrupt_targets)")
    context = students[0].model.context
    if any(s.model.context != context for s in students):
        raise ValueError("all students must share one context length")
    device = training_device(cfg)
    optimizers = []
    for s in students:
        s.model.to(device)
        teacher = teachers.get(s.teacher)
        if s.objective.cosine > 0 and s.projection is None:
            widths = (s.model.config.d_model, teacher.config.d_model)
            s.projection = StateProjection(*widths) if widths[0] != widths[1] else None
        if s.projection is not None:
            s.projection.to(device)
        params = [*s.model.parameters(), *(s.projection.parameters() if s.projection else [])]
        opt = torch.optim.AdamW(
            params, lr=s.lr, betas=(0.9, cfg.beta2), weight_decay=cfg.weight_decay
        )
        optimizers.append((opt, params))
        s.model.train()
    for t in teachers.values():
        t.to(device).eval()
    gen = torch.Generator().manual_seed(cfg.seed)
    start = time.perf_counter()
    for step in tqdm(range(cfg.steps), disable=not cfg.progress, desc="students", unit="step"):
        starts = torch.randint(len(ids) - context - 1, (cfg.batch_size,), generator=gen)
        x = ids.unfold(0, context, 1)[starts]  # (B, T)
        y = ids[1:].unfold(0, context, 1)[starts]  # (B, T)
        y_noisy = noisy_targets.unfold(0, context, 1)[starts] if noisy_targets is not None else None
        x, y = x.to(device), y.to(device)
        y_noisy = y_noisy.to(device) if y_noisy is not None else None
        with torch.no_grad():
            taught = {k: logits_and_states(t, x) for k, t in teachers.items()}
        for s, (opt, params) in zip(students, optimizers):
            t_logits, t_states = taught.get(s.teacher, (None, None))
            for group in opt.param_groups:
                group["lr"] = lr_at(step, cfg) * s.lr / cfg.lr
            logits, states = logits_and_states(s.model, x)
            w = s.projection.weight if s.projection is not None else None
            target = y_noisy if s.noisy else y
            loss, _ = distillation_loss(s.objective, logits, target, t_logits, states, t_states, w)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(params, cfg.grad_clip)
            opt.step()
            s.losses.append(loss.item())
    tokens = cfg.batch_size * context
    for model, trained in [
        *((s.model, True) for s in students),
        *((t, False) for t in teachers.values()),
    ]:
        if hasattr(model, "flops_per_token"):  # for `lmlib budget`; a teacher only runs forward
            fpt = model.flops_per_token(context) / (1 if trained else 3)
            record(work_flops(fpt, tokens, cfg.steps, 0, 0), tokens * cfg.steps if trained else 0)
    return time.perf_counter() - start
