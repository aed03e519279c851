"""A named Transformer size: one rung of an experiment's ladder of models (scaling, distill)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Size:
    name: str
    n_layers: int
    d_model: int
    n_heads: int
    ladder: str = "main"  # the ladder it belongs to (scaling: main, control, one)
