"""Data parallelism across the processes `torchrun` starts: one model copy per process.

`torchrun --nproc_per_node N script.py` starts N copies of a script and tells each one its place
in environment variables (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT). `lmlib.train`
reads them here: every process (a *rank*) joins one process group (gloo on CPU, nccl on CUDA),
wraps its model in DistributedDataParallel, and computes the loss on its own rows of each global
batch. DDP averages the gradients across ranks during backward, so the N copies take the very
steps one process would take on the whole batch. Rank 0 alone evaluates, logs and saves.

Dims: B global batch, W world size (number of ranks), b = B // W rows per rank.
"""

from __future__ import annotations

import atexit
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel


@dataclass(frozen=True)
class Ranks:
    """Where this process stands: rank of world_size, and local_rank on its machine."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def parallel(self) -> bool:
        return self.world_size > 1


def launched() -> Ranks:
    """The ranks torchrun (or any launcher that sets RANK and WORLD_SIZE) gave this process."""
    env = os.environ
    if "RANK" not in env or "WORLD_SIZE" not in env:
        return Ranks()
    return Ranks(int(env["RANK"]), int(env["WORLD_SIZE"]), int(env.get("LOCAL_RANK", 0)))


def backend_for(device: torch.device) -> str:
    return "nccl" if device.type == "cuda" else "gloo"


def local_device(device: torch.device, ranks: Ranks) -> torch.device:
    """One GPU per process on a machine: rank r uses cuda:LOCAL_RANK; CPU is shared."""
    if device.type != "cuda" or not ranks.parallel:
        return device
    if ranks.local_rank >= torch.cuda.device_count():
        raise ValueError(
            f"LOCAL_RANK={ranks.local_rank} but this machine has {torch.cuda.device_count()} "
            "GPU(s); start at most one process per GPU (torchrun --nproc_per_node)"
        )
    torch.cuda.set_device(ranks.local_rank)
    return torch.device("cuda", ranks.local_rank)


def join(device: torch.device, ranks: Ranks) -> None:
    """Join the launcher's process group once per process (later calls reuse it)."""
    if not ranks.parallel or dist.is_initialized():
        return
    dist.init_process_group(backend_for(device), rank=ranks.rank, world_size=ranks.world_size)
    atexit.register(_leave)


def _leave() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def setup(
    device: torch.device, batch_size: int, enabled: bool = True
) -> tuple[Ranks, slice, torch.device]:
    """This process's ranks, its rows of every batch and its device; joins the launcher's group.

    With `enabled=False` (or no launcher) the process trains alone on whole batches.
    """
    ranks = launched() if enabled else Ranks()
    rows = batch_rows(batch_size, ranks)
    device = local_device(device, ranks)
    join(device, ranks)
    return ranks, rows, device


def batch_rows(batch_size: int, ranks: Ranks) -> slice:
    """This rank's rows of every global batch of `batch_size` windows."""
    if batch_size % ranks.world_size:
        raise ValueError(
            f"batch_size={batch_size} does not divide by the {ranks.world_size} processes; "
            f"choose a multiple of {ranks.world_size} (e.g. "
            f"{batch_size // ranks.world_size * ranks.world_size or ranks.world_size}) "
            "or start a number of processes that divides it"
        )
    per_rank = batch_size // ranks.world_size
    return slice(ranks.rank * per_rank, (ranks.rank + 1) * per_rank)


def wrap(model: nn.Module, device: torch.device, ranks: Ranks) -> nn.Module:
    """The model DDP keeps in step across ranks (the model itself in a single process)."""
    if not ranks.parallel:
        return model
    device_ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=device_ids)


def mean_over_ranks(value: float, ranks: Ranks) -> float:
    """The mean of a per-rank number (a rank's loss on its rows: the mean is the batch loss)."""
    if not ranks.parallel:
        return value
    t = torch.tensor([value], dtype=torch.float64)
    dist.all_reduce(t, group=_cpu_group())
    return t.item() / ranks.world_size


def any_rank(flag: bool, ranks: Ranks) -> bool:
    """True on every rank when it is True on one (so all ranks stop at the same step)."""
    if not ranks.parallel:
        return flag
    t = torch.tensor([int(flag)])
    dist.all_reduce(t, op=dist.ReduceOp.MAX, group=_cpu_group())
    return bool(t.item())


def from_main(value: float, ranks: Ranks) -> float:
    """Rank 0's value on every rank (e.g. the validation loss only rank 0 computed)."""
    if not ranks.parallel:
        return value
    t = torch.tensor([value], dtype=torch.float64)
    dist.broadcast(t, src=0, group=_cpu_group())
    return t.item()


def barrier(ranks: Ranks) -> None:
    if ranks.parallel:
        dist.barrier(group=_cpu_group())


_CPU_GROUP: list = []


def _cpu_group():
    """A gloo group for small CPU numbers, so nccl runs need no host-device copies for them."""
    if dist.get_backend() == "gloo":
        return None
    if not _CPU_GROUP:
        _CPU_GROUP.append(dist.new_group(backend="gloo"))
    return _CPU_GROUP[0]
