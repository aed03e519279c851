"""The distillation experiment's world: the text every model reads and how a model is scored.

`s` is the experiment's Settings (lmlib.experiments.distill.Settings).

Dims: T tokens (the context).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from lmlib.analysis.probes import facts_by_count, run_probe, standard_probes, task_losses
from lmlib.data.multitask import MultitaskCorpus
from lmlib.models.transformer import TransformerLM
from lmlib.runtime.device import evaluating
from lmlib.training.students import corrupt_targets

TAIL = (1, 16)  # tail facts: seen at least 1 and fewer than 16 times in training


@dataclass(frozen=True)
class World:
    corpus: MultitaskCorpus
    ids: torch.Tensor  # the training text
    noisy_targets: torch.Tensor  # its next-token targets with `noise` of them replaced
    limited_ids: torch.Tensor  # the first limited_fraction of `ids`: the data-limited arm's text
    fact_counts: list[int]  # times each fact occurs in the training text
    held_out: object  # a clean held-out Stream


def build_world(s: Any) -> World:
    corpus = MultitaskCorpus(s.n_entities, s.n_quotes, seed=0)
    n = max(s.teacher_steps, s.steps) * s.batch_size * s.context + s.context + 1
    stream = corpus.stream(n, seed=0)
    noisy = corrupt_targets(stream.ids, s.noise, corpus.tokenizer.vocab_size, seed=1)
    held_out = corpus.stream(64 * s.context + 1, seed=1)
    limited = stream.ids[: int(len(stream.ids) * s.limited_fraction)]
    if s.limited is not None and len(limited) < 2 * s.context + 2:
        raise ValueError(
            f"limited_fraction={s.limited_fraction} leaves {len(limited)} tokens, fewer than "
            f"two windows of context={s.context}; raise it or the steps"
        )
    return World(corpus, stream.ids, noisy, limited, stream.fact_counts, held_out)


def held_out_accuracy(model: TransformerLM, world: World, context: int, windows: int = 64) -> float:
    """Share of next tokens of the held-out stream that are the model's top guess (the windows
    of lmlib.analysis.probes.task_losses)."""
    ids = world.held_out.ids
    n = min(windows, (len(ids) - 1) // context)
    x = ids[: n * context].reshape(n, context)
    y = ids[1 : n * context + 1].reshape(n, context)
    device = next(model.parameters()).device
    with evaluating(model), torch.no_grad():
        guess = model(x.to(device)).argmax(-1).cpu()  # (n, T)
    return (guess == y).double().mean().item()


def evaluate(model: TransformerLM, world: World, s: Any) -> dict:
    """Clean held-out loss (and by family), fact recall overall, in the tail, by count."""
    facts = run_probe(model, standard_probes(world.corpus, s.probe_items)["facts"])
    counts = torch.tensor(world.fact_counts)
    tail = (counts >= TAIL[0]) & (counts < TAIL[1])
    held = task_losses(model, world.held_out, s.context)
    return {
        "held_out_loss": held["loss"],
        "held_out_accuracy": held_out_accuracy(model, world, s.context),
        "tasks": held["tasks"],
        "fact_recall": facts["exact"].mean().item(),
        "tail_recall": facts["exact"][tail].mean().item(),
        "n_tail_facts": int(tail.sum()),
        "facts_by_count": facts_by_count(facts, world.fact_counts),
    }
