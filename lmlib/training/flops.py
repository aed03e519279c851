"""The FLOP ledger: what a training run costs, counted from the model's FLOPs per token.

`train()` appends each call's FLOPs to the file named by ``LMLIB_FLOP_LEDGER`` when it is set
(`lmlib budget` sets it while it times a lab), so a lab's compute is measured, not guessed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

LEDGER_ENV = "LMLIB_FLOP_LEDGER"


def work_flops(
    flops_per_token: float, tokens_per_step: int, steps: int, evals: int, eval_batches: int
) -> float:
    """FLOPs of `steps` training steps (forward + backward) and `evals` evaluations of
    `eval_batches` batches each (forward only: a third of a training step's cost)."""
    return flops_per_token * tokens_per_step * (steps + evals * eval_batches / 3)


def run_flops(flops_per_token: float, context: int, cfg) -> float:
    """Planned FLOPs of a whole `train()` call: it evaluates every `eval_every` steps and at
    the end."""
    evals = cfg.steps // cfg.eval_every + (cfg.steps % cfg.eval_every != 0)
    return work_flops(flops_per_token, cfg.batch_size * context, cfg.steps, evals, cfg.eval_batches)


def record(flops: float, tokens: int) -> None:
    """Append one training run's work to the ledger, when `lmlib budget` asked for one."""
    path = os.environ.get(LEDGER_ENV)
    if path:
        with open(path, "a") as f:
            f.write(json.dumps({"flops": flops, "tokens": tokens}) + "\n")


def read_ledger(path: Path) -> float:
    if not path.exists():
        return 0.0
    return sum(json.loads(line)["flops"] for line in path.read_text().splitlines() if line)
