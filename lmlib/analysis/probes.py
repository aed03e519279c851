"""Held-out probes of the multitask corpus, and the metrics that score them.

A probe is a batch of sentences read with teacher forcing: the model sees the true words and we
read its prediction of each answer word. Four ways to score the same predictions:
- loss: mean -log p(answer word), per answer token (smooth in model quality);
- token accuracy: fraction of answer tokens whose most likely word is right;
- exact match: fraction of items with EVERY answer token right (all-or-nothing; equals greedy
  decoding's exact match, since greedy follows the true words as long as they are all right);
- two-way: p(right word) > p(one named wrong word) at the single answer position (chance 0.5).

Dims: N items, T tokens, V vocabulary.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass

import torch
from torch import Tensor, nn

from lmlib.analysis.skills import decompose_loss
from lmlib.data.knowledge import END
from lmlib.data.multitask import TASKS, VERBS, MultitaskCorpus, Sentence, Stream
from lmlib.data.tokenizer import WordTokenizer
from lmlib.runtime.device import evaluating
from lmlib.training.loss import token_losses


@dataclass(frozen=True)
class Probe:
    name: str
    idx: Tensor  # (N, T) inputs: END, then the sentence without its last word; padded with END
    targets: Tensor  # (N, T) the next word at every position
    answer: Tensor  # (N, T) bool: positions whose next word is an answer
    alt: Tensor  # (N, T) the wrong word of a two-way probe at its answer position, else -1


def make_probe(
    name: str, sentences: list[Sentence], tok: WordTokenizer, alt: list[str] | None = None
) -> Probe:
    """Stack sentences into a probe; alt (one word per sentence) makes it a two-way probe."""
    if not sentences:
        raise ValueError(f"probe {name!r} needs at least one sentence")
    T = max(len(s.words) for s in sentences)
    end = tok.encode([END])[0]
    idx = torch.full((len(sentences), T), end)
    targets = torch.full((len(sentences), T), end)
    answer = torch.zeros(len(sentences), T, dtype=torch.bool)
    alts = torch.full((len(sentences), T), -1)
    for i, s in enumerate(sentences):
        ids = tok.encode([END, *s.words])
        n = len(ids) - 1
        idx[i, :n], targets[i, :n] = torch.tensor(ids[:-1]), torch.tensor(ids[1:])
        answer[i, :n] = torch.tensor(s.answer)
        if alt is not None:
            if sum(s.answer) != 1:
                raise ValueError(f"a two-way probe needs one answer per sentence ({name!r})")
            alts[i, s.answer.index(True)] = tok.encode([alt[i]])[0]
    return Probe(name, idx, targets, answer, alts)


def exact_match(logits: Tensor, targets: Tensor, answer: Tensor) -> Tensor:
    """(N, T, V), (N, T), (N, T) bool -> (N,) bool: is every answer token the argmax?"""
    correct = logits.argmax(dim=-1) == targets  # (N, T)
    return (correct | ~answer).all(dim=1)


def token_accuracy(logits: Tensor, targets: Tensor, answer: Tensor) -> float:
    """(N, T, V), (N, T), (N, T) bool -> fraction of answer tokens whose argmax is the target."""
    correct = (logits.argmax(dim=-1) == targets) & answer
    return correct.sum().item() / max(1, answer.sum().item())


def shares_and_losses(losses: Tensor, labels: Tensor, n_tasks: int) -> tuple[Tensor, Tensor]:
    """Per-token losses and task labels (any shape) -> (K,) token shares and (K,) mean losses.

    sum_k shares[k] * means[k] equals losses.mean(); a task without tokens gets mean loss 0.
    """
    losses, labels = losses.flatten().double(), labels.flatten()
    counts = torch.bincount(labels, minlength=n_tasks).double()
    sums = torch.bincount(labels, weights=losses, minlength=n_tasks)
    return counts / labels.numel(), sums / counts.clamp(min=1)


def probe_scores(logits: Tensor, p: Probe) -> dict[str, Tensor]:
    """Per-item scores: loss (mean over its answer tokens), token_acc, exact, two_way."""
    logp = logits.float().log_softmax(dim=-1)  # (N, T, V)
    right = logp.gather(-1, p.targets[..., None])[..., 0]  # (N, T)
    n_ans = p.answer.sum(dim=1).clamp(min=1)
    correct = (logits.argmax(dim=-1) == p.targets) & p.answer
    scores = {
        "loss": -(right * p.answer).sum(dim=1) / n_ans,
        "token_acc": correct.sum(dim=1) / n_ans,
        "exact": exact_match(logits, p.targets, p.answer).float(),
    }
    if (p.alt >= 0).any():
        wrong = logp.gather(-1, p.alt.clamp(min=0)[..., None])[..., 0]
        scores["two_way"] = ((right > wrong) & p.answer).any(dim=1).float()
    return scores


@torch.no_grad()
def run_probe(model: nn.Module, p: Probe, batch_size: int = 256) -> dict[str, Tensor]:
    """Per-item scores of `model` on probe `p` (eval mode, restored afterwards)."""
    device = next(model.parameters()).device
    columns = (p.idx, p.targets, p.answer, p.alt)
    with evaluating(model):
        parts = [
            probe_scores(
                model(p.idx[i : i + batch_size].to(device)).cpu(),
                Probe(p.name, *(t[i : i + batch_size] for t in columns)),
            )
            for i in range(0, len(p.idx), batch_size)
        ]
    return {k: torch.cat([part[k] for part in parts]) for k in parts[0]}


def summarize(scores: dict[str, Tensor]) -> dict[str, float]:
    return {k: round(v.float().mean().item(), 5) for k, v in scores.items()}


def standard_probes(
    corpus: MultitaskCorpus,
    n: int = 200,
    seed: int = 1,
    seen: set[tuple[str, ...]] | None = None,
    n_sums: int | None = None,
) -> dict[str, Probe]:
    """The probes of every family (new random sentences; all facts; all quotes).

    With `seen` (the training stream's sentences, MultitaskCorpus.seen), each family of new
    sentences splits in two: `name` keeps only items that never occur in training (held out by
    construction) and `name_seen` the ones that do (memorisation). Facts and quotes are trained
    items by design; the memo trap never is. 3-digit sums are drawn until n_sums (default n) of
    them are held out; a split with no items is left out."""
    rng, tok = random.Random(f"probes-{seed}"), corpus.tokenizer
    other = {a: b for pair in VERBS for a, b in (pair, pair[::-1])}
    flip = {"good": "bad", "bad": "good"}
    items: dict[str, tuple[list[Sentence], dict | None]] = {
        "agreement": ([corpus.agreement(rng, mismatch=True) for _ in range(n)], other),
        "sentiment": ([corpus.sentiment(rng) for _ in range(n)], flip),
        "copying": ([corpus.copying(rng) for _ in range(n)], None),
    }
    for d in (1, 2, 3):
        items[f"arithmetic_{d}"] = ([corpus.arithmetic(rng, d) for _ in range(n)], None)
    if seen is not None and n_sums:
        sums = items["arithmetic_3"][0]
        fresh = {x.words for x in sums if x.words not in seen}
        while len(fresh) < n_sums:
            sums.append(corpus.arithmetic(rng, 3))
            if sums[-1].words not in seen:
                fresh.add(sums[-1].words)
    probes = {}
    for name, (sentences, alt_of) in items.items():
        splits = {name: sentences}
        if seen is not None:
            splits = {
                name: [x for x in sentences if x.words not in seen],
                f"{name}_seen": [x for x in sentences if x.words in seen],
            }
        for key, group in splits.items():
            if group:
                alt = None if alt_of is None else [alt_of[x.words[5]] for x in group]
                probes[key] = make_probe(key, group, tok, alt)
    facts = [corpus.fact(rng, i) for i in range(len(corpus.kb.facts))]
    probes["facts"] = make_probe("facts", facts, tok)
    quotes = [corpus.quote(rng, i) for i in range(len(corpus.quotes))]
    probes["quotes"] = make_probe("quotes", quotes, tok)
    memo = [corpus.memo_trap(i) for i in range(len(corpus.quotes))]
    probes["memo_trap"] = make_probe("memo_trap", memo, tok, [q[-1] for q in corpus.quotes])
    return probes


HELD_OUT = ("agreement", "sentiment", "copying", "arithmetic_1", "arithmetic_2", "arithmetic_3")
HELD_OUT += ("memo_trap",)  # the families whose unsuffixed probe is held out when `seen` is given


COUNT_BINS = (0, 1, 4, 16, 64, 256)  # facts seen [0], [1, 4), [4, 16), ... [256, inf) times


def facts_by_count(scores: dict[str, Tensor], counts: list[int]) -> list[dict]:
    """Fact recall grouped by how often each fact occurred in training."""
    c = torch.tensor(counts)
    edges = [*COUNT_BINS, float("inf")]
    rows = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        keep = (c >= lo) & (c < max(hi, lo + 1))
        if keep.any():
            rows.append(
                {"min_count": lo, "n_facts": int(keep.sum())}
                | {k: round(v[keep].mean().item(), 5) for k, v in scores.items()}
            )
    return rows


@torch.no_grad()
def task_losses(model: nn.Module, stream: Stream, context: int, max_windows: int = 64) -> dict:
    """Loss of `model` on consecutive windows of a held-out stream, split by family.

    Returns the overall mean loss and, per family, its token share and mean loss; the
    share-weighted sum of the family losses equals the overall loss exactly.
    """
    n = min(max_windows, (len(stream.ids) - 1) // context)
    if n < 1:
        raise ValueError(f"the stream has {len(stream.ids)} tokens, need > context={context}")
    x = stream.ids[: n * context].reshape(n, context)
    y = stream.ids[1 : n * context + 1].reshape(n, context)
    labels = stream.family[1 : n * context + 1].reshape(n, context)
    device = next(model.parameters()).device
    with evaluating(model):
        losses = token_losses(model(x.to(device)), y.to(device)).cpu()
    parts = decompose_loss(losses, labels, TASKS)
    return {"loss": losses.double().mean().item(), "tasks": [asdict(t) for t in parts]}
