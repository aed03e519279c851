"""Lab 4.2, pretraining objectives: BERT masking, replaced-token detection, T5 span corruption,
BART text infilling.

Dims: B batch, T tokens, V vocabulary, S spans.

The masking exercise is random; it takes a seed and makes its draws in a documented order, so
its answer is exact on each fixed generator. Its cases are large enough that a wrong rate, a
wrong 80/10/10 split or labels in the wrong places change thousands of entries.
"""

from __future__ import annotations

import torch
from torch import Tensor

from lmlib.grading.spec import Case, Exercise, draw
from lmlib.training.denoising import infill_spans, sample_infill_spans
from lmlib.training.electra import replaced_token_loss as _rtd
from lmlib.training.masking import mask_tokens as _mask
from lmlib.training.span_corruption import random_spans_mask
from lmlib.training.span_corruption import span_corrupt as _span

LAB = "4_2_pretraining_objectives"


def mask_tokens(idx: Tensor, rate: float, mask_id: int, vocab_size: int, seed: int):
    """The lab's signature: lmlib.training.masking.mask_tokens on Generator().manual_seed(seed)."""
    return _mask(idx, rate, mask_id, vocab_size, torch.Generator().manual_seed(seed))


def replaced_token_loss(disc_logits: Tensor, original: Tensor, corrupted: Tensor, masked: Tensor):
    return _rtd(disc_logits, original, corrupted, masked)


def span_corrupt(tokens: Tensor, noise_mask: Tensor, sentinels: Tensor):
    return _span(tokens, noise_mask, sentinels)


def text_infill(tokens: Tensor, spans: Tensor, mask_id: int) -> Tensor:
    return infill_spans(tokens, spans, mask_id)


def _seed(rng: torch.Generator) -> int:
    return int(torch.randint(0, 2**31 - 1, (1,), generator=rng))


def _mask_cases(rng: torch.Generator) -> list[Case]:
    cases = []
    for (B, T), rate, V in [((64, 64), 0.15, 50), ((8, 32), 0.5, 20), ((4, 16), 1.0, 9),
                            ((3, 10), 0.0, 30), ((16, 64), 0.3, 500),
                            ((draw(rng, 1, 9), 2 * draw(rng, 8, 40) + 1), 0.4, draw(rng, 5, 90)),
                            ((2, 0), 0.5, 7)]:  # fmt: skip
        mask_id = draw(rng, 0, V - 1)  # a fresh id each time: an answer cannot fix it
        idx = torch.randint(0, V, (B, T), generator=rng)
        cases.append(Case((idx, rate, mask_id, V, _seed(rng))))
    return cases


def _mask_twin(case: Case, rng: torch.Generator) -> Case:
    idx, rate, mask_id, V, _ = case.args
    return Case((torch.randint(0, V, idx.shape, generator=rng), rate, mask_id, V, _seed(rng)))


def _rtd_cases(rng: torch.Generator) -> list[Case]:
    cases = []
    fresh = (draw(rng, 1, 6), 2 * draw(rng, 5, 20) + 1, draw(rng, 2, 60))
    for B, T, V in [(4, 16, 5), (2, 9, 3), (8, 32, 50), fresh]:  # small V: many sampled originals
        original = torch.randint(0, V, (B, T), generator=rng)
        masked = torch.rand(B, T, generator=rng) < 0.3
        masked[0, :2] = True
        drawn = torch.randint(0, V, (B, T), generator=rng)
        drawn[0, 0], drawn[0, 1] = original[0, 0], (original[0, 1] + 1) % V  # the rule, exercised
        corrupted = torch.where(masked, drawn, original)
        logits = torch.randn(B, T, generator=rng) * 2
        cases.append(Case((logits, original, corrupted, masked)))
    return cases


def _sentinels(rng: torch.Generator, n: int) -> Tensor:
    start = draw(rng, 100, 30_000)  # fresh ids: an answer cannot know them in advance
    return torch.arange(start, start + n)


def _span_cases(rng: torch.Generator) -> list[Case]:
    cases = []
    fresh = (2 * draw(rng, 10, 50) + 1, 0.1 + 0.4 * float(torch.rand((), generator=rng)), 2.0)
    for T, density, span in [(20, 0.15, 3.0), (40, 0.3, 2.0), (12, 0.5, 1.0), (64, 0.15, 3.0),
                             fresh]:  # fmt: skip
        tokens = torch.randint(0, 100, (T,), generator=rng)
        noise = random_spans_mask(T, density, span, rng)
        cases.append(Case((tokens, noise, _sentinels(rng, T + 1))))
    tokens = torch.arange(1, 9)  # spans at both ends
    noise = torch.tensor([1, 1, 0, 0, 1, 0, 1, 1]).bool()
    cases.append(Case((tokens, noise, _sentinels(rng, 5))))
    cases.append(Case((tokens, torch.zeros(8, dtype=torch.bool), _sentinels(rng, 2))))  # no span
    cases.append(Case((torch.tensor([7]), torch.tensor([True]), _sentinels(rng, 2))))  # all one
    return cases


def _tokens_twin(case: Case, rng: torch.Generator) -> Case:
    """The same spans (and sizes) over other tokens."""
    tokens, *rest = case.args
    return Case((tokens[torch.randperm(len(tokens), generator=rng)] + 1, *rest))


def _infill_cases(rng: torch.Generator) -> list[Case]:
    cases = []
    for T, rate in [(30, 0.3), (60, 0.3), (10, 0.5), (40, 0.1), (2 * draw(rng, 10, 40) + 1, 0.2)]:
        tokens = torch.randint(1, 100, (T,), generator=rng)
        cases.append(Case((tokens, sample_infill_spans(T, rate, 3.0, rng), draw(rng, 0, 120))))
    tokens = torch.arange(1, 11)  # a length-0 span (an inserted mask), spans at both ends
    spans = torch.tensor([[0, 2], [4, 0], [6, 1], [8, 2]])
    cases.append(Case((tokens, spans, draw(rng, 0, 120))))
    cases.append(Case((tokens, torch.zeros(0, 2, dtype=torch.long), 0)))  # no span at all
    return cases


EXERCISES = [
    Exercise(
        name="mask_tokens",
        cases=_mask_cases,
        reference=mask_tokens,
        twin=_mask_twin,
        samples=True,
        rules="g = torch.Generator().manual_seed(seed); draw u = torch.rand(idx.shape, "
        "generator=g), then a = torch.rand(idx.shape, generator=g), then r = torch.randint("
        "vocab_size, idx.shape, generator=g). Chosen: u < rate. A chosen token becomes mask_id "
        "if a < 0.8, r if 0.8 <= a < 0.9, and stays otherwise. Return (inputs, labels), labels "
        "= the original token where chosen and -100 elsewhere. Use only that generator: "
        "torch's global random state must not change.",
    ),
    Exercise(
        name="replaced_token_loss",
        cases=_rtd_cases,
        reference=replaced_token_loss,
        rules="Return a 0-dim tensor: the mean over all B x T positions of the binary "
        "cross-entropy of disc_logits against 1 where corrupted != original, else 0.",
    ),
    Exercise(
        name="span_corrupt",
        cases=_span_cases,
        reference=span_corrupt,
        twin=_tokens_twin,
        rules="Return (inputs, targets), 1-D tensors of tokens' dtype: span k becomes "
        "sentinels[k] in the input; the target is sentinels[k] + span k for each k, then "
        "sentinels[K] after the last of the K spans.",
    ),
    Exercise(
        name="text_infill",
        cases=_infill_cases,
        reference=text_infill,
        twin=_tokens_twin,
        rules="Return a 1-D tensor of tokens' dtype: each (start, length) span becomes one "
        "mask_id; a length-0 span inserts mask_id before tokens[start].",
    ),
]
