"""Pretraining an encoder to a FLOP budget, with downstream scores at checkpoints.

Dims: B batch, T tokens (context), N tokens in the stream.

An objective is a module whose ``forward(idx, generator)`` returns a dict with a "loss", which
has an ``encoder`` (the model kept) and a ``flops_per_token(T)`` that counts everything a step
computes (ELECTRA's generator included). Two objectives given the same budget therefore get
different numbers of steps: the comparison is at equal compute, not at equal steps.

The data order (which windows, in which order) comes from one generator seeded by ``cfg.seed``
and the objective's draws (masks, samples) from another: two objectives trained with one seed
read the same batches, step for step, however many draws each makes. The windows are drawn on
the CPU, so the data order is the same on every device.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from lmlib.runtime.device import autocast, make_grad_scaler
from lmlib.training.checkpoint import resumed, save_checkpoint
from lmlib.training.flops import record

OBJECTIVE_SEED = 7919  # added to cfg.seed for the objective's own draws


@dataclass(frozen=True)
class PretrainConfig:
    flops: float  # the budget: training FLOPs (forward + backward) of the whole run
    context: int = 32
    batch_size: int = 32
    lr: float = 2e-3
    warmup_steps: int = 20
    weight_decay: float = 0.01
    checkpoints: tuple[float, ...] = (0.25, 0.5, 1.0)  # budget shares where the encoder is scored
    seed: int = 0
    progress: bool = False

    def __post_init__(self):
        if self.flops <= 0 or self.context < 2 or self.batch_size < 1 or self.lr <= 0:
            raise ValueError(
                f"need flops > 0, context >= 2, batch_size >= 1, lr > 0; got {self.flops}, "
                f"{self.context}, {self.batch_size}, {self.lr}"
            )
        if not self.checkpoints or any(not 0 < c <= 1 for c in self.checkpoints):
            raise ValueError(f"checkpoints must be budget shares in (0, 1], got {self.checkpoints}")


def steps_for(objective: nn.Module, cfg: PretrainConfig) -> int:
    """How many steps of ``objective`` the budget pays for (at least 1)."""
    per_step = objective.flops_per_token(cfg.context) * cfg.batch_size * cfg.context
    return max(1, int(cfg.flops // per_step))


def windows(ids: Tensor, batch_size: int, context: int, generator: torch.Generator) -> Tensor:
    """(N,) stream -> (B, T) random windows of it."""
    if len(ids) <= context:
        raise ValueError(f"the stream has {len(ids)} tokens, fewer than context={context} + 1")
    starts = torch.randint(len(ids) - context, (batch_size,), generator=generator)
    return ids[starts[:, None] + torch.arange(context)]


def pretrain(
    objective: nn.Module,
    ids: Tensor,
    cfg: PretrainConfig,
    evaluate: Callable[[nn.Module], dict[str, float]],
    device: str | torch.device = "cpu",
    checkpoint: str | Path | None = None,
) -> dict:
    """Train ``objective`` on windows of ``ids`` until the budget is spent; score
    ``objective.encoder`` with ``evaluate`` before training and at each checkpoint.
    ``device``: where the objective trains (moved there); on CUDA with mixed precision
    (lmlib.runtime.device.autocast), on the CPU in fp32. With ``checkpoint``, a file, the run is
    saved there after each scoring; called again with the same arguments after a stop, it
    carries on from the last save and ends with the same numbers.

    Returns {"steps", "flops_per_step", "points": [{"step", "flops", "train_s", **scores}],
    "loss": the mean training loss of each tenth of the run}."""
    steps = steps_for(objective, cfg)
    per_step = objective.flops_per_token(cfg.context) * cfg.batch_size * cfg.context
    at = sorted({max(1, round(c * steps)) for c in cfg.checkpoints})
    device = torch.device(device)
    objective.to(device)
    data_g = torch.Generator().manual_seed(cfg.seed)
    draw_g = torch.Generator(device=device).manual_seed(cfg.seed + OBJECTIVE_SEED)
    scaler = make_grad_scaler(device)
    decay = [p for p in objective.parameters() if p.dim() >= 2]
    rest = [p for p in objective.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": rest, "weight_decay": 0}],
        lr=cfg.lr,
        betas=(0.9, 0.98),
    )
    run = {"cfg": repr(cfg), "objective": type(objective).__name__, "device": str(device)}

    def save() -> None:
        if checkpoint is not None:
            save_checkpoint({"run": run, "objective": objective.state_dict(), "points": points,
                             "optimizer": opt.state_dict(), "scaler": scaler.state_dict(),
                             "data_g": data_g.get_state(), "draw_g": draw_g.get_state(),
                             "losses": losses, "train_s": train_s}, checkpoint)  # fmt: skip

    losses: list[float] = []
    train_s = 0.0
    if state := resumed(checkpoint, run, "pretraining"):
        objective.load_state_dict(state["objective"])
        opt.load_state_dict(state["optimizer"])
        scaler.load_state_dict(state["scaler"])
        data_g.set_state(state["data_g"])
        draw_g.set_state(state["draw_g"])
        points, losses, train_s = state["points"], state["losses"], state["train_s"]
    else:
        points = [{"step": 0, "flops": 0.0, "train_s": 0.0, **evaluate(objective.encoder)}]
        save()
    objective.train()
    first = len(losses) + 1
    for step in tqdm(
        range(first, steps + 1), disable=not cfg.progress, desc="pretrain", unit="step"
    ):
        start = time.perf_counter()
        for group in opt.param_groups:
            group["lr"] = cfg.lr * min(1.0, step / max(1, cfg.warmup_steps))
        batch = windows(ids, cfg.batch_size, cfg.context, data_g).to(device)
        with autocast(device):
            out = objective(batch, draw_g)
        opt.zero_grad(set_to_none=True)
        scaler.scale(out["loss"]).backward()
        scaler.unscale_(opt)
        torch.nn.utils.clip_grad_norm_(objective.parameters(), 1.0)
        scaler.step(opt)
        scaler.update()
        train_s += time.perf_counter() - start
        losses.append(float(out["loss"].detach()))
        if step in at:
            scores = evaluate(objective.encoder)
            points.append({"step": step, "flops": step * per_step, "train_s": train_s, **scores})
            save()
    record(steps * per_step, steps * cfg.batch_size * cfg.context)  # for `lmlib budget`
    tenth = max(1, steps // 10)
    curve = [
        sum(losses[i : i + tenth]) / len(losses[i : i + tenth]) for i in range(0, steps, tenth)
    ]
    return {"steps": steps, "flops_per_step": per_step, "points": points, "loss": curve}
