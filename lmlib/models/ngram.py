"""Count-based n-gram models: the baselines a neural LM has to beat.

An order-n model predicts the next token from the previous n - 1 by counting, with add-k
smoothing so unseen continuations keep a little probability.
"""

from __future__ import annotations

import torch
from torch import Tensor


def ngram_log_probs(train: Tensor, vocab_size: int, n: int, k: float = 0.1) -> Tensor:
    """Table of log p(next | previous n-1 tokens): shape (V,) * (n - 1) + (V,)."""
    if n < 1 or vocab_size**n > 50_000_000:
        raise ValueError(f"n={n} with vocab_size={vocab_size} is out of range for a count table")
    index = torch.zeros(len(train) - n + 1, dtype=torch.long)
    for j in range(n):  # encode each n-gram as one integer in base V
        index = index * vocab_size + train[j : len(train) - n + 1 + j]
    counts = torch.bincount(index, minlength=vocab_size**n).double() + k
    counts = counts.view((vocab_size,) * n)
    return (counts / counts.sum(-1, keepdim=True)).log()


def next_token_distribution(
    train: Tensor, context: Tensor, vocab_size: int, k: float = 0.1
) -> Tensor:
    """(V,) add-k estimate of p(next | context) from counts in `train`:
    (count(context then w) + k) / (count(context) + k V). An empty context counts every token
    (a unigram); a context never seen gets the uniform distribution."""
    if k <= 0:
        raise ValueError(f"k must be > 0 so that every token keeps some probability, got {k}")
    n1 = len(context)
    if n1 == 0:
        followers = train
    else:
        windows = train.unfold(0, n1 + 1, 1)  # (N - n1, n1 + 1): context, then the next token
        followers = windows[(windows[:, :-1] == context).all(-1), -1]
    counts = torch.bincount(followers, minlength=vocab_size).double() + k
    return counts / counts.sum()


def ngram_loss(train: Tensor, val: Tensor, vocab_size: int, n: int, k: float = 0.1) -> float:
    """Mean next-token loss on `val` of the order-n count model fitted to `train`."""
    table = ngram_log_probs(train, vocab_size, n, k)
    windows = val.unfold(0, n, 1)  # (N, n): context then target
    return -table[tuple(windows.T)].mean().item()
