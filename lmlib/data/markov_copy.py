"""A synthetic task with near and far structure: a local Markov chain, then a copy of it.

Dims: V symbols (ids 0 .. V-1), L prefix length, P = 2L + 2 period, N tokens.

Every example is ``x_1 .. x_L | x_1 .. x_L .``: a prefix drawn from a second-order Markov chain
over V symbols, a bar, the same prefix again, and an end mark. Two kinds of structure decide the
next token:

- near: in the prefix, x_t depends on x_{t-1} (which three symbols may follow) and on x_{t-2}
  (which of the three is likely). A bigram model sees only the first; any model that sees two
  tokens back sees both.
- far: after the bar every token repeats the token L + 1 positions earlier, and the bar and end
  marks come at fixed places in a period of P tokens. Only a model that sees L + 1 tokens back can
  use this; a causal CNN with a smaller receptive field cannot, however long it trains.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True)
class MarkovCopyTask:
    n_symbols: int = 16
    prefix_len: int = 12
    n_next: int = 3  # symbols that may follow each symbol
    peak: float = 0.8  # probability of the likeliest of them, set by the token two back
    seed: int = 0  # draws the chain (the "language"); data seeds are separate

    def __post_init__(self):
        if self.n_symbols < 2 or self.prefix_len < 3:
            raise ValueError(
                f"need n_symbols >= 2 and prefix_len >= 3, got {self.n_symbols}, {self.prefix_len}"
            )
        if not 2 <= self.n_next <= self.n_symbols:
            raise ValueError(
                f"n_next must be in 2 .. n_symbols={self.n_symbols}, got {self.n_next}"
            )
        if not 1 / self.n_next <= self.peak < 1:
            raise ValueError(f"peak must be in [1/n_next, 1), got {self.peak}")

    @property
    def bar(self) -> int:
        return self.n_symbols

    @property
    def end(self) -> int:
        return self.n_symbols + 1

    @property
    def vocab_size(self) -> int:
        return self.n_symbols + 2

    @property
    def period(self) -> int:
        return 2 * self.prefix_len + 2

    def _chain(self) -> tuple[list[list[int]], list[list[list[float]]]]:
        """successors[b]: the n_next symbols that may follow b; weights[a][b]: their
        probabilities after the pair (a, b), a permutation of (peak, rest, ..., rest).
        Row a = n_symbols is the context of the second token, whose token two back is the
        end mark of the previous example."""
        rng = random.Random(f"markov-copy-{self.seed}")
        V, m = self.n_symbols, self.n_next
        successors = [rng.sample(range(V), m) for _ in range(V)]
        base = [self.peak] + [(1 - self.peak) / (m - 1)] * (m - 1)
        weights = [[rng.sample(base, m) for _ in range(V)] for _ in range(V + 1)]
        return successors, weights

    def stream(self, n_examples: int, seed: int) -> Tensor:
        """(n_examples * P,) token ids: examples back to back, each ending with the end mark."""
        if n_examples < 1:
            raise ValueError(f"n_examples must be >= 1, got {n_examples}")
        successors, weights = self._chain()
        rng = random.Random(f"markov-copy-data-{self.seed}-{seed}")
        ids: list[int] = []
        for _ in range(n_examples):
            prefix = [rng.randrange(self.n_symbols)]
            two_back = self.n_symbols  # the previous example's end mark
            while len(prefix) < self.prefix_len:
                b = prefix[-1]
                prefix.append(rng.choices(successors[b], weights=weights[two_back][b])[0])
                two_back = b
            ids += [*prefix, self.bar, *prefix, self.end]
        return torch.tensor(ids)

    def windows(self, stream: Tensor) -> Tensor:
        """(n - 1, P + 1) windows of a stream made by `stream`, each starting at an end mark:
        inputs [:, :-1] hold one whole example after its predecessor's end, targets [:, 1:]."""
        P = self.period
        if stream.dim() != 1 or len(stream) % P or len(stream) < 2 * P:
            raise ValueError(
                f"stream must be a 1-D stream of at least 2 whole examples of {P} tokens, "
                f"got shape {tuple(stream.shape)}"
            )
        return stream[P - 1 :].unfold(0, P + 1, P)

    def step_entropy(self) -> float:
        """Entropy (nats) of each chain step given the two tokens before it."""
        rest = (1 - self.peak) / (self.n_next - 1)
        return -(self.peak * math.log(self.peak) + (self.n_next - 1) * rest * math.log(rest))

    def floor(self) -> float:
        """The lowest possible mean loss per token of a window from `windows`: the first symbol
        is a uniform guess, the next L - 1 cost the step entropy, the rest is determined."""
        L = self.prefix_len
        return (math.log(self.n_symbols) + (L - 1) * self.step_entropy()) / self.period
