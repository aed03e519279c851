"""`lmlib budget`: how long each lab takes in each profile, so nobody starts one blind.

Each lab's solution notebook is executed top to bottom at the `ci` and `cpu` profiles (on this
machine) and timed. While it runs, `train()` appends the FLOPs it spent to a ledger file
(``LMLIB_FLOP_LEDGER``), so the table also says how much compute the lab trains with. The `gpu`
profile cannot be timed without a GPU; it is estimated from the lab's planned training FLOPs at
that profile (lmlib/tools/plans.py; the same plan at the `ci` and `cpu` profiles is checked
against the ledger) divided by an assumed achieved throughput on a Colab T4, plus the lab's fixed
overhead (its whole `ci` run: start-up, data, plots).

Results go to results/budget/labs.json, updated after every notebook (an interrupted run keeps
what it measured; run it again to fill in the rest), and to the table in book/lab_times.md
that the "How to use" page includes.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from lmlib.runtime.files import CHECKPOINTS_ENV, atomic_write
from lmlib.training.flops import LEDGER_ENV, read_ledger

# Relative to the working directory (run from the repository root), never to the installed package.
RESULTS = Path("results") / "budget" / "labs.json"
TABLE = Path("book") / "lab_times.md"
NOTEBOOKS = Path("labs") / "solutions"

# The assumption behind the `gpu` column: what a Colab T4 achieves on the labs' training. Its
# datasheet peak is 65 TFLOP/s in fp16 on tensor cores (8.1 in fp32; NVIDIA's T4 launch figures,
# e.g. Tom's Hardware, 2018-09-13); one large fp16 matrix product measured on a free Colab T4 ran at
# 20.4 TFLOP/s (MakazhanAlpamys/Soup, pull request #967, 2026-09-14), a third of the peak, the
# card clocked at 525 MHz. The labs' models are narrow (d_model 64-512) and step through many
# small kernels, so we take a fifth of that measured rate, 6% of the peak: 4 TFLOP/s, an estimate
# on the slow side.
T4_ACHIEVED_FLOPS = 4e12


# ---- measuring -------------------------------------------------------------------------------


def time_notebook(path: Path, profile: str, timeout: int = 1800) -> dict:
    """Execute a notebook at `profile` in a fresh kernel; its wall time and ledger FLOPs."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory() as tmp:
        ledger = Path(tmp) / "ledger.jsonl"
        keys = ("LMLIB_PROFILE", LEDGER_ENV, "MPLBACKEND", CHECKPOINTS_ENV)
        saved = {k: os.environ.get(k) for k in keys}
        os.environ.update(LMLIB_PROFILE=profile, MPLBACKEND="Agg", **{LEDGER_ENV: str(ledger)})
        os.environ[CHECKPOINTS_ENV] = str(Path(tmp) / "checkpoints")  # a fresh run, no resume
        try:
            client = NotebookClient(nb, timeout=timeout, kernel_name="python3")
            client.resources = {"metadata": {"path": str(path.parent)}}
            start = time.perf_counter()
            client.execute()
            wall = time.perf_counter() - start
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        return {"wall_s": round(wall, 1), "train_flops": read_ledger(ledger)}


def book_timings(build: Path) -> tuple[str, dict[str, float]]:
    """(profile, {lab: seconds}) from the book build's notebook execution cache: `bash
    scripts/book.sh` executes every lab once at the `cpu` profile, so there is no need to run
    them a second time just to time them."""
    from jupyter_cache import get_cache

    cache, stamp = build / ".jupyter_cache", build / ".profile"
    if not cache.is_dir() or not stamp.exists():
        raise FileNotFoundError(
            f"no executed book in {build}; build it first: bash scripts/book.sh"
        )
    records = get_cache(str(cache)).list_cache_records()
    return stamp.read_text().strip(), {
        Path(r.uri).stem: r.data["execution_seconds"]
        for r in records
        if "execution_seconds" in (r.data or {})
    }


def plans() -> dict[str, Callable[[str], float]]:
    from lmlib.tools.plans import PLANS

    return PLANS


def estimate_gpu(lab: str, measured: dict) -> dict | None:
    """The `gpu` estimate: the ci run's wall time as overhead + planned FLOPs / T4 throughput."""
    if lab not in plans() or "ci" not in measured:
        return None
    flops = plans()[lab]("gpu")
    return {
        "wall_s": round(measured["ci"]["wall_s"] + flops / T4_ACHIEVED_FLOPS, 1),
        "train_flops": flops,
        "estimated": True,
    }


def plan_mismatches(lab: str, measured: dict, tolerance: float = 0.02) -> list[str]:
    """Profiles where the lab's plan disagrees with what its run actually recorded."""
    out = []
    for profile, m in measured.items():
        if lab in plans() and profile in ("ci", "cpu") and m.get("train_flops") is not None:
            plan = plans()[lab](profile)
            if abs(plan - m["train_flops"]) > tolerance * max(plan, 1.0):
                out.append(f"{lab} {profile}: plan {plan:.3g} FLOPs, ran {m['train_flops']:.3g}")
    return out


def _fmt_time(s: float | None) -> str:
    if s is None:
        return "-"
    return f"{s:.0f} s" if s < 120 else f"{s / 60:.1f} min"


def table(results: dict) -> str:
    """The Markdown table the book shows."""
    lines = [
        "| lab | `ci` | `cpu` | `gpu` (T4, estimated) | training compute at `gpu` |",
        "|---|---|---|---|---|",
    ]
    for lab, m in sorted(results["labs"].items()):
        gpu = m.get("gpu")
        cells = [
            lab,
            _fmt_time(m.get("ci", {}).get("wall_s")),
            _fmt_time(m.get("cpu", {}).get("wall_s")),
            _fmt_time(gpu["wall_s"]) if gpu else "-",
            f"{gpu['train_flops']:.2g} FLOPs" if gpu else "-",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_table(results: dict, path: Path = TABLE) -> None:
    m = results["machine"]
    header = (
        f"<!-- written by `lmlib budget`; do not edit by hand -->\n"
        f"Measured on {m['cpus']} CPU cores ({m['torch']}); the `gpu` column assumes "
        f"{T4_ACHIEVED_FLOPS / 1e12:.0f} TFLOP/s achieved on a T4.\n\n"
    )
    with atomic_write(path, "w") as f:
        f.write(header + table(results))


def _save(results: dict, path: Path) -> None:
    with atomic_write(path, "w") as f:
        json.dump(results, f, indent=1)


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--profiles", nargs="+", default=["ci", "cpu"], choices=["ci", "cpu"])
    p.add_argument("--labs", nargs="+", help="lab ids (default: every solution notebook)")
    p.add_argument("--force", action="store_true", help="re-time labs already in the results")
    p.add_argument(
        "--table-only",
        action="store_true",
        help="print the table from results/budget/labs.json, run nothing",
    )
    p.add_argument(
        "--reestimate",
        action="store_true",
        help="recompute the `gpu` estimates from the current plans and the measured `ci` times, "
        "run nothing",
    )
    p.add_argument("--results", type=Path, default=RESULTS)
    p.add_argument("--notebooks", type=Path, default=NOTEBOOKS)
    p.add_argument("--table", type=Path, default=TABLE, help="Markdown table to write")
    p.add_argument(
        "--from-book",
        type=Path,
        metavar="BUILD",
        help="take wall times from a book build (e.g. _build) instead of running the labs",
    )


def run(args: argparse.Namespace) -> int:
    import torch
    from tqdm.auto import tqdm

    results = json.loads(args.results.read_text()) if args.results.exists() else {"labs": {}}
    if args.reestimate:
        for lab, measured in results["labs"].items():
            gpu = estimate_gpu(lab, {k: v for k, v in measured.items() if k != "gpu"})
            if gpu:
                measured["gpu"] = gpu
        _save(results, args.results)
        write_table(results, args.table)
    elif not args.table_only:
        notebooks = sorted(args.notebooks.glob("*.ipynb"))
        chosen = [nb for nb in notebooks if not args.labs or nb.stem in args.labs]
        results["machine"] = {"cpus": os.cpu_count(), "torch": f"torch {torch.__version__}"}
        done = set()
        if args.from_book:
            profile, seconds = book_timings(args.from_book)
            for nb in chosen:
                if nb.stem in seconds:
                    entry = {"wall_s": round(seconds[nb.stem], 1), "train_flops": None}
                    results["labs"].setdefault(nb.stem, {})[profile] = entry
                    done.add((nb.stem, profile))
            _save(results, args.results)
        todo = [
            (nb, p)
            for nb in chosen
            for p in args.profiles
            if (nb.stem, p) not in done
            and (args.force or p not in results["labs"].get(nb.stem, {}))
        ]
        for nb, profile in tqdm(todo, desc="labs", unit="run"):
            measured = results["labs"].setdefault(nb.stem, {})
            measured[profile] = time_notebook(nb, profile)
            gpu = estimate_gpu(nb.stem, {k: v for k, v in measured.items() if k != "gpu"})
            if gpu:
                measured["gpu"] = gpu
            _save(results, args.results)  # after every notebook: an interruption loses one
        write_table(results, args.table)
    print(table(results), end="")
    problems = [
        p
        for lab, m in results["labs"].items()
        for p in plan_mismatches(lab, {k: v for k, v in m.items() if k != "gpu"})
    ]
    for p in problems:
        print(f"warning: plan out of date: {p}")
    return 1 if problems else 0
