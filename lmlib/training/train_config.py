"""A training run's settings (TrainConfig), the ones among them that set its numbers, and the
learning-rate schedule they define: linear warmup, then cosine decay."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 1000
    batch_size: int = 32
    lr: float = 1e-3
    warmup_steps: int = 100
    min_lr_ratio: float = 0.1  # the cosine ends at lr * min_lr_ratio
    weight_decay: float = 0.1
    beta2: float = 0.99
    grad_clip: float = 1.0
    eval_every: int = 100
    eval_batches: int = 20
    seed: int = 0
    # How the run is carried out; these may differ on resume. Only `device` can change the
    # numbers (another device rounds differently); the others never do.
    device: str = "auto"
    compile: bool = False
    checkpoint_path: str | None = None
    checkpoint_every: int = 0  # 0: only at the end and on interruption
    progress: bool = True
    data_parallel: bool = True  # under torchrun, split each batch across its processes

    def __post_init__(self):
        for name in ("steps", "batch_size", "eval_every", "eval_batches"):
            if getattr(self, name) < 1:
                raise ValueError(f"TrainConfig.{name} must be >= 1, got {getattr(self, name)}")
        rules = {
            "lr": (self.lr > 0, "> 0"),
            "min_lr_ratio": (0 <= self.min_lr_ratio <= 1, "between 0 and 1"),
            "warmup_steps": (self.warmup_steps >= 0, ">= 0"),
            "grad_clip": (self.grad_clip > 0, "> 0 (a negative clip would ascend the loss)"),
            "weight_decay": (self.weight_decay >= 0, ">= 0"),
            "beta2": (0 <= self.beta2 < 1, "in [0, 1)"),
            "checkpoint_every": (self.checkpoint_every >= 0, ">= 0 (0: only at the end)"),
        }
        for name, (ok, rule) in rules.items():
            if not ok:
                raise ValueError(f"TrainConfig.{name} must be {rule}, got {getattr(self, name)}")


_RUN_FIELDS = {"device", "compile", "checkpoint_path", "checkpoint_every", "progress"}
_RUN_FIELDS |= {"data_parallel"}


def math_settings(cfg: TrainConfig) -> dict:
    """The fields that determine the numbers a run produces (compared on resume)."""
    return {f.name: getattr(cfg, f.name) for f in fields(cfg) if f.name not in _RUN_FIELDS}


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Linear warmup to cfg.lr over warmup_steps, then cosine decay to lr * min_lr_ratio."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    progress = (step - cfg.warmup_steps) / max(1, cfg.steps - cfg.warmup_steps)
    cosine = 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))
    return cfg.lr * (cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * cosine)
