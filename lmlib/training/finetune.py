"""Fine-tuning a whole encoder on a labelled task, with one fixed recipe, to judge what it learned.

Dims: B batch, N examples, T tokens (fixed within a group), D encoder width.

A task's examples are sentences, each with a position to read and a label in {0, 1}. A fresh
linear head reads the encoder's final state at that position; head and encoder are trained
together (a copy of the encoder: the one passed in is left as it was) for a few epochs, then
scored on the held-out split. Sentences of different lengths sit in separate groups, so no
example is padded: a padding token would change what a bidirectional encoder reads.

The recipe is the same for every encoder it judges: AdamW, the learning rate warmed up over the
first tenth of the steps and decayed linearly to 0 (BERT's fine-tuning schedule), and the median
over ``restarts`` fine-tunings that differ only in their draws, as GLUE results are reported,
since one fine-tuning now and then fails to leave chance. Its random draws (the head's initial
weights, the order of the batches) come from ``FinetuneConfig.seed`` alone: two encoders judged
with one seed meet the same heads and the same batches.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F
from torch import Tensor, nn


@dataclass(frozen=True)
class Split:
    """Examples grouped by sentence length: x[g] (N_g, T_g) ids, pos[g] (N_g,), y[g] (N_g,)."""

    x: tuple[Tensor, ...]
    pos: tuple[Tensor, ...]
    y: tuple[Tensor, ...]

    def __len__(self) -> int:
        return sum(len(y) for y in self.y)

    @classmethod
    def from_examples(cls, examples: Sequence[tuple[list[int], int, int]]) -> Split:
        """[(ids, position to read, label)] -> a Split with one group per sentence length."""
        if not examples:
            raise ValueError("a split needs at least one example")
        by_len: dict[int, list] = {}
        for ids, pos, y in examples:
            if not 0 <= pos < len(ids) or y not in (0, 1):
                raise ValueError(f"bad example: position {pos} of {len(ids)} tokens, label {y}")
            by_len.setdefault(len(ids), []).append((ids, pos, y))
        groups = [by_len[n] for n in sorted(by_len)]
        return cls(
            tuple(torch.tensor([e[0] for e in g]) for g in groups),
            tuple(torch.tensor([e[1] for e in g]) for g in groups),
            tuple(torch.tensor([e[2] for e in g]) for g in groups),
        )


@dataclass(frozen=True)
class Task:
    name: str
    train: Split
    test: Split


@dataclass(frozen=True)
class FinetuneConfig:
    epochs: int = 4
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 0.01
    restarts: int = 1  # fine-tunings per task, differing in their draws; the median is kept
    seed: int = 0

    def __post_init__(self):
        if self.epochs < 1 or self.batch_size < 1 or self.lr <= 0 or self.restarts < 1:
            raise ValueError(
                f"need epochs >= 1, batch_size >= 1, lr > 0, restarts >= 1; got {self.epochs}, "
                f"{self.batch_size}, {self.lr}, {self.restarts}"
            )


def read_at(states: Tensor, pos: Tensor) -> Tensor:
    """(B, T, D) states, (B,) positions -> (B, D): each example's state at its position."""
    return states[torch.arange(len(pos), device=states.device), pos]


def batches(split: Split, batch_size: int, g: torch.Generator) -> list[tuple[int, Tensor]]:
    """One epoch: (group, example indices) batches, shuffled within and across groups."""
    out = []
    for k, y in enumerate(split.y):
        order = torch.randperm(len(y), generator=g)
        out += [(k, order[i : i + batch_size]) for i in range(0, len(y), batch_size)]
    return [out[i] for i in torch.randperm(len(out), generator=g).tolist()]


@torch.no_grad()
def accuracy(encoder: nn.Module, head: nn.Module, split: Split) -> float:
    device = head.weight.device
    correct = 0
    for x, pos, y in zip(split.x, split.pos, split.y):
        for i in range(0, len(y), 512):
            h = read_at(encoder.encode(x[i : i + 512].to(device)), pos[i : i + 512].to(device))
            correct += int((head(h).argmax(-1).cpu() == y[i : i + 512]).sum())
    return correct / len(split)


def finetune(encoder: nn.Module, task: Task, cfg: FinetuneConfig) -> float:
    """Fine-tune a copy of ``encoder`` (whole) and a new head on ``task.train``; return the
    accuracy on ``task.test``. Runs on the device the encoder's parameters are on."""
    device = next(encoder.parameters()).device
    model = copy.deepcopy(encoder)
    g = torch.Generator().manual_seed(cfg.seed)
    head = nn.Linear(model.config.d_model, 2)
    with torch.no_grad():
        head.weight.copy_(torch.randn(head.weight.shape, generator=g) * 0.02)
        head.bias.zero_()
    head.to(device)
    params = [*model.parameters(), *head.parameters()]
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    model.train()
    total = cfg.epochs * sum(-(-len(y) // cfg.batch_size) for y in task.train.y)
    warmup, step = max(1, total // 10), 0
    for _ in range(cfg.epochs):
        for k, idx in batches(task.train, cfg.batch_size, g):
            step += 1
            for group in opt.param_groups:
                group["lr"] = cfg.lr * min(step / warmup, (total - step + 1) / (total - warmup + 1))
            x, pos = task.train.x[k][idx].to(device), task.train.pos[k][idx].to(device)
            loss = F.cross_entropy(
                head(read_at(model.encode(x), pos)), task.train.y[k][idx].to(device)
            )
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
    model.eval()
    return accuracy(model, head, task.test)


def median_finetune(encoder: nn.Module, task: Task, cfg: FinetuneConfig) -> float:
    """The median held-out accuracy of ``cfg.restarts`` fine-tunings (seeds seed, seed + 1000,
    ...); with an even number, the mean of the middle two."""
    accs = sorted(
        finetune(encoder, task, replace(cfg, seed=cfg.seed + 1000 * r)) for r in range(cfg.restarts)
    )
    mid = len(accs) // 2
    return accs[mid] if len(accs) % 2 else (accs[mid - 1] + accs[mid]) / 2


def evaluate(encoder: nn.Module, tasks: dict[str, Task], cfg: FinetuneConfig) -> dict[str, float]:
    """Held-out accuracy after fine-tuning on each task (the median of the restarts), and their
    mean ("score")."""
    scores = {name: median_finetune(encoder, task, cfg) for name, task in tasks.items()}
    scores["score"] = sum(scores.values()) / len(scores)
    return scores
