"""`lmlib bench`'s printed tables, its verdict on the targets, and the book's markdown table."""

from __future__ import annotations

import torch

# Dense (no sparsity) bf16 tensor-core peaks from NVIDIA's datasheets, FLOP/s, by a name fragment
# of torch.cuda.get_device_name; T4 has no bf16, its fp16 peak stands in.
BF16_PEAKS = (
    ("H200", 989e12),
    ("H100", 989e12),  # SXM; the PCIe card is lower
    ("A100", 312e12),
    ("L4", 121e12),
    ("A10", 125e12),
    ("T4", 65e12),
)


def bf16_peak(device: torch.device) -> float | None:
    """The GPU's rated bf16 FLOP/s if its name is in BF16_PEAKS, else None (CPUs too)."""
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    return next((peak for key, peak in BF16_PEAKS if key in name), None)


# Speed targets on a 2-core CPU, printed (never asserted: benchmarks are not tests).
TARGETS = (
    ("course", "eager", "ratio", "hf-gpt2", 1.2),
    ("course", "compiled", "ratio", "hf-gpt2", 1.2),
    ("d256", "eager", "mfu", None, 0.45),
)


def print_rows(rows: list[dict]) -> None:
    print(f"{'shape':<20} {'mode':<9} {'model':<20} {'tokens/s median (min-max)':>28} {'MFU':>5}")
    for r in rows:
        t = r["tokens_per_s"]
        print(
            f"{r['shape']:<20} {r['mode']:<9} {r['model']:<20} "
            f"{t['median']:>10,.0f} ({t['min']:>7,.0f}-{t['max']:>7,.0f})   {r['mfu']:>5.2f}"
        )
    print("\nlmlib / baseline, median of per-repeat ratios (min-max):")
    for r in rows:
        if not r["model"].startswith("lmlib"):
            continue
        for k, v in r.items():
            if k.startswith("ratio_vs_"):
                base, _, base_mode = k[len("ratio_vs_") :].partition("_")
                against = f"{r['mode']} vs {base_mode or r['mode']}"
                print(
                    f"{r['shape']:<20} {r['model']:<20} {against:<21} {base:<14} "
                    f"{v['median']:.2f}x ({v['min']:.2f}-{v['max']:.2f})"
                )


def print_breakdown(rows: list[dict]) -> None:
    rows = [r for r in rows if "breakdown_ms" in r]
    if not rows:
        return
    cats = [c for c in rows[0]["breakdown_ms"] if c != "total"]
    print("\nwhere a step's time goes (torch.profiler self time; its overhead lands in 'other'):")
    print(
        f"{'shape':<20} {'mode':<9} {'model':<20} {'ms/step':>8} "
        + " ".join(f"{c:>10}" for c in cats)
    )
    for r in rows:
        b = r["breakdown_ms"]
        shares = " ".join(f"{100 * b[c] / b['total']:>9.0f}%" for c in cats)
        print(f"{r['shape']:<20} {r['mode']:<9} {r['model']:<20} {b['total']:>8.1f} {shares}")


def print_targets(rows: list[dict], names: dict[str, str]) -> None:
    """Each target that this run measured: the number and whether it was met."""
    lines = []
    for shape, mode, kind, base, goal in TARGETS:
        if shape not in names:
            continue
        row = next(
            (
                r
                for r in rows
                if r["shape"] == names[shape] and r["mode"] == mode and r["model"] == "lmlib"
            ),
            None,
        )
        value = None
        if row is not None:
            value = row["mfu"] if kind == "mfu" else row.get(f"ratio_vs_{base}", {}).get("median")
        what = f"{names[shape]}, {mode}: " + (
            f"MFU >= {goal}" if kind == "mfu" else f"lmlib >= {goal}x {base} ({mode})"
        )
        if value is None:
            lines.append(f"  {what}: not measured")
        else:
            shown = f"{value:.2f}" + ("x" if kind == "ratio" else "")
            lines.append(f"  {what}: {shown} {'met' if value >= goal else 'MISSED'}")
    if lines:
        print("\ntargets (median):")
        print("\n".join(lines))


LABELS = {"lmlib": "lmlib", "hf-gpt2": "HF GPT-2", "torch-encoder": "`nn.TransformerEncoder`"}


def markdown(result: dict) -> str:
    """The book's table of a results file: tokens/s per model, lmlib's ratio to HF GPT-2 and MFU."""
    rows = result["rows"]
    commit = (result.get("git_commit") or "unknown")[:7]
    lines = [
        "<!-- written by `lmlib bench --markdown`; do not edit by hand -->",
        f"Measured on {result['threads']} CPU threads ({result['device_name'] or result['device']},"
        f" torch {result['torch']}, commit {commit}); fp32 matmul "
        f"{result['matmul_flops'] / 1e9:.0f} GFLOP/s. Training tokens per second, median of "
        f"{result['repeats']} rounds of {result['steps']} steps taken in turns.",
        "",
        "| shape | mode | " + " | ".join(LABELS.values()) + " | lmlib ÷ HF GPT-2 | lmlib MFU |",
        "|---|---|" + "---|" * len(LABELS) + "---|---|",
    ]
    for shape in dict.fromkeys(r["shape"] for r in rows):
        for mode in dict.fromkeys(r["mode"] for r in rows if r["shape"] == shape):
            here = {r["model"]: r for r in rows if r["shape"] == shape and r["mode"] == mode}
            rates = [
                f"{here[m]['tokens_per_s']['median']:,.0f}" if m in here else "-" for m in LABELS
            ]
            lm = here.get("lmlib", {})
            ratio = lm.get("ratio_vs_hf-gpt2")
            shown = (
                f"{ratio['median']:.2f}× ({ratio['min']:.2f}-{ratio['max']:.2f})" if ratio else "-"
            )
            mfu = f"{lm['mfu']:.2f}" if lm else "-"
            lines.append(f"| {shape} | {mode} | " + " | ".join(rates) + f" | {shown} | {mfu} |")
    return "\n".join(lines) + "\n"
