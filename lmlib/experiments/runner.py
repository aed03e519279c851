"""`lmlib run NAME [--profile P] [--seed S]`: run an experiment and write its results file.

`--figures` skips training and redraws the figures from the results file already there, which
is how the book's figures are regenerated from the results in results/.

A sweep experiment (a module with ``SWEEP = True``, e.g. scaling) writes one file per run into
results/NAME/<profile>/, skips runs whose file exists (resume) and writes a summary.json.
"""

from __future__ import annotations

import argparse
import importlib
import time
from pathlib import Path

from lmlib.experiments import EXPERIMENTS
from lmlib.experiments.results import read_results, write_results
from lmlib.runtime.profiles import PROFILES, current_profile
from lmlib.training.distributed import launched

# Relative to the working directory (the repository root when run from a checkout), never to
# where the package is installed.
RESULTS = Path("results")
FIGURES = Path("lectures") / "figures"


def results_path(name: str, profile: str, seed: int, root: Path | None = None) -> Path:
    return (root or RESULTS) / name / f"{profile}-seed{seed}.json"


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", choices=sorted(EXPERIMENTS), help="which experiment")
    p.add_argument("--profile", choices=PROFILES, help="run size (default: automatic)")
    p.add_argument("--seed", type=int, default=None, help="default 0 (a sweep: all its seeds)")
    p.add_argument("--results", type=Path, default=None, help="results root (default: results/)")
    p.add_argument("--figures", action="store_true", help="only redraw figures from results")
    p.add_argument("--jobs", type=int, default=2, help="a sweep's runs in parallel (1 thread each)")
    p.add_argument("--figdir", type=Path, default=FIGURES)


def run(args: argparse.Namespace) -> int:
    module = importlib.import_module(EXPERIMENTS[args.name])
    profile = args.profile or current_profile()
    if getattr(module, "SWEEP", False):
        return run_sweep(module, args, profile)
    seed = 0 if args.seed is None else args.seed
    path = results_path(args.name, profile, seed, args.results)
    if args.figures:
        record = read_results(path)
    else:
        start = time.perf_counter()
        cpu_start = time.process_time()
        record = module.run(profile=profile, seed=seed)
        record["wall_time_s"] = round(time.perf_counter() - start, 2)
        record["cpu_time_s"] = round(time.process_time() - cpu_start, 2)
        write_results(path, record)
        print(f"wrote {path} ({record['wall_time_s']:.1f} s)")
    for fig in module.figures(record, args.figdir):
        print(f"wrote {fig}")
    return 0


def run_sweep(module, args: argparse.Namespace, profile: str) -> int:
    root = (args.results or RESULTS) / args.name
    if not args.figures:
        start = time.perf_counter()
        seeds = None if args.seed is None else (args.seed,)
        module.run_sweep(profile, root, seeds, jobs=args.jobs)
        print(f"sweep done in {time.perf_counter() - start:.1f} s; summary in {root / profile}")
    if not launched().is_main:  # under torchrun, rank 0 draws the figures
        return 0
    for fig in module.figures(root, profile, args.figdir):
        print(f"wrote {fig}")
    return 0
