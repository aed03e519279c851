"""Results files: one JSON per run with its metrics and everything needed to reproduce it."""

from __future__ import annotations

import importlib
import json
import os
import platform
import subprocess
import time
from dataclasses import asdict, is_dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

from lmlib.runtime.files import atomic_write


def git_commit(cwd: Path | None = None) -> str | None:
    """The current commit (with '-dirty' if the tree has changes), or None outside a checkout."""
    try:
        run = lambda *a: subprocess.run(  # noqa: E731
            ["git", *a], cwd=cwd, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        commit = run("rev-parse", "HEAD")
        return commit + ("-dirty" if run("status", "--porcelain", "--untracked-files=no") else "")
    except (OSError, subprocess.SubprocessError):
        return None


def provenance(device: torch.device) -> dict[str, Any]:
    """Versions, device and commit: what a results file records beside its numbers."""
    from lmlib import __version__

    return {
        "lmlib": __version__,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else platform.processor() or platform.machine(),
        "threads": torch.get_num_threads(),
        "git_commit": git_commit(Path(__file__).resolve().parent),
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def completed(history: Any) -> Any:
    """`history` if its training ran to the end; KeyboardInterrupt if it was stopped early, so that
    an experiment never writes a stopped run as a finished one (a rerun resumes instead)."""
    if getattr(history, "interrupted", False):
        step = history.step[-1] + 1 if history.step else 0
        raise KeyboardInterrupt(f"training was stopped at step {step}; nothing was written")
    return history


def _plain(obj: Any) -> Any:
    if is_dataclass(obj) and not isinstance(obj, type):
        return _plain(asdict(obj))
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, torch.Tensor):
        return obj.tolist()
    if isinstance(obj, float) and obj != obj:
        return None  # NaN is not JSON
    return obj


def write_results(path: str | os.PathLike, record: dict[str, Any]) -> Path:
    """Write `record` as indented JSON atomically (a crash never leaves half a file)."""
    with atomic_write(path, "w") as f:
        json.dump(_plain(record), f, indent=1, sort_keys=True)
        f.write("\n")
    return Path(path)


def read_results(path: str | os.PathLike) -> dict[str, Any]:
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"no results at {path}; run the experiment first") from None
    except json.JSONDecodeError as e:
        raise ValueError(
            f"results file {path} is not valid JSON ({e}); rerun the experiment"
        ) from e


def seed_path(root: Path, profile: str, seed: int) -> Path:
    """Where a per-seed experiment keeps one seed's results: ``root/profile/seed<seed>.json``."""
    return Path(root) / profile / f"seed{seed}.json"


def profile_seeds(module: str, profile: str) -> list[int]:
    """The seeds ``module.settings(profile)`` names."""
    return list(importlib.import_module(module).settings(profile)["seeds"])


def run_seeds(
    module: str, profile: str, root: Path, seeds: list[int] | None = None, jobs: int = 1
) -> list[int]:
    """``module.run(profile, seed)`` for every seed (default: the profile's) whose file is missing,
    so an interrupted sweep resumes; ``jobs`` at a time in spawned workers, each result written
    with its wall and CPU time. Returns the seeds."""
    from lmlib.experiments.pool import map_spawned

    seeds = list(seeds or profile_seeds(module, profile))
    todo = [(module, profile, s, seed_path(root, profile, s)) for s in seeds]
    map_spawned(_run_and_write, [job for job in todo if not job[3].exists()], jobs)
    return seeds


def _run_and_write(module: str, profile: str, seed: int, path: Path) -> None:
    start = time.perf_counter()
    cpu_start = time.process_time()
    record = importlib.import_module(module).run(profile, seed)
    record["wall_time_s"] = round(time.perf_counter() - start, 2)
    record["cpu_time_s"] = round(time.process_time() - cpu_start, 2)  # all threads, this process
    write_results(path, record)
    print(f"wrote {path} ({record['wall_time_s']:.1f} s)")


def load_seeds(root: Path, profile: str, seeds: list[int]) -> list[dict[str, Any]]:
    """The results of ``seeds``, in that order."""
    return [read_results(seed_path(root, profile, s)) for s in seeds]
