"""Run sizes: every lab and experiment picks its sizes from a profile.

- ``ci``: seconds on 2 CPU cores (what the tests use);
- ``cpu``: a laptop CPU, a few minutes;
- ``gpu``: a Colab T4 or a local GPU, at most ten minutes.

Chosen automatically (a CI environment -> ci, CUDA -> gpu, else cpu) and overridden by
``LMLIB_PROFILE``.
"""

from __future__ import annotations

import os
from typing import TypeVar

import torch

PROFILES = ("ci", "cpu", "gpu")
PROFILE_ENV = "LMLIB_PROFILE"
T = TypeVar("T")


def current_profile() -> str:
    """The active profile name: $LMLIB_PROFILE, else ci under CI, gpu with CUDA, else cpu."""
    name = os.environ.get(PROFILE_ENV, "").strip().lower()
    if name:
        if name not in PROFILES:
            raise ValueError(f"{PROFILE_ENV}={name!r} is not a profile; use one of {PROFILES}")
        return name
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        return "ci"
    if torch.cuda.is_available():
        return "gpu"
    return "cpu"


def by_profile(ci: T, cpu: T, gpu: T, profile: str | None = None) -> T:
    """The value for the active (or given) profile: ``by_profile(ci=50, cpu=2000, gpu=5000)``."""
    name = profile or current_profile()
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; use one of {PROFILES}")
    return {"ci": ci, "cpu": cpu, "gpu": gpu}[name]
