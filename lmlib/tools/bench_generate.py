"""`lmlib bench --generate`: generation speed at batch 1, lmlib with and without its KV cache
beside Hugging Face GPT-2's `generate` with its own cache, all at one shape.

Each case is a (prompt, new tokens) pair that fits the context. Tokens/s counts the new tokens
over the whole call, the prompt's pass included. Decoding is greedy (temperature 0) everywhere
and Hugging Face is made to write exactly `new` tokens, so every generator does the same work.
As in the training benchmark, the generators take turns inside every repeat and the ratios are
taken per repeat, so a noisy neighbour slows them alike.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import torch
from tqdm.auto import tqdm

from lmlib.experiments.results import provenance, write_results
from lmlib.models.transformer import TransformerConfig, TransformerLM
from lmlib.runtime.device import pick_device, synchronize
from lmlib.tools.baselines import hf_gpt2_model
from lmlib.training.sampling import generate


@dataclass(frozen=True)
class GenShape:
    name: str
    d_model: int
    n_layers: int
    n_heads: int
    context: int
    cases: tuple[tuple[int, int], ...]  # (prompt tokens, new tokens), each within the context
    vocab_size: int = 65

    def model_config(self) -> TransformerConfig:
        return TransformerConfig(
            self.vocab_size, self.context, self.d_model, self.n_heads, self.n_layers
        )


GEN_SHAPES = {
    # the course model (the next-token lab at cpu) with a context that holds a 1,024-token
    # prompt and 128 new tokens; 1,024 new tokens after a short prompt is where the cache matters
    # most
    "course": GenShape(
        "course, context 1152", 128, 4, 4, 1152, ((16, 128), (16, 1024), (1024, 128))
    ),
    "tiny": GenShape("tiny (smoke test)", 32, 2, 2, 64, ((4, 16), (16, 48))),
}
SEED = 0
TARGETS = (("lmlib-no-cache", 5.0, 1024), ("hf-gpt2", 1.0, 1024))  # lmlib-cache / X at new=N


Generate = Callable[[torch.Tensor, int], torch.Tensor]  # (prompt (1, P), new) -> (1, P + new)


def lmlib_generator(cache: bool) -> Callable[[GenShape, torch.device], Generate]:
    def build(s: GenShape, device: torch.device) -> Generate:
        model = TransformerLM(s.model_config()).to(device)
        return lambda idx, n: generate(model, idx, n, temperature=0, cache=cache)

    return build


def hf_generator(s: GenShape, device: torch.device) -> Generate:
    hf = hf_gpt2_model(s.model_config()).to(device).eval()
    return lambda idx, n: hf.generate(
        idx,
        attention_mask=torch.ones_like(idx),
        max_new_tokens=n,
        min_new_tokens=n,  # no early stop: as many tokens as lmlib writes
        do_sample=False,
        use_cache=True,
        pad_token_id=0,
    )


GENERATORS: dict[str, Callable[[GenShape, torch.device], Generate]] = {
    "lmlib-cache": lmlib_generator(cache=True),
    "lmlib-no-cache": lmlib_generator(cache=False),
    "hf-gpt2": hf_generator,
}


def tokens_per_second(fn: Generate, prompt: torch.Tensor, new: int, device: torch.device) -> float:
    synchronize(device)
    t0 = time.perf_counter()
    fn(prompt, new)
    synchronize(device)
    return new / (time.perf_counter() - t0)


def _spread(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


@torch.no_grad()
def bench_generation(
    s: GenShape, device: torch.device, names: list[str], repeats: int
) -> list[dict]:
    """Time every (case, generator) pair, interleaved: each repeat runs every pair once."""
    runners = {}
    for name in names:
        try:
            torch.manual_seed(SEED)  # the same weights for both lmlib generators
            runners[name] = GENERATORS[name](s, device)
        except Exception as e:  # transformers missing
            first = (str(e).splitlines() or [""])[0][:100]
            print(f"  skipping {name}: {type(e).__name__}: {first}")
    g = torch.Generator().manual_seed(SEED)
    prompts = {
        p: torch.randint(0, s.vocab_size, (1, p), generator=g).to(device) for p, _ in s.cases
    }
    for fn in runners.values():  # warm up
        fn(prompts[s.cases[0][0]], 4)
    rates = {(case, name): [] for case in s.cases for name in runners}
    for _ in tqdm(range(repeats), desc=f"  {s.name}", unit="repeat", leave=False, disable=None):
        for prompt, new in s.cases:
            for name, fn in runners.items():
                rates[(prompt, new), name].append(
                    tokens_per_second(fn, prompts[prompt], new, device)
                )
    rows = []
    for ((prompt, new), name), r in rates.items():
        row = {
            "prompt": prompt,
            "new": new,
            "model": name,
            "tokens_per_s": {**_spread(r), "all": r},
        }
        if name == "lmlib-cache":  # ratios per repeat (the pair ran side by side), then the median
            for base in runners.keys() - {name}:
                ratios = [a / b for a, b in zip(r, rates[(prompt, new), base])]
                row[f"ratio_vs_{base}"] = _spread(ratios)
        rows.append(row)
    return rows


# Where a new token's time goes: torch.profiler self time by op name; "outside ops" is the wall
# time no op accounts for (Python: the models' forward code and the generation loops).
CATEGORIES = (
    ("matmul", ("aten::mm", "aten::addmm", "aten::bmm")),
    ("attention", ("scaled_dot_product", "flash_attention")),
    ("copies", ("aten::copy_", "aten::cat", "aten::index", "aten::slice")),
)


def breakdown(s: GenShape, device: torch.device, name: str, case: tuple[int, int]) -> dict:
    """Milliseconds per new token in each category, for one generation of `case` (untimed)."""
    from torch.profiler import ProfilerActivity, profile

    torch.manual_seed(SEED)
    fn = GENERATORS[name](s, device)
    idx = torch.randint(0, s.vocab_size, (1, case[0]), generator=torch.Generator().manual_seed(0))
    fn(idx.to(device), 4)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        t0 = time.perf_counter()
        fn(idx.to(device), case[1])
        wall = time.perf_counter() - t0
    ms = {c: 0.0 for c, _ in CATEGORIES} | {"other ops": 0.0}
    for e in prof.key_averages():
        cat = next((c for c, keys in CATEGORIES if any(k in e.key for k in keys)), "other ops")
        ms[cat] += e.self_cpu_time_total / 1e3 / case[1]
    total = wall * 1e3 / case[1]
    return ms | {"outside ops": max(total - sum(ms.values()), 0.0), "total": total}


def print_generation(rows: list[dict]) -> None:
    print(f"{'prompt':>6} {'new':>5} {'generator':<15} {'tokens/s median (min-max)':>28}")
    for r in rows:
        t = r["tokens_per_s"]
        print(
            f"{r['prompt']:>6} {r['new']:>5} {r['model']:<15} "
            f"{t['median']:>10,.0f} ({t['min']:>7,.0f}-{t['max']:>7,.0f})"
        )
    print("\nlmlib with cache / other, median of per-repeat ratios (min-max):")
    for r in rows:
        for k, v in r.items():
            if k.startswith("ratio_vs_"):
                print(
                    f"{r['prompt']:>6} {r['new']:>5} vs {k[9:]:<15} "
                    f"{v['median']:.2f}x ({v['min']:.2f}-{v['max']:.2f})"
                )


def print_generation_targets(rows: list[dict]) -> None:
    lines = []
    for base, goal, new in TARGETS:
        for r in rows:
            if r["model"] == "lmlib-cache" and r["new"] == new and f"ratio_vs_{base}" in r:
                v = r[f"ratio_vs_{base}"]["median"]
                lines.append(
                    f"  prompt {r['prompt']}, {new} new tokens: lmlib cached >= {goal}x {base}: "
                    f"{v:.2f}x {'met' if v >= goal else 'MISSED'}"
                )
    if lines:
        print("\ntargets (median):")
        print("\n".join(lines))


LABELS = {"lmlib-cache": "lmlib, cache", "lmlib-no-cache": "lmlib, no cache", "hf-gpt2": "HF GPT-2"}


def markdown(result: dict) -> str:
    """The table of a generation results file: tokens/s per generator and lmlib's ratios."""
    rows, s = result["rows"], result["shape"]
    commit = (result.get("git_commit") or "unknown")[:7]
    lines = [
        "<!-- written by `lmlib bench --generate --markdown`; do not edit by hand -->",
        f"Generation at batch 1 on {result['threads']} CPU threads "
        f"({result['device_name'] or result['device']}, torch {result['torch']}, commit "
        f"{commit}); d_model={s['d_model']}, {s['n_layers']} layers, context {s['context']}. "
        f"New tokens per second, median of {result['repeats']} rounds taken in turns.",
        "",
        "| prompt | new | " + " | ".join(LABELS.values()) + " | cache ÷ no cache | cache ÷ HF |",
        "|---|---|" + "---|" * len(LABELS) + "---|---|",
    ]
    for case in dict.fromkeys((r["prompt"], r["new"]) for r in rows):
        here = {r["model"]: r for r in rows if (r["prompt"], r["new"]) == case}
        rates = [f"{here[m]['tokens_per_s']['median']:,.0f}" if m in here else "-" for m in LABELS]
        lm = here.get("lmlib-cache", {})
        ratios = [
            f"{lm[k]['median']:.2f}×" if k in lm else "-"
            for k in ("ratio_vs_lmlib-no-cache", "ratio_vs_hf-gpt2")
        ]
        lines.append(f"| {case[0]} | {case[1]} | " + " | ".join(rates + ratios) + " |")
    return "\n".join(lines) + "\n"


def parse_cases(items: list[str], context: int) -> tuple[tuple[int, int], ...]:
    """['16:128', '128:1024'] -> ((16, 128), (128, 1024)), each prompt + new within context."""
    cases = []
    for item in items:
        p, colon, n = item.partition(":")
        if not (colon and p.isdigit() and n.isdigit()) or int(p) < 1 or int(n) < 1:
            raise ValueError(f"--cases {item!r}: expected PROMPT:NEW, two positive integers")
        if int(p) + int(n) > context:
            raise ValueError(
                f"--cases {item!r}: {p} + {n} tokens exceed the shape's context of {context}"
            )
        cases.append((int(p), int(n)))
    return tuple(cases)


def configure(p: argparse.ArgumentParser) -> None:
    """The generation benchmark's options, added to `lmlib bench`'s."""
    p.add_argument(
        "--generate",
        action="store_true",
        help="time generation at batch 1 (lmlib with and without cache, HF generate) instead",
    )
    p.add_argument("--gen-shape", default="course", choices=sorted(GEN_SHAPES))
    p.add_argument(
        "--threads",
        type=int,
        default=None,
        help="with --generate: torch threads (default torch's, one per core; 1 when other "
        "processes share the cores)",
    )
    p.add_argument(
        "--cases",
        nargs="+",
        default=None,
        metavar="PROMPT:NEW",
        help="with --generate: prompt and new-token lengths (default: the shape's grid)",
    )


def run(args: argparse.Namespace) -> int:
    s = GEN_SHAPES[args.gen_shape]
    if args.cases:
        try:
            s = dataclasses.replace(s, cases=parse_cases(args.cases, s.context))
        except ValueError as e:
            raise SystemExit(str(e)) from None
    threads = torch.get_num_threads()
    torch.set_num_threads(args.threads or threads)  # small steps: a loaded core stalls the other
    try:
        return _run(args, s)
    finally:
        torch.set_num_threads(threads)


def _run(args: argparse.Namespace, s: GenShape) -> int:
    device = pick_device(args.device)
    torch.set_flush_denormal(True)
    start = time.perf_counter()
    repeats = args.repeats or 3
    print(f"device {device}, {torch.get_num_threads()} threads; generating at batch 1, {s.name}")
    rows = bench_generation(s, device, list(GENERATORS), repeats)
    print_generation(rows)
    result = {
        "benchmark": "generation",
        "shape": asdict(s),
        "rows": rows,
        "repeats": repeats,
        "seed": SEED,
    }
    if args.breakdown:
        case = max(s.cases, key=lambda c: (c[1], c[0]))
        result["breakdown_ms_per_token"] = {
            name: breakdown(s, device, name, case) for name in ("lmlib-cache", "hf-gpt2")
        }
        print(f"\nwhere a new token's time goes at prompt {case[0]}, {case[1]} new (profiler):")
        for name, b in result["breakdown_ms_per_token"].items():
            shares = " ".join(
                f"{c} {100 * v / b['total']:.0f}%" for c, v in b.items() if c != "total"
            )
            print(f"  {name:<12} {b['total']:.2f} ms/token: {shares}")
    print_generation_targets(rows)
    result |= {"wall_time_s": round(time.perf_counter() - start, 1), **provenance(device)}
    if args.json:
        write_results(args.json, result)
        print(f"wrote {args.json}")
    if args.markdown:
        args.markdown.write_text(markdown(result))
        print(f"wrote {args.markdown}")
    return 0
