"""``python -m lmlib.grading.timing``: what grading every lab's solution costs, in CPU seconds and
wall seconds, with one interpreter per notebook (how ``lmlib grade`` runs isolated) and with one
interpreter per exercise (each exercise graded as a notebook of its own), to results/grading/.

CPU seconds count the grader and every process it started (``RUSAGE_CHILDREN``), so they do not
depend on what else the machine runs; wall seconds do.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import time
from dataclasses import asdict
from pathlib import Path

import torch

from lmlib.experiments.results import provenance, write_results
from lmlib.grading import notebook
from lmlib.grading.judge import grade_many
from lmlib.grading.labs import get_lab
from lmlib.grading.sandbox import Limits, Sandbox

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "results" / "grading" / "times.json"


def _cpu() -> float:
    usage = [resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    return sum(u.ru_utime + u.ru_stime for u in usage)


def measure(path: Path, per_exercise: bool, jobs: int, seed: int) -> dict:
    """Grade one solution notebook; its points and the seconds it took."""
    nb = notebook.read(path)
    lab = notebook.lab_id(nb, path)
    names = list(get_lab(lab))
    batch = [(nb, str(path), [n]) for n in names] if per_exercise else [(nb, str(path), None)]
    cpu, wall = _cpu(), time.monotonic()
    with Sandbox(Limits(), jobs=jobs, isolate=True) as sandbox:
        reports = grade_many(batch, sandbox, seed)
    return {
        "lab": lab,
        "exercises": len(names),
        "points": sum(r.points for r in reports),
        "max_points": sum(r.max_points for r in reports),
        "cpu_s": round(_cpu() - cpu, 3),
        "wall_s": round(time.monotonic() - wall, 3),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2, help="workers, as lmlib grade --jobs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)  # as lmlib grade does
    rows = []
    for path in sorted((ROOT / "labs" / "solutions").glob("*.ipynb")):
        pooled = measure(path, False, args.jobs, args.seed)
        alone = measure(path, True, args.jobs, args.seed)
        if pooled["points"] != pooled["max_points"] or alone["points"] != alone["max_points"]:
            raise RuntimeError(f"{path.name}: a solution lost points: {pooled} {alone}")
        rows.append({"lab": pooled["lab"], "per_notebook": pooled, "per_exercise": alone})
        print(f"{pooled['lab']}: per notebook {pooled}, per exercise {alone}", flush=True)
    per_notebook_cpu = [r["per_notebook"]["cpu_s"] for r in rows]
    ratios = [r["per_exercise"]["cpu_s"] / r["per_notebook"]["cpu_s"] for r in rows]
    summary = {
        "median_cpu_s_per_notebook": round(statistics.median(per_notebook_cpu), 1),
        "max_cpu_s_per_notebook": round(max(per_notebook_cpu), 1),
        "median_cpu_ratio_per_exercise_to_per_notebook": round(statistics.median(ratios), 2),
        "max_wall_s_per_notebook": round(max(r["per_notebook"]["wall_s"] for r in rows), 1),
    }
    write_results(
        args.out,
        {
            "config": {"jobs": args.jobs, "limits": asdict(Limits()), "isolation": "bwrap"},
            "seed": args.seed,
            "labs": rows,
            "summary": summary,
            "provenance": provenance(torch.device("cpu")),
            "load_average": list(os.getloadavg()),
        },
    )
    print(summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
