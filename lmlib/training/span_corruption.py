"""T5's span corruption: drop random spans, mark each with a sentinel, predict the spans.

Dims: T tokens of one sequence, S sentinel ids available, K corrupted spans.

With a noise density of 15% and a mean span length of 3 (Raffel et al., 2020), a sequence of T
tokens loses round(0.15 T) tokens in about round(0.15 T / 3) spans. The input keeps the other
tokens and puts one sentinel where each span was; the target lists each sentinel followed by
the span it stands for, and ends with one more sentinel:

    tokens   the key near the cabinets is lost .
    input    the key <0> cabinets is <1> .
    target   <0> near the <1> lost <2>
"""

from __future__ import annotations

import torch
from torch import Tensor

NOISE_DENSITY = 0.15
MEAN_SPAN = 3.0


def _segment(n_items: int, n_segments: int, generator: torch.Generator | None) -> Tensor:
    """A uniformly random split of n_items into n_segments non-empty parts -> lengths."""
    cuts = torch.randperm(n_items - 1, generator=generator)[: n_segments - 1] + 1
    edges = torch.cat(
        [torch.zeros(1, dtype=torch.long), cuts.sort().values, torch.tensor([n_items])]
    )
    return edges.diff()


def random_spans_mask(
    length: int,
    noise_density: float = NOISE_DENSITY,
    mean_span: float = MEAN_SPAN,
    generator: torch.Generator | None = None,
) -> Tensor:
    """(T,) bool, True on the corrupted tokens: round(density T) of them (at least 1, at most
    T - 1) in round(noise / mean_span) spans (at least 1), separated by kept runs; the sequence
    starts with kept tokens, as in T5."""
    if length < 2:
        raise ValueError(f"length must be >= 2 to keep and corrupt something, got {length}")
    if not 0 < noise_density < 1:
        raise ValueError(f"noise_density must be in (0, 1), got {noise_density}")
    if mean_span < 1:
        raise ValueError(f"mean_span must be >= 1, got {mean_span}")
    n_noise = min(max(round(length * noise_density), 1), length - 1)
    n_spans = max(1, min(round(n_noise / mean_span), length - n_noise))
    noise = _segment(n_noise, n_spans, generator)
    keep = _segment(length - n_noise, n_spans, generator)
    runs = torch.stack([keep, noise], dim=1).flatten()  # keep, noise, keep, noise, ...
    values = torch.tensor([False, True]).repeat(n_spans)
    return values.repeat_interleave(runs)


def _spans(noise_mask: Tensor) -> list[tuple[int, int]]:
    """[(start, end)] of each run of True in a (T,) bool mask."""
    padded = torch.cat([torch.tensor([False]), noise_mask, torch.tensor([False])]).int()
    edges = padded.diff()
    starts, ends = (edges == 1).nonzero()[:, 0], (edges == -1).nonzero()[:, 0]
    return list(zip(starts.tolist(), ends.tolist()))


def span_corrupt(tokens: Tensor, noise_mask: Tensor, sentinels: Tensor) -> tuple[Tensor, Tensor]:
    """tokens (T,), noise_mask (T,) bool, sentinels (S,) ids -> input and target (1-D).

    Span k (in order) becomes sentinels[k] in the input; the target is sentinels[k] followed
    by span k's tokens, for every k, then sentinels[K]. Needs S >= K + 1."""
    if tokens.dim() != 1 or noise_mask.shape != tokens.shape:
        raise ValueError(
            f"tokens must be (T,) and noise_mask the same shape; got {tuple(tokens.shape)} and "
            f"{tuple(noise_mask.shape)}"
        )
    if noise_mask.dtype != torch.bool:
        raise TypeError(f"noise_mask must be a bool tensor, got {noise_mask.dtype}")
    spans = _spans(noise_mask)
    if len(sentinels) < len(spans) + 1:
        raise ValueError(
            f"{len(spans)} spans need {len(spans) + 1} sentinel ids (one per span and a final "
            f"one), got {len(sentinels)}"
        )
    inputs, targets, prev = [], [], 0
    for k, (start, end) in enumerate(spans):
        inputs += [tokens[prev:start], sentinels[k : k + 1]]
        targets += [sentinels[k : k + 1], tokens[start:end]]
        prev = end
    inputs.append(tokens[prev:])
    targets.append(sentinels[len(spans) : len(spans) + 1])
    as_ids = lambda parts: torch.cat([p.to(tokens.dtype) for p in parts])  # noqa: E731
    return as_ids(inputs), as_ids(targets)


def reassemble(inputs: Tensor, targets: Tensor, sentinels: Tensor) -> Tensor:
    """The inverse of span_corrupt: put each span of the target back at its sentinel."""
    ids = sentinels.tolist()
    pieces: dict[int, list[int]] = {}
    current = None
    for t in targets.tolist():
        if t in ids:
            current = t
            pieces[t] = []
        elif current is None:
            raise ValueError("the target must start with a sentinel id")
        else:
            pieces[current].append(t)
    out: list[int] = []
    for t in inputs.tolist():
        if t in ids:
            if t not in pieces:
                raise ValueError(f"sentinel {t} is in the input but not in the target")
            out += pieces[t]
        else:
            out.append(t)
    return torch.tensor(out, dtype=inputs.dtype)
