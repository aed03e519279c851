"""The training loop every lab uses: AdamW, warmup + cosine schedule, clipping, periodic eval.

Works with any `forward(idx) -> logits` model that has a `context` attribute. AdamW is the fused
kernel on CPU and CUDA; on CUDA training runs in mixed precision (bf16, or fp16 with a grad
scaler). `compile=True` tries torch.compile and falls back to eager if it fails. With
`checkpoint_path` set, it saves atomically every `checkpoint_every` steps, at the end, and when
interrupted (Ctrl-C or the notebook's stop button), and `resume=True` continues exactly where
the checkpoint left off, together with any plain data the caller keeps beside the run (`keep`,
e.g. snapshots taken by on_step). Its settings (TrainConfig) and schedule (lr_at) live in
lmlib.training.train_config.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import nn
from tqdm.auto import tqdm

from lmlib.data.shakespeare import get_batch
from lmlib.runtime.device import (
    autocast,
    enable_fast_matmul,
    evaluating,
    make_grad_scaler,
    pick_device,
)
from lmlib.training import distributed
from lmlib.training.checkpoint import CheckpointError, check_same, load_checkpoint, save_checkpoint
from lmlib.training.flops import record, work_flops
from lmlib.training.loss import next_token_loss
from lmlib.training.stopping import StopRequest
from lmlib.training.train_config import TrainConfig, lr_at, math_settings


@dataclass
class History:
    """Metrics as plain lists, ready to plot: one entry per step, one per evaluation."""

    step: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    eval_step: list[int] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    train_time: list[float] = field(default_factory=list)  # seconds of training at each eval
    interrupted: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


@torch.no_grad()
def evaluate(
    model: nn.Module,
    data: torch.Tensor,
    batch_size: int,
    n_batches: int,
    seed: int = 1234,
    device: torch.device | str | None = None,
) -> float:
    """Mean next-token loss on n_batches fixed random windows of `data` (the same every call)."""
    device = torch.device(device) if device else next(model.parameters()).device
    gen = torch.Generator().manual_seed(seed)
    total = 0.0
    with evaluating(model):
        for _ in range(n_batches):
            x, y = get_batch(data, batch_size, model.context, gen, device)
            with autocast(device):
                total += next_token_loss(model(x), y).item()
    return total / n_batches


def _optimizer(model: nn.Module, cfg: TrainConfig, device: torch.device) -> torch.optim.AdamW:
    decay = [p for p in model.parameters() if p.requires_grad and p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.requires_grad and p.dim() < 2]
    groups = [
        {"params": decay, "weight_decay": cfg.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    # The fused kernel (one pass over all parameters) exists for CPU and CUDA in recent torch.
    return torch.optim.AdamW(
        groups, lr=cfg.lr, betas=(0.9, cfg.beta2), fused=device.type in ("cpu", "cuda")
    )


def _model_settings(model: nn.Module) -> dict:
    cfg = getattr(model, "config", None)
    settings = asdict(cfg) if cfg is not None else {}
    return {"class": type(model).__name__, **settings}


def _record_work(model: nn.Module, cfg: TrainConfig, steps: int, evals: int) -> None:
    """Tell `lmlib budget` (if it is listening) the FLOPs this call trained with."""
    flops_per_token = getattr(model, "flops_per_token", None)
    if flops_per_token is None:
        return
    tokens = cfg.batch_size * model.context
    fpt = flops_per_token(model.context)
    record(work_flops(fpt, tokens, steps, evals, cfg.eval_batches), steps * tokens)


@dataclass
class _Run:
    """What one train() call carries from step to step, and what a checkpoint saves of it."""

    model: nn.Module
    cfg: TrainConfig
    opt: torch.optim.Optimizer
    scaler: torch.amp.GradScaler
    batch_gen: torch.Generator
    history: History = field(default_factory=History)
    step: int = 0
    keep: dict | None = None

    def state(self) -> dict:
        return {
            "keep": self.keep,
            "step": self.step,
            "model_settings": _model_settings(self.model),
            "train_settings": math_settings(self.cfg),
            "model": self.model.state_dict(),
            "optimizer": self.opt.state_dict(),
            "scaler": self.scaler.state_dict(),
            "batch_rng": self.batch_gen.get_state(),
            "torch_rng": torch.get_rng_state(),
            "history": self.history.to_dict(),
        }


def _resume(run: _Run, ckpt: Path) -> None:
    """Load model, optimizer, scaler, random streams and history from `ckpt`, after checking that
    it was written by the same model and the same training settings."""
    state = load_checkpoint(ckpt)
    try:
        check_same(state["model_settings"], _model_settings(run.model), "model", ckpt)
        check_same(state["train_settings"], math_settings(run.cfg), "training configuration", ckpt)
        run.model.load_state_dict(state["model"])
        run.opt.load_state_dict(state["optimizer"])
        run.scaler.load_state_dict(state["scaler"])
        run.batch_gen.set_state(state["batch_rng"])
        torch.set_rng_state(state["torch_rng"])
        run.history = History(**{**state["history"], "interrupted": False})
        run.step = state["step"]
        if run.keep is not None:  # in place: the caller's on_step goes on adding to it
            run.keep.clear()
            run.keep.update(state.get("keep") or {})
    except KeyError as e:  # a valid file that train() did not write
        raise CheckpointError(f"checkpoint {ckpt} has no {e}; use another checkpoint_path") from e


def _compiled(model: nn.Module, cfg: TrainConfig) -> nn.Module:
    """torch.compile(model) when asked for and available, else the model itself."""
    if not cfg.compile:
        return model
    try:
        return torch.compile(model)
    except Exception as e:  # e.g. no compiler toolchain: eager still works
        warnings.warn(f"torch.compile unavailable ({e}); training eagerly", stacklevel=3)
        return model


def _loss(forward: nn.Module, model: nn.Module, x, y, device) -> tuple[torch.Tensor, nn.Module]:
    """The batch's loss, and the forward to use from now on: a compiled forward that fails on its
    first real batch (compilation is lazy) is dropped for the eager model."""
    try:
        with autocast(device):
            return next_token_loss(forward(x), y), forward
    except Exception as e:
        if forward is model:
            raise
        warnings.warn(f"torch.compile failed ({type(e).__name__}); training eagerly", stacklevel=3)
        return _loss(model, model, x, y, device)


def _update(run: _Run, loss: torch.Tensor) -> None:
    """One optimizer step: backward (scaled for fp16), clip the gradient norm, AdamW."""
    run.opt.zero_grad(set_to_none=True)
    run.scaler.scale(loss).backward()
    run.scaler.unscale_(run.opt)
    nn.utils.clip_grad_norm_(run.model.parameters(), run.cfg.grad_clip)
    run.scaler.step(run.opt)
    run.scaler.update()


def _evaluate_into(
    run: _Run, val_data: torch.Tensor, elapsed: float, device, ranks: distributed.Ranks
) -> float:
    cfg = run.cfg
    val = float("nan")
    if ranks.is_main:  # the other ranks wait for its number
        val = evaluate(run.model, val_data, cfg.batch_size, cfg.eval_batches, cfg.seed + 1, device)
    val = distributed.from_main(val, ranks)
    run.history.eval_step.append(run.step)
    run.history.val_loss.append(val)
    run.history.train_time.append(elapsed)
    return val


def _save(run: _Run, ckpt: Path | None, ranks: distributed.Ranks) -> None:
    """Rank 0 writes the checkpoint (the ranks hold the same weights)."""
    if ckpt is not None and ranks.is_main:
        save_checkpoint(run.state(), ckpt)


def train(
    model: nn.Module,
    train_data: torch.Tensor,
    val_data: torch.Tensor,
    cfg: TrainConfig,
    resume: bool = False,
    on_step: Callable[[int, float], None] | None = None,
    keep: dict | None = None,
) -> History:
    """Train `model` in place on (B, context) windows of train_data; return its History.

    on_step(step, loss) is called after every optimizer step (e.g. for a live plot). `keep`, a
    dict of plain data that on_step fills (snapshots of the model, say), is saved with every
    checkpoint, and resuming restores it in place to what it held at the checkpoint's step. Under
    torchrun each process trains on its rows of every batch (see distributed); rank 0 alone
    evaluates, shows progress, calls on_step and saves; every rank returns the same History.
    """
    device = pick_device(None if cfg.device == "auto" else cfg.device)
    ranks, rows, device = distributed.setup(device, cfg.batch_size, cfg.data_parallel)
    enable_fast_matmul(device)
    model.to(device)
    opt = _optimizer(model, cfg, device)
    gen = torch.Generator().manual_seed(cfg.seed)
    run = _Run(model, cfg, opt, make_grad_scaler(device), gen, keep=keep)
    torch.manual_seed(cfg.seed)  # dropout
    ckpt = Path(cfg.checkpoint_path) if cfg.checkpoint_path else None
    if resume and ckpt is not None and ckpt.exists():
        _resume(run, ckpt)
    start, history = run.step, run.history
    wrapped = distributed.wrap(model, device, ranks)
    forward = _compiled(wrapped, cfg)

    model.train()
    elapsed = history.train_time[-1] if history.train_time else 0.0
    evals_before = len(history.eval_step)
    quiet = not (cfg.progress and ranks.is_main)
    bar = tqdm(total=cfg.steps, initial=start, disable=quiet, desc="train", unit="step")
    with StopRequest() as stop:
        while run.step < cfg.steps:
            if distributed.any_rank(stop.requested, ranks):
                history.interrupted = True
                break
            t0 = time.perf_counter()
            lr = lr_at(run.step, cfg)
            for group in opt.param_groups:
                group["lr"] = lr
            x, y = get_batch(train_data, cfg.batch_size, model.context, run.batch_gen, device, rows)
            loss, forward = _loss(forward, wrapped, x, y, device)
            _update(run, loss)
            run.step += 1
            loss_value = distributed.mean_over_ranks(loss.item(), ranks)
            elapsed += time.perf_counter() - t0
            history.step.append(run.step)
            history.train_loss.append(loss_value)
            history.lr.append(lr)
            if on_step is not None and ranks.is_main:
                on_step(run.step, loss_value)
            if run.step % cfg.eval_every == 0 or run.step == cfg.steps:
                val = _evaluate_into(run, val_data, elapsed, device, ranks)
                bar.set_postfix(loss=f"{loss_value:.3f}", val=f"{val:.3f}")
            if cfg.checkpoint_every and run.step % cfg.checkpoint_every == 0:
                _save(run, ckpt, ranks)
            bar.update(1)
    bar.close()
    _save(run, ckpt, ranks)
    distributed.barrier(ranks)  # every rank may resume from the file once it is complete
    if ranks.is_main:
        _record_work(model, cfg, run.step - start, len(history.eval_step) - evals_before)
    if history.interrupted and ranks.is_main:
        where = f"; checkpoint saved to {ckpt}, resume with resume=True" if ckpt else ""
        print(f"Training stopped at step {run.step}/{cfg.steps}{where}.")
    return history
