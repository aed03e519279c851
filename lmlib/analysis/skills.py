"""Next-token prediction as many tasks at once: label each prediction by the skill it needs,
then split the overall loss into each task's share and mean loss.

The overall mean loss is exactly the share-weighted sum of the per-task mean losses, so the
split loses nothing: sum_k share_k * loss_k = mean loss.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

# What predicting a character of English text asks of a model, by the kind of position.
CHAR_TASKS = ("spelling", "word choice", "punctuation and spacing", "line start")


def char_task_labels(prev: Tensor, target: Tensor) -> Tensor:
    """Label each target character (B, T) with the index in CHAR_TASKS of the skill it needs.

    `prev` and `target` are the characters' code points (ord), e.g. from a tokenizer's chars.
    - line start: the character right after a newline (a speaker's name, a new verse line);
    - spelling: a letter that continues a word already begun;
    - word choice: a letter that starts a new word;
    - punctuation and spacing: everything else (spaces, commas, newlines, ...).
    """
    if prev.shape != target.shape:
        raise ValueError(f"prev {tuple(prev.shape)} and target {tuple(target.shape)} must match")
    is_alpha = _is_letter(target)
    labels = torch.full_like(target, 2)
    labels[is_alpha & ~_is_letter(prev)] = 1
    labels[is_alpha & _is_letter(prev)] = 0
    labels[prev == ord("\n")] = 3
    return labels


def _is_letter(codes: Tensor) -> Tensor:
    lower = codes | 0x20  # ASCII: set the lowercase bit
    return (lower >= ord("a")) & (lower <= ord("z")) | (codes == ord("'"))


@dataclass(frozen=True)
class TaskLoss:
    task: str
    share: float  # fraction of all predictions that belong to this task
    loss: float  # mean loss on this task's predictions (nan if it has none)
    count: int


def decompose_loss(losses: Tensor, labels: Tensor, tasks: tuple[str, ...]) -> list[TaskLoss]:
    """Per-task share and mean loss of `losses` (any shape) grouped by integer `labels`."""
    if losses.shape != labels.shape:
        raise ValueError(f"losses {tuple(losses.shape)} and labels {tuple(labels.shape)} differ")
    losses, labels = losses.flatten().double(), labels.flatten()
    if labels.numel() and (labels.min() < 0 or labels.max() >= len(tasks)):
        raise ValueError(f"labels must lie in [0, {len(tasks)}) to index tasks {tasks}")
    counts = torch.bincount(labels, minlength=len(tasks))
    sums = torch.bincount(labels, weights=losses, minlength=len(tasks))
    total = max(1, labels.numel())
    return [
        TaskLoss(name, counts[i].item() / total, (sums[i] / counts[i]).item(), counts[i].item())
        if counts[i]
        else TaskLoss(name, 0.0, float("nan"), 0)
        for i, name in enumerate(tasks)
    ]
