"""`lmlib bench`: training throughput of lmlib's Transformer against what users would pick instead.

In one run and at identical shapes it times a full training step (forward, backward, AdamW) of
- lmlib's TransformerLM,
- Hugging Face transformers' GPT2LMHeadModel (random init from a config, SDPA attention),
- a plain PyTorch baseline, nn.TransformerEncoder with a causal mask,
and the machine's fp32 matmul rate, so that model FLOP utilization (MFU) = achieved model FLOP/s /
measured matmul FLOP/s. All models, eager and compiled, take turns inside every repeat, so a noisy
neighbour slows all of them alike and the ratios stay meaningful; medians, minima and maxima are
reported. Ratios compare like with like (eager with eager, compiled with compiled); compiled
lmlib is also compared with the eager baselines, the code a user runs when they do not compile.
`--variant bias=False` adds lmlib with a changed TransformerConfig to the same interleaved run."""

from __future__ import annotations

import argparse
import ast
import dataclasses
import json
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn
from tqdm.auto import tqdm

from lmlib.experiments.results import provenance, write_results
from lmlib.models.transformer import TransformerConfig, TransformerLM
from lmlib.runtime.device import autocast, matmul_flops, pick_device, synchronize
from lmlib.tools import bench_generate
from lmlib.tools.baselines import TorchEncoderLM, hf_gpt2
from lmlib.tools.bench_report import (
    bf16_peak,
    markdown,
    print_breakdown,
    print_rows,
    print_targets,
)
from lmlib.training.loss import next_token_loss


@dataclass(frozen=True)
class Shape:
    name: str
    d_model: int
    n_layers: int
    n_heads: int
    context: int
    batch_size: int
    vocab_size: int = 65

    def model_config(self) -> TransformerConfig:
        return TransformerConfig(
            self.vocab_size, self.context, self.d_model, self.n_heads, self.n_layers
        )


SHAPES = {
    "course": Shape("course (next-token lab, cpu)", 128, 4, 4, 64, 12),
    "d256": Shape("d_model=256", 256, 4, 8, 128, 16),
    "tiny": Shape("tiny (smoke test)", 32, 2, 2, 16, 4),
    # GPT-2 small: 124M parameters with its 50257-token vocabulary; for a GPU.
    "gpt2-small": Shape("GPT-2 small (124M)", 768, 12, 12, 1024, 8, vocab_size=50257),
}


SEED = 0  # every model starts from the same seed and trains on the same batch
MODELS: dict[str, Callable[[Shape], nn.Module]] = {
    "lmlib": lambda s: TransformerLM(s.model_config()),
    "hf-gpt2": lambda s: hf_gpt2(s.model_config()),
    "torch-encoder": lambda s: TorchEncoderLM(s.model_config()),
}


def parse_variant(text: str) -> dict:
    """'bias=False,pos=rope' -> {'bias': False, 'pos': 'rope'}: TransformerConfig changes."""
    fields = {f.name for f in dataclasses.fields(TransformerConfig)}
    fixed = {"vocab_size", "context", "d_model", "n_heads", "n_layers"}  # the shape, not the model
    out = {}
    for item in filter(None, text.split(",")):
        key, eq, value = item.partition("=")
        key = key.strip()
        if not eq or key not in fields - fixed:
            raise ValueError(
                f"{text!r}: expected KEY=VALUE pairs with KEY among "
                f"{sorted(fields - fixed)} (the shape's own sizes stay fixed)"
            )
        try:
            out[key] = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            out[key] = value.strip()  # a bare word such as rope
    if not out:
        raise ValueError(f"{text!r} changes nothing; try --variant bias=False")
    return out


def build_model(name: str, s: Shape) -> nn.Module:
    """A model by name: one of MODELS, or 'lmlib[KEY=VALUE,...]' for a TransformerConfig variant."""
    if name in MODELS:
        return MODELS[name](s)
    if name.startswith("lmlib[") and name.endswith("]"):
        return TransformerLM(dataclasses.replace(s.model_config(), **parse_variant(name[6:-1])))
    raise ValueError(f"unknown model {name!r}; choose from {list(MODELS)}")


class Stepper:
    """One model's training step at one shape, optionally compiled, timed on demand."""

    def __init__(self, name: str, s: Shape, device: torch.device, compiled: bool):
        torch.manual_seed(SEED)
        self.model = build_model(name, s).to(device)
        self.forward = torch.compile(self.model) if compiled else self.model
        # Same optimizer for every model: differences come from the models themselves.
        self.opt = torch.optim.AdamW(
            self.model.parameters(), lr=1e-4, fused=device.type in ("cpu", "cuda")
        )
        g = torch.Generator().manual_seed(SEED)
        self.x = torch.randint(0, s.vocab_size, (s.batch_size, s.context), generator=g).to(device)
        self.device, self.tokens = device, s.batch_size * s.context

    def step(self) -> None:
        with autocast(self.device):  # bf16 (or fp16) on CUDA, as lmlib.train runs; fp32 on CPU
            loss = next_token_loss(self.forward(self.x), self.x)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()

    def tokens_per_second(self, steps: int) -> float:
        synchronize(self.device)
        t0 = time.perf_counter()
        for _ in range(steps):
            self.step()
        synchronize(self.device)
        return steps * self.tokens / (time.perf_counter() - t0)


# Where a step's time goes: profiler events by name; everything unmatched is "other" (pointwise
# and norm kernels, compiled graphs' fused kernels, copies, autograd and Python).
CATEGORIES = (
    ("matmul", ("aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm")),
    ("attention", ("scaled_dot_product", "flash_attention", "efficient_attention")),
    ("optimizer", ("adamw", "Optimizer.", "_foreach_")),
)


def step_breakdown(st: Stepper, steps: int) -> dict[str, float]:
    """Milliseconds per step in each category (self time under torch.profiler, plus its total).

    The profiler adds a few microseconds to every event it records; that overhead lands mostly in
    "other", so read the matmul and attention shares as lower bounds.
    """
    from torch.profiler import ProfilerActivity, profile

    cuda = st.device.type == "cuda"
    with profile(activities=[ProfilerActivity.CUDA if cuda else ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            st.step()
        synchronize(st.device)
    ms = {name: 0.0 for name, _ in CATEGORIES} | {"other": 0.0}
    for e in prof.key_averages():
        t = getattr(e, "self_device_time_total", 0) if cuda else e.self_cpu_time_total
        cat = next((c for c, keys in CATEGORIES if any(k in e.key for k in keys)), "other")
        ms[cat] += t / 1e3 / steps
    return ms | {"total": sum(ms.values())}


BASELINES = ("hf-gpt2", "torch-encoder")


def _flops(st: Stepper, default: int) -> int:
    """Training FLOPs per token: lmlib variants count their own, the baselines the default's."""
    count = getattr(st.model, "flops_per_token", None)
    return count() if count else default


def _spread(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def bench_shape(
    s: Shape,
    device: torch.device,
    modes: list[str],
    models: list[str],
    repeats: int,
    steps: int,
    peak: float,
    breakdown: bool = False,
) -> list[dict]:
    """Time every (mode, model) pair at shape s, interleaved: each repeat times every pair once.

    With breakdown=True, each pair then runs `steps` more steps under the profiler (untimed).
    """
    steppers = {}
    for mode in modes:
        for name in models:
            try:
                st = Stepper(name, s, device, mode == "compiled")
                for _ in range(5 if mode == "compiled" else 3):  # warm up (and compile)
                    st.step()
                steppers[mode, name] = st
            except Exception as e:  # a baseline missing (no transformers) or failing to compile
                first = (str(e).splitlines() or [""])[0][:100]
                print(f"  skipping {name} ({mode}): {type(e).__name__}: {first}")
    rates = {key: [] for key in steppers}
    for _ in tqdm(range(repeats), desc=f"  {s.name}", unit="repeat", leave=False, disable=None):
        for key, st in steppers.items():
            rates[key].append(st.tokens_per_second(steps))
    default_flops = TransformerLM(s.model_config()).flops_per_token()  # the baselines' too
    rows = []
    for (mode, name), r in rates.items():
        row = {
            "shape": s.name,
            "mode": mode,
            "model": name,
            "tokens_per_s": {**_spread(r), "all": r},
            "mfu": statistics.median(r) * _flops(steppers[mode, name], default_flops) / peak,
        }
        # lmlib and its variants: ratios per repeat (the pairs ran side by side), then the median
        if name.startswith("lmlib"):
            for base_mode in sorted(modes, key=lambda m: m != mode):  # like with like first
                for base in BASELINES:
                    if (base_mode, base) in rates and (base_mode == mode or mode == "compiled"):
                        key = f"ratio_vs_{base}" + ("" if base_mode == mode else f"_{base_mode}")
                        row[key] = _spread([a / b for a, b in zip(r, rates[base_mode, base])])
        if breakdown:
            row["breakdown_ms"] = step_breakdown(steppers[mode, name], steps)
        rows.append(row)
    return rows


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--shapes", nargs="+", default=["course", "d256"], choices=sorted(SHAPES))
    p.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    p.add_argument(
        "--modes", nargs="+", default=["eager", "compiled"], choices=["eager", "compiled"]
    )
    p.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="KEY=VALUE[,...]",
        help="also time lmlib with these TransformerConfig changes, e.g. bias=False (repeatable)",
    )
    p.add_argument("--repeats", type=int, default=None, help="timed rounds (7; --generate: 3)")
    p.add_argument("--steps", type=int, default=10, help="training steps per timed round")
    p.add_argument("--device", default=None)
    p.add_argument("--json", type=Path, default=None, help="also write results as JSON here")
    p.add_argument("--markdown", type=Path, default=None, help="also write the book's table here")
    p.add_argument(
        "--from-json",
        type=Path,
        default=None,
        help="do not benchmark: write --markdown from this results file",
    )
    p.add_argument(
        "--breakdown",
        action="store_true",
        help="also profile each model's step: time in matmuls, attention, optimizer, other",
    )
    bench_generate.configure(p)


def run(args: argparse.Namespace) -> int:
    if args.from_json:
        if not args.markdown:
            raise SystemExit("--from-json renders a results file: give --markdown PATH to write")
        if not args.from_json.exists():
            raise SystemExit(f"no results file at {args.from_json}; run `lmlib bench --json` first")
        args.markdown.write_text(markdown(json.loads(args.from_json.read_text())))
        print(f"wrote {args.markdown}")
        return 0
    if getattr(args, "generate", False):
        return bench_generate.run(args)
    variants = [f"lmlib[{v}]" for v in args.variant]
    try:  # a bad key or value: say so before any timing
        for v in variants:
            build_model(v, SHAPES["tiny"])
    except ValueError as e:
        raise SystemExit(f"--variant: {e}") from None
    device = pick_device(args.device)
    # Subnormal floats are slow on CPUs; without this nn.TransformerEncoder ran 40x slower at
    # d_model=256 (97 vs 3,962 tokens/s). Flushing them to zero is the same for every model.
    torch.set_flush_denormal(True)
    start, peak = time.perf_counter(), matmul_flops(device)
    print(
        f"device {device}, {torch.get_num_threads()} threads, "
        f"fp32 matmul {peak / 1e9:.1f} GFLOP/s (measured, 1024x1024)"
    )
    rows = []
    for key in args.shapes:
        s = SHAPES[key]
        print(f"benchmarking {s.name} ({', '.join(args.modes)}) ...", flush=True)
        rows += bench_shape(
            s,
            device,
            args.modes,
            args.models + variants,
            args.repeats or 7,
            args.steps,
            peak,
            args.breakdown,
        )
    rated = bf16_peak(device)  # the datasheet's dense bf16 rate, for GPUs it knows
    for row in rows if rated else ():
        row["mfu_bf16_peak"] = row["mfu"] * peak / rated
    print_rows(rows)
    print_breakdown(rows)
    print_targets(rows, {k: SHAPES[k].name for k in args.shapes})
    result = {
        "matmul_flops": peak,
        "bf16_peak_flops": rated,
        "shapes": {k: asdict(SHAPES[k]) for k in args.shapes},
        "rows": rows,
        "repeats": args.repeats or 7,
        "steps": args.steps,
        "seed": SEED,
        "wall_time_s": round(time.perf_counter() - start, 1),
        **provenance(device),
    }
    if args.json:
        write_results(args.json, result)
        print(f"wrote {args.json}")
    if args.markdown:
        args.markdown.write_text(markdown(result))
        print(f"wrote {args.markdown}")
    return 0
