"""`lmlib gpu-check`: one run on a CUDA GPU that measures what the course promises there.

In order of value, so that a run cut short keeps the most: the machine (`lmlib doctor`), the CUDA
tests, `lmlib bench` at GPT-2-small shape (lmlib and Hugging Face GPT-2, eager and compiled), one
lab graded, then every solution notebook executed at the `gpu` profile, cheapest first, while the
time budget lasts. Each step runs in its own process under a time limit and writes into the output
folder (default results/gpu/<gpu>/; a smoke run's go to _build/): doctor.txt, cuda_tests.txt,
bench-<shape>.json, grade-<lab>.json, labs.json (per lab: status, wall time, training FLOPs and
their rate) and summary.json (each step's exit status and time, the grade, and the targets: every
lab runs; compiled lmlib at least 1.1x HF GPT-2 and at least 0.40 of the GPU's dense bf16 peak).
`--dry-run` prints the plan; `--smoke` runs the same steps on the CPU at the `ci` profile and a
tiny shape, to test the run itself.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

TARGET_RATIO = 1.1  # compiled lmlib / compiled HF GPT-2, tokens per second
TARGET_MFU = 0.40  # of the datasheet's dense bf16 peak
GRADED = "1_1_next_token_prediction"
SOLUTIONS = Path("labs") / "solutions"
NEEDED = ("nbclient", "ipykernel", "pytest", "transformers")  # beyond lmlib's own dependencies
# One lab in a fresh process: the notebook's wall time and the FLOPs its training spent.
LAB = (
    "import json, sys; from pathlib import Path; from lmlib.tools.budget import time_notebook; "
    "print(json.dumps(time_notebook(Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]))))"
)


@dataclass(frozen=True)
class Step:
    name: str
    argv: list[str]
    log: Path
    limit_s: float


def slug(name: str) -> str:
    """'NVIDIA H100 80GB HBM3' -> 'nvidia-h100-80gb-hbm3' (a folder name)."""
    return re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-").lower()


def cheapest_first(notebooks: list[Path], profile: str) -> list[Path]:
    """Labs ordered by their planned training FLOPs at `profile` (unplanned ones last)."""
    from lmlib.tools.plans import PLANS as planned

    def cost(nb: Path) -> float:
        try:
            return planned[nb.stem](profile)
        except Exception:  # a plan that cannot be computed here: run the lab last
            return float("inf")

    return sorted(notebooks, key=lambda nb: (cost(nb), nb.stem))


def fixed_steps(out: Path, smoke: bool, device: str) -> list[Step]:
    """Everything but the labs: doctor, CUDA tests, bench, one grade."""
    py = sys.executable
    shape = "tiny" if smoke else "gpt2-small"
    modes = ["eager"] if smoke else ["eager", "compiled"]
    rounds = ["--repeats", "1", "--steps", "2"] if smoke else ["--repeats", "3", "--steps", "10"]
    bench = [py, "-m", "lmlib", "bench", "--shapes", shape, "--models", "lmlib", "hf-gpt2"]
    bench += ["--modes", *modes, *rounds, "--device", device]
    cuda = [py, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "cuda", "-rs"]
    grade = [py, "-m", "lmlib", "grade", str(SOLUTIONS / f"{GRADED}.ipynb")]
    doctor = [py, "-m", "lmlib", "doctor", "--device", device, *(["--no-compile"] if smoke else [])]
    return [
        Step("doctor", doctor, out / "doctor.txt", 90),
        Step("cuda_tests", [*cuda, "tests/test_cuda.py"], out / "cuda_tests.txt", 150),
        Step("bench", [*bench, "--json", str(out / f"bench-{shape}.json")], out / "bench.txt", 270),
        Step("grade", [*grade, "--json", str(out / f"grade-{GRADED}.json")], out / "grade.txt", 90),
    ]


def lab_step(nb: Path, out: Path, profile: str, limit_s: float) -> Step:
    argv = [sys.executable, "-c", LAB, str(nb), profile, str(int(limit_s))]
    return Step(nb.stem, argv, out / "labs" / f"{nb.stem}.txt", limit_s)


def run_step(step: Step, deadline: float, env: dict[str, str], min_s: float = 5) -> dict:
    """Run `step` within its limit and the deadline (skipped if under `min_s` is left); its
    status, exit code and seconds."""
    limit = min(step.limit_s, deadline - time.monotonic())
    if limit < min_s:
        return {"status": "skipped: no time left", "rc": None, "seconds": 0.0}
    step.log.parent.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    with open(step.log, "w") as log:
        try:
            rc = subprocess.run(
                step.argv, stdout=log, stderr=subprocess.STDOUT, env=env, timeout=limit
            ).returncode
            status = "ok" if rc == 0 else f"failed (exit {rc})"
        except subprocess.TimeoutExpired:
            rc, status = None, f"timeout after {limit:.0f} s"
    return {"status": status, "rc": rc, "seconds": round(time.monotonic() - start, 1)}


def _last_json(path: Path) -> dict:
    lines = path.read_text().strip().splitlines() if path.exists() else []
    try:
        return json.loads(lines[-1]) if lines else {}
    except json.JSONDecodeError:
        return {}


def targets(labs: dict[str, dict], bench: dict | None) -> list[dict]:
    """The run's targets: each with its measured value and whether it was met (None: unmeasured)."""
    ran = sum(lab["status"] == "ok" for lab in labs.values())
    rows = (bench or {}).get("rows", [])
    row = next((r for r in rows if r["model"] == "lmlib" and r["mode"] == "compiled"), {})
    ratio = row.get("ratio_vs_hf-gpt2", {}).get("median")
    mfu = row.get("mfu_bf16_peak")
    return [
        {"target": "every lab runs", "value": f"{ran}/{len(labs)}", "met": ran == len(labs)},
        {
            "target": f"compiled lmlib >= {TARGET_RATIO}x compiled HF GPT-2 (tokens/s)",
            "value": ratio,
            "met": None if ratio is None else ratio >= TARGET_RATIO,
        },
        {
            "target": f"compiled lmlib MFU >= {TARGET_MFU} of the GPU's dense bf16 peak",
            "value": mfu,
            "met": None if mfu is None else mfu >= TARGET_MFU,
        },
    ]


def colab_torch(root: Path = Path(".")) -> str | None:
    """torch's version in the committed Colab package list, if there is one."""
    for path in sorted((root / "tests" / "fixtures" / "colab").glob("pip-freeze.gpu.*.txt")):
        found = re.search(r"^torch==(\S+)", path.read_text(), re.M)
        if found:
            return found[1]
    return None


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", type=Path, help="where results go (default: results/gpu/<gpu>/)")
    p.add_argument("--labs", nargs="+", help="lab ids to execute (default: every solution)")
    p.add_argument("--budget-s", type=float, default=540, help="the whole run's time (540 s)")
    p.add_argument("--dry-run", action="store_true", help="print the plan and run nothing")
    p.add_argument(
        "--smoke", action="store_true", help="on the CPU at the ci profile: tests the run itself"
    )


def run(args: argparse.Namespace) -> int:
    import torch

    from lmlib.experiments.results import provenance, write_results
    from lmlib.runtime.device import precision

    cuda = torch.cuda.is_available() and not args.smoke
    if not (cuda or args.smoke or args.dry_run):
        print("error: no CUDA device; --smoke runs the same steps on the CPU", file=sys.stderr)
        return 2
    device = torch.device("cuda" if cuda or not args.smoke else "cpu")
    name = torch.cuda.get_device_name(device) if cuda else "cpu-smoke" if args.smoke else "gpu"
    # A smoke run measures nothing worth keeping: it goes to the build folder, not results/.
    default = (
        Path("_build") / "gpu-check-smoke" if args.smoke else Path("results") / "gpu" / slug(name)
    )
    out = args.out or default
    profile = "ci" if args.smoke else "gpu"
    notebooks = sorted(SOLUTIONS.glob("*.ipynb"))
    unknown = set(args.labs or []) - {nb.stem for nb in notebooks}
    if unknown:
        print(f"error: no solution notebook for {sorted(unknown)} in {SOLUTIONS}", file=sys.stderr)
        return 2
    notebooks = cheapest_first(
        [nb for nb in notebooks if not args.labs or nb.stem in args.labs], profile
    )
    fixed = fixed_steps(out, args.smoke, device.type)
    if args.dry_run:
        print(f"plan ({name}, profile {profile}, budget {args.budget_s:.0f} s) -> {out}/")
        for step in fixed + [lab_step(nb, out, profile, args.budget_s) for nb in notebooks]:
            print(
                f"  {step.name}: {shlex.join(step.argv)}  > {step.log}  (<= {step.limit_s:.0f} s)"
            )
        return 0
    deadline = time.monotonic() + args.budget_s
    env = {**os.environ, "LMLIB_PROFILE": profile, "MPLBACKEND": "Agg", "LMLIB_DEVICE": device.type}
    missing = [m for m in NEEDED if importlib.util.find_spec(m) is None]
    summary = {
        "gpu": name,
        "precision": precision(device).describe(),
        "profile": profile,
        "colab_torch": colab_torch(),
        "missing_modules": missing,
        "steps": {},
        "labs": {},
    }

    def save() -> None:
        bench_file = out / f"bench-{'tiny' if args.smoke else 'gpt2-small'}.json"
        bench = json.loads(bench_file.read_text()) if bench_file.exists() else None
        summary["targets"] = targets(summary["labs"], bench)
        grade = out / f"grade-{GRADED}.json"
        if grade.exists():
            g = json.loads(grade.read_text())
            summary["grade"] = {"lab": GRADED, **{k: g.get(k) for k in ("points", "max_points")}}
        write_results(out / "summary.json", {**summary, **provenance(device)})

    out.mkdir(parents=True, exist_ok=True)
    for step in fixed:
        print(f"[gpu-check] {step.name} ...", flush=True)
        summary["steps"][step.name] = result = run_step(step, deadline, env)
        print(f"[gpu-check] {step.name}: {result['status']} ({result['seconds']} s)", flush=True)
        save()
    for nb in notebooks:
        step = lab_step(nb, out, profile, max(deadline - time.monotonic(), 0))
        result = run_step(step, deadline, env)
        if result["status"] == "ok":
            result.update(_last_json(step.log))
            if result.get("train_flops") and result.get("wall_s"):  # a lower bound: wall time
                result["train_flops_per_s"] = result["train_flops"] / result["wall_s"]
        summary["labs"][nb.stem] = result
        print(f"[gpu-check] lab {nb.stem}: {result['status']} ({result['seconds']} s)", flush=True)
        write_results(out / "labs.json", summary["labs"])
        save()
    for t in summary["targets"]:
        verdict = {True: "met", False: "MISSED", None: "not measured"}[t["met"]]
        print(f"[gpu-check] {t['target']}: {t['value']} {verdict}")
    print(f"[gpu-check] wrote {out}/")
    failed = [k for k, v in {**summary["steps"], **summary["labs"]}.items() if v["status"] != "ok"]
    return 1 if failed else 0
