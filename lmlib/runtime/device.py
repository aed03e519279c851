"""Where tensors live and how runs are made repeatable.

`pick_device` prefers cuda > mps > cpu unless told otherwise (argument or LMLIB_DEVICE);
`seed_everything` seeds Python, NumPy and torch so a CPU run repeats bit for bit; `evaluating`
switches a model to eval mode for a block and back; `precision` picks the autocast dtype by GPU
generation.
"""

from __future__ import annotations

import contextlib
import os
import random
import time
from dataclasses import dataclass

import numpy as np
import torch

DEVICE_ENV = "LMLIB_DEVICE"


@contextlib.contextmanager
def evaluating(model: torch.nn.Module):
    """`with evaluating(model):` runs in eval mode (no dropout) and restores the model's mode
    afterwards, also when the block raises."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


@contextlib.contextmanager
def torch_threads(n: int | None):
    """Run the block with torch using `n` CPU threads (None: leave them alone), then restore."""
    before = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def pick_device(prefer: str | None = None) -> torch.device:
    """The best available device: cuda > mps > cpu, unless `prefer` or $LMLIB_DEVICE names one."""
    choice = prefer or os.environ.get(DEVICE_ENV) or "auto"
    if choice == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    device = torch.device(choice)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device {choice!r} requested but CUDA is not available; use 'cpu' or 'auto'"
        )
    if device.type == "mps" and not _mps_available():
        raise ValueError(
            f"device {choice!r} requested but MPS is not available; use 'cpu' or 'auto'"
        )
    if device.type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"unsupported device {choice!r}; use 'auto', 'cpu', 'cuda' or 'mps'")
    return device


def seed_everything(seed: int, deterministic: bool = True) -> torch.Generator:
    """Seed every RNG the course uses and return a fresh CPU generator seeded with `seed`.

    With `deterministic`, torch refuses nondeterministic kernels where it can (warn_only, so
    a GPU op without a deterministic variant still runs) and cuDNN autotuning is off.
    """
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    return torch.Generator().manual_seed(seed)


NATIVE_BF16 = (8, 0)  # Ampere, the first GPUs with bf16 tensor cores


@dataclass(frozen=True)
class Precision:
    """How training runs on a device: the autocast dtype (None: fp32) and why it was chosen."""

    dtype: torch.dtype | None
    reason: str

    @property
    def scaler(self) -> bool:
        """fp16's narrow range needs the loss scaled so small gradients survive; bf16 does not."""
        return self.dtype == torch.float16

    def describe(self) -> str:
        """'bf16', 'fp16 with a grad scaler' or 'fp32', then 'because' and the reason."""
        what = {torch.bfloat16: "bf16", torch.float16: "fp16 with a grad scaler"}
        return f"{what.get(self.dtype, 'fp32')}, because {self.reason}"


def precision(device: torch.device) -> Precision:
    """bf16 autocast on GPUs with native bf16 (compute capability >= 8.0), fp16 with a grad scaler
    on older GPUs (a T4 is 7.5), fp32 on CPU and MPS.

    Not `torch.cuda.is_bf16_supported()`: by default it also counts bf16 emulated in fp32, which
    is slow, and answers True on a T4.
    """
    if device.type != "cuda":
        return Precision(None, f"lmlib uses autocast on CUDA GPUs only, not on {device.type}")
    major, minor = torch.cuda.get_device_capability(device)
    cc = f"compute capability {major}.{minor}"
    if (major, minor) >= NATIVE_BF16:
        return Precision(torch.bfloat16, f"{cc} >= 8.0 has native bf16, which needs no grad scaler")
    return Precision(
        torch.float16, f"{cc} < 8.0 has no native bf16 (torch would emulate it, slowly)"
    )


def amp_dtype(device: torch.device) -> torch.dtype | None:
    """Autocast dtype for `device` (see `precision`): bf16, fp16, or None for fp32."""
    return precision(device).dtype


def autocast(device: torch.device) -> contextlib.AbstractContextManager:
    """Mixed precision on CUDA (bf16 or fp16), a no-op context elsewhere (CPU stays fp32)."""
    dtype = amp_dtype(device)
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def make_grad_scaler(device: torch.device) -> torch.amp.GradScaler:
    """A scaler that is active only for fp16 autocast (bf16 and fp32 need none)."""
    return torch.amp.GradScaler(device.type, enabled=precision(device).scaler)


def enable_fast_matmul(device: torch.device) -> None:
    """Allow TF32 matmuls on Ampere+ GPUs; a no-op on CPU."""
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True


def matmul_flops(device: torch.device, n: int = 1024, iters: int = 10) -> float:
    """Measured fp32 matmul FLOP/s: (n x n) @ (n x n), best of a few timed batches."""
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    best = float("inf")
    for _ in range(5):
        synchronize(device)
        t0 = time.perf_counter()
        for _ in range(iters):
            a @ b
        synchronize(device)
        best = min(best, (time.perf_counter() - t0) / iters)
    return 2 * n**3 / best


def synchronize(device: torch.device) -> None:
    """Wait for the device's queued work; a no-op on CPU, which runs synchronously."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
