"""BART's noising functions: corrupt a document, and let a model restore the original.

Dims: T tokens of one document, S spans.

Lewis et al. (2020) compare five corruptions; text infilling with sentence permutation worked
best, and their large model masks 30% of the tokens and permutes all sentences:
- token masking: tokens become [MASK] at random (as BERT);
- token deletion: tokens are removed, so the model must also find where;
- text infilling: spans with Poisson(3) lengths each become one [MASK] (a length-0 span
  inserts a [MASK]), so the model must also say how many tokens are missing;
- sentence permutation: the sentences (split after each end-of-sentence id) are shuffled;
- document rotation: the document is rotated to start at a random token.
The target of every one is the original document.
"""

from __future__ import annotations

import torch
from torch import Tensor

INFILL_RATE = 0.3
POISSON_LAMBDA = 3.0


def _check_tokens(tokens: Tensor) -> None:
    if not isinstance(tokens, Tensor) or tokens.dim() != 1:
        raise ValueError(
            f"tokens must be a (T,) tensor of ids, got {getattr(tokens, 'shape', tokens)}"
        )


def _check_rate(rate: float) -> None:
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"rate must be a probability in [0, 1], got {rate}")


def infill_spans(tokens: Tensor, spans: Tensor, mask_id: int) -> Tensor:
    """tokens (T,), spans (S, 2) rows (start, length), sorted and not overlapping -> the
    document with each span replaced by one mask_id; a length-0 span inserts mask_id before
    tokens[start]."""
    _check_tokens(tokens)
    if spans.dim() != 2 or spans.shape[1] != 2:
        raise ValueError(f"spans must be (S, 2) rows of (start, length), got {tuple(spans.shape)}")
    out, prev = [], 0
    for start, length in spans.tolist():
        if length < 0 or start < prev or start + length > len(tokens):
            raise ValueError(
                f"span (start={start}, length={length}) overlaps the previous one, is out of "
                f"order or runs past the {len(tokens)} tokens; spans must be sorted and disjoint"
            )
        out += [tokens[prev:start], torch.tensor([mask_id], dtype=tokens.dtype)]
        prev = start + length
    out.append(tokens[prev:])
    return torch.cat(out)


def sample_infill_spans(
    length: int,
    rate: float = INFILL_RATE,
    poisson_lambda: float = POISSON_LAMBDA,
    generator: torch.Generator | None = None,
) -> Tensor:
    """(S, 2) spans (start, length) covering round(rate x length) tokens: lengths drawn from
    Poisson(poisson_lambda) until they add up (the last one cut to fit), then placed in a random
    order of kept gaps."""
    _check_rate(rate)
    if length < 1 or poisson_lambda <= 0:
        raise ValueError(f"need length >= 1 and poisson_lambda > 0, got {length}, {poisson_lambda}")
    budget = round(rate * length)
    lengths: list[int] = []
    while sum(lengths) < budget:
        draws = torch.poisson(torch.full((max(4, budget),), poisson_lambda), generator=generator)
        for d in draws.long().tolist():
            lengths.append(min(d, budget - sum(lengths)))
            if sum(lengths) >= budget:
                break
    if not lengths:
        return torch.zeros(0, 2, dtype=torch.long)
    gaps = torch.randint(0, length - budget + 1, (len(lengths) + 1,), generator=generator)
    cuts = torch.cat([torch.tensor([0]), gaps[:-1].sort().values])
    gap = cuts.diff()  # kept tokens before each span (they sum to at most length - budget)
    lens = torch.tensor(lengths)
    starts = torch.cumsum(gap, 0) + torch.cumsum(lens, 0) - lens
    return torch.stack([starts, lens], dim=1)


def text_infilling(
    tokens: Tensor,
    mask_id: int,
    rate: float = INFILL_RATE,
    poisson_lambda: float = POISSON_LAMBDA,
    generator: torch.Generator | None = None,
) -> Tensor:
    """(T,) -> (T',): spans with Poisson lengths, about rate x T tokens, each to one mask."""
    _check_tokens(tokens)
    return infill_spans(
        tokens, sample_infill_spans(len(tokens), rate, poisson_lambda, generator), mask_id
    )


def token_masking(
    tokens: Tensor, mask_id: int, rate: float, generator: torch.Generator | None = None
) -> Tensor:
    """(T,) -> (T,): each token becomes mask_id with probability rate."""
    _check_tokens(tokens)
    _check_rate(rate)
    hit = torch.rand(tokens.shape, generator=generator) < rate
    return torch.where(hit, torch.full_like(tokens, mask_id), tokens)


def token_deletion(tokens: Tensor, rate: float, generator: torch.Generator | None = None) -> Tensor:
    """(T,) -> (T',): each token is deleted with probability rate."""
    _check_tokens(tokens)
    _check_rate(rate)
    return tokens[torch.rand(tokens.shape, generator=generator) >= rate]


def sentence_permutation(
    tokens: Tensor, end_id: int, generator: torch.Generator | None = None
) -> Tensor:
    """(T,) -> (T,): the sentences, each ending at end_id (a trailing fragment counts as one),
    in a random order."""
    _check_tokens(tokens)
    ends = (tokens == end_id).nonzero()[:, 0] + 1
    bounds = [0, *ends.tolist()] + (
        [len(tokens)] if not len(ends) or ends[-1] < len(tokens) else []
    )
    sentences = [tokens[a:b] for a, b in zip(bounds, bounds[1:])]
    if not sentences:
        return tokens.clone()
    order = torch.randperm(len(sentences), generator=generator)
    return torch.cat([sentences[i] for i in order.tolist()])


def document_rotation(tokens: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """(T,) -> (T,): rotated to start at a uniformly chosen token."""
    _check_tokens(tokens)
    if len(tokens) == 0:
        return tokens.clone()
    start = int(torch.randint(len(tokens), (1,), generator=generator))
    return torch.roll(tokens, -start)
