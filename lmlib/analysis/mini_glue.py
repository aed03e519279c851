"""Mini-GLUE: three labelled tasks from the multitask corpus, read off a frozen encoder.

Dims: N examples, T tokens (fixed within a task), D encoder width.

Like GLUE, a pretrained encoder is judged by how well a small classifier on its representations
does on held-out examples; unlike GLUE, the tasks come from the course's synthetic corpus:
- sentiment (like SST-2): ``review dull lovely awful verdict`` -> good or bad (majority of the
  adjectives);
- agreement (like CoLA): ``the key near the cabinets is lost .`` -> acceptable or not (the verb
  agrees with the subject in half of the examples, with the attractor noun in the other half);
- facts (a fact check on one relation): ``Bodaki works as a baker .`` -> true or false, where a
  false example swaps in another job; the probe is trained on some people and tested on others.
Each example becomes the mean of the encoder's final states over its tokens. The probe is a
logistic regression with fixed settings, fitted on a few labelled examples (``shots``, half of
each class, several draws) and scored on the whole test split: with a few examples, only
representations that already group the examples by their label score well, which is what
pretraining is meant to give. (With hundreds of examples, a probe on a random, untrained
encoder already solves sentiment from the words alone.)
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from lmlib.data.multitask import VERBS, MultitaskCorpus

TASKS = ("sentiment", "agreement", "facts")
RELATION = "job"


@dataclass(frozen=True)
class Task:
    name: str
    train_x: Tensor  # (N, T) token ids
    train_y: Tensor  # (N,) 0 / 1
    test_x: Tensor
    test_y: Tensor


def _sentiment(corpus: MultitaskCorpus, rng: random.Random) -> tuple[list[str], int]:
    s = corpus.sentiment(rng)
    return list(s.words[:-2]), int(s.words[-2] == "good")  # drop the answer and the "."


def _agreement(corpus: MultitaskCorpus, rng: random.Random) -> tuple[list[str], int]:
    words = list(corpus.agreement(rng).words)
    ok = rng.random() < 0.5
    if not ok:
        pair = next(p for p in VERBS if words[5] in p)
        words[5] = pair[1 - pair.index(words[5])]
    return words, int(ok)


def _facts(corpus: MultitaskCorpus, people: list[int], rng: random.Random) -> tuple[list[str], int]:
    kb = corpus.kb
    fact = next(
        f
        for f in kb.facts[people[rng.randrange(len(people))] * len(kb.relations) :]
        if f.relation == RELATION
    )
    words = kb.sentence(fact)
    true = rng.random() < 0.5
    if not true:
        words[-2] = rng.choice([a for a in kb.relations[RELATION] if a != fact.answer])
    return words, int(true)


def _encode(corpus: MultitaskCorpus, pairs: list[tuple[list[str], int]]) -> tuple[Tensor, Tensor]:
    ids = torch.tensor([corpus.tokenizer.encode(w) for w, _ in pairs])
    return ids, torch.tensor([y for _, y in pairs])


def make_tasks(
    corpus: MultitaskCorpus,
    n_train: int = 512,
    n_test: int = 512,
    n_people: int = 64,
    seed: int = 0,
) -> dict[str, Task]:
    """The three tasks, each with n_train training and n_test test examples. Facts are about the
    n_people most-mentioned people: even ranks train the probe, odd ranks test it."""
    if n_train < 2 or n_test < 2:
        raise ValueError(f"need n_train, n_test >= 2, got {n_train}, {n_test}")
    if not 2 <= n_people <= corpus.kb.n_entities:
        raise ValueError(f"n_people must be in [2, {corpus.kb.n_entities}], got {n_people}")
    tasks = {}
    for name in TASKS:
        splits = []
        for split, n in (("train", n_train), ("test", n_test)):
            rng = random.Random(f"mini-glue-{name}-{split}-{seed}")
            if name == "facts":
                people = list(range(split == "test", n_people, 2))
                pairs = [_facts(corpus, people, rng) for _ in range(n)]
            else:
                pairs = [
                    (_sentiment if name == "sentiment" else _agreement)(corpus, rng)
                    for _ in range(n)
                ]
            splits.append(_encode(corpus, pairs))
        (trx, try_), (tex, tey) = splits
        tasks[name] = Task(name, trx, try_, tex, tey)
    return tasks


@torch.no_grad()
def features(encoder: nn.Module, x: Tensor, batch_size: int = 512) -> Tensor:
    """(N, T) ids -> (N, D): the mean over tokens of ``encoder.encode``'s final states."""
    was_training = encoder.training
    encoder.eval()
    try:
        out = [
            encoder.encode(x[i : i + batch_size]).mean(dim=1) for i in range(0, len(x), batch_size)
        ]
    finally:
        encoder.train(was_training)
    return torch.cat(out).double()


def linear_probe(
    train_f: Tensor,
    train_y: Tensor,
    test_f: Tensor,
    test_y: Tensor,
    l2: float = 1e-2,
    iters: int = 100,
) -> float:
    """Fit a logistic regression (standardised features, L2 penalty l2, L-BFGS) on the train
    split and return its accuracy on the test split."""
    mean, std = train_f.mean(0), train_f.std(0).clamp_min(1e-8)
    a, b = (train_f - mean) / std, (test_f - mean) / std
    w = torch.zeros(a.shape[1] + 1, dtype=a.dtype, requires_grad=True)
    opt = torch.optim.LBFGS([w], max_iter=iters, line_search_fn="strong_wolfe")
    y = train_y.to(a.dtype)

    def closure() -> Tensor:
        opt.zero_grad()
        logits = a @ w[:-1] + w[-1]
        loss = nn.functional.binary_cross_entropy_with_logits(logits, y) + l2 * (w[:-1] ** 2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        pred = (b @ w[:-1] + w[-1]) > 0
    return float((pred.long() == test_y).double().mean())


def few_shot_accuracy(
    train_f: Tensor, train_y: Tensor, test_f: Tensor, test_y: Tensor, shots: int, draws: int
) -> float:
    """Mean test accuracy of probes fitted on ``draws`` balanced draws of ``shots`` examples."""
    if shots < 2 or shots % 2:
        raise ValueError(f"shots must be an even number >= 2 (half per class), got {shots}")
    by_class = [(train_y == c).nonzero()[:, 0] for c in (0, 1)]
    if min(len(i) for i in by_class) < shots // 2:
        raise ValueError(f"the training pool has too few examples of a class for {shots} shots")
    accs = []
    for draw in range(draws):
        g = torch.Generator().manual_seed(draw)
        pick = torch.cat([i[torch.randperm(len(i), generator=g)[: shots // 2]] for i in by_class])
        accs.append(linear_probe(train_f[pick], train_y[pick], test_f, test_y))
    return sum(accs) / len(accs)


def evaluate(
    encoder: nn.Module, tasks: dict[str, Task], shots: int = 16, draws: int = 8
) -> dict[str, float]:
    """Held-out few-shot probe accuracy on each task, and their mean ("score", as GLUE
    averages its tasks)."""
    scores = {
        name: few_shot_accuracy(
            features(encoder, t.train_x),
            t.train_y,
            features(encoder, t.test_x),
            t.test_y,
            shots,
            draws,
        )
        for name, t in tasks.items()
    }
    scores["score"] = sum(scores.values()) / len(scores)
    return scores
