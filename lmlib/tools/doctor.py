"""`lmlib doctor`: what this machine offers the course, and a numeric self-check.

Prints the device lmlib would use, the precision it trains in and why, kernel support, whether
torch.compile works, the versions that matter, the active profile, and where data is found; then
runs one small Transformer forward and backward on the CPU and on the chosen device and compares
them.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import shutil
import sys

import torch

from lmlib.data.shakespeare import CACHE_ENV, DATA_ENV, TINY_SHAKESPEARE, cache_dir
from lmlib.runtime.device import autocast, matmul_flops, pick_device, precision
from lmlib.runtime.profiles import current_profile


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", default=None, help="device to check (default: automatic)")
    p.add_argument("--no-compile", action="store_true", help="skip the torch.compile probe")
    p.add_argument(
        "--price",
        type=_price,
        default=None,
        metavar="USD",
        help="what this machine cost, in dollars: places its measured fp32 matmul rate on the "
        "1944-2025 price-performance trend",
    )


def _price(text: str) -> float:
    try:
        value = float(text.replace(",", "").lstrip("$"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--price needs a number of dollars, got {text!r}"
        ) from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"--price must be more than 0 dollars, got {text!r}")
    return value


def price_line(flops: float, price: float, year: int) -> str:
    """Where a machine of `flops` FLOP/s bought for `price` dollars in `year` sits on the trend
    fitted to lmlib's price-performance table (prices there are in 2025 dollars)."""
    from lmlib.analysis.price_performance import fit_trend, place_machine
    from lmlib.data.compute_prices import years_and_values

    trend = fit_trend(*years_and_values())
    p = place_machine(flops, price, year, trend)
    return (
        f"{p['flops_per_usd'] / 1e9:.3g} GFLOP/s per dollar at ${price:,.0f}: "
        f"{p['times_line']:.2g} x the {year} trend line (x2 every {trend.doubling_years:.2f} "
        f"years since 1944), which reaches it in {p['year_line_reaches']:.0f}"
    )


def compile_works() -> tuple[bool, str]:
    """Try torch.compile on a tiny function; (works, reason)."""
    if sys.platform == "win32":
        return False, "not supported on Windows in most torch builds"
    try:
        fn = torch.compile(lambda x: torch.sin(x) * 2)
        fn(torch.randn(8))
        return True, "ok"
    except Exception as e:  # any backend failure means: train eagerly
        return False, f"{type(e).__name__}: {str(e).splitlines()[0][:120]}"


def self_check(device: torch.device, seed: int = 0) -> float:
    """Max abs difference of the loss gradients between CPU fp32 and `device` (with autocast)."""
    from lmlib.models.transformer import TransformerConfig, TransformerLM
    from lmlib.training.loss import next_token_loss

    torch.manual_seed(seed)
    cfg = TransformerConfig(vocab_size=32, context=16, d_model=32, n_heads=4, n_layers=2)
    idx = torch.randint(0, 32, (4, 16))
    grads = []
    for dev in (torch.device("cpu"), device):
        torch.manual_seed(seed)
        model = TransformerLM(cfg).to(dev)
        with autocast(dev):  # a no-op on the CPU, so the reference stays fp32
            loss = next_token_loss(model(idx[:, :-1].to(dev)), idx[:, 1:].to(dev))
        loss.backward()
        grads.append(model.tok_emb.weight.grad.float().cpu())
    return (grads[0] - grads[1]).abs().max().item()


def run(args: argparse.Namespace) -> int:
    device = pick_device(args.device)
    rows = [
        ("python", platform.python_version()),
        ("torch", torch.__version__),
        ("platform", platform.platform()),
        ("cpu threads", str(torch.get_num_threads())),
        ("device", str(device)),
    ]
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        rows += [
            (
                "gpu",
                f"{props.name}, {props.total_memory / 2**30:.1f} GiB, "
                f"compute capability {props.major}.{props.minor}",
            ),
            ("flash attention", str(torch.backends.cuda.flash_sdp_enabled())),
        ]
    rows.append(("autocast", precision(device).describe()))
    if not args.no_compile:
        ok, why = compile_works()
        rows.append(
            ("torch.compile", "works" if ok else f"unavailable ({why}); lmlib trains eagerly")
        )
    rate = matmul_flops(device) / 1e9  # the yardstick of `lmlib bench`'s model FLOP utilization
    rows.append(("fp32 matmul", f"{rate:,.0f} GFLOP/s (measured, 1024 x 1024)"))
    if args.price is not None:
        rows.append(("price-perf.", price_line(rate * 1e9, args.price, datetime.date.today().year)))
    rows.append(("profile", current_profile()))
    local = os.environ.get(DATA_ENV)
    cached = cache_dir() / TINY_SHAKESPEARE.name
    rows.append(
        (
            "data",
            f"{DATA_ENV}={local}"
            if local
            else f"cache {cached} ({'present' if cached.exists() else 'downloads on first use'})"
            + f"; set {CACHE_ENV} to move it",
        )
    )
    rows.append(("git", shutil.which("git") or "not found (results record no commit)"))
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:>{width}}  {value}")
    diff = self_check(device)
    tol = 1e-5 if device.type == "cpu" else 5e-2
    verdict = "ok" if diff <= tol else "MISMATCH"
    print(
        f"{'self-check':>{width}}  gradient max |cpu - {device.type}| = {diff:.2e} "
        f"(tolerance {tol:g}): {verdict}"
    )
    return 0 if verdict == "ok" else 1
