"""The Markov-then-copy task: its layout, its chain, its entropy floor."""

import math
from collections import Counter

import pytest
import torch

from lmlib.data.markov_copy import MarkovCopyTask


def test_layout_of_every_example():
    t = MarkovCopyTask(n_symbols=8, prefix_len=5)
    s = t.stream(30, seed=0)
    assert s.shape == (30 * t.period,) and t.vocab_size == 10
    for ex in s.view(30, t.period):
        prefix = ex[:5]
        assert (prefix < 8).all() and ex[5] == t.bar and ex[-1] == t.end
        assert torch.equal(ex[6:11], prefix)


def test_chain_allows_only_n_next_successors_and_peaks():
    t = MarkovCopyTask(n_symbols=6, prefix_len=20, n_next=2, peak=0.9)
    s = t.stream(400, seed=1).view(400, t.period)[:, :20]
    pairs = Counter((a, b) for row in s.tolist() for a, b in zip(row, row[1:]))
    for b in range(6):
        assert len({c for (a, c) in pairs if a == b}) <= 2
    triples = Counter((x, y, z) for row in s.tolist() for x, y, z in zip(row, row[1:], row[2:]))
    top = {}
    for (x, y, _z), n in triples.items():
        top.setdefault((x, y), []).append(n)
    shares = [max(v) / sum(v) for v in top.values() if sum(v) >= 50]
    assert shares and min(shares) > 0.75  # the likeliest next symbol has about 0.9


def test_same_seed_same_stream_and_seeds_differ():
    t = MarkovCopyTask()
    assert torch.equal(t.stream(5, seed=3), t.stream(5, seed=3))
    assert not torch.equal(t.stream(5, seed=3), t.stream(5, seed=4))
    assert not torch.equal(t.stream(5, seed=3), MarkovCopyTask(seed=1).stream(5, seed=3))


def test_windows_start_at_an_end_mark_and_cover_whole_examples():
    t = MarkovCopyTask(n_symbols=8, prefix_len=4)
    s = t.stream(6, seed=0)
    w = t.windows(s)
    assert w.shape == (5, t.period + 1)
    assert (w[:, 0] == t.end).all() and (w[:, -1] == t.end).all()
    assert torch.equal(w[:, 1:].flatten(), s[t.period :])
    with pytest.raises(ValueError, match="whole examples"):
        t.windows(s[:-1])


def test_floor():
    t = MarkovCopyTask(n_symbols=16, prefix_len=12, n_next=3, peak=0.8)
    h = -(0.8 * math.log(0.8) + 0.2 * math.log(0.1))
    assert t.step_entropy() == pytest.approx(h)
    assert t.floor() == pytest.approx((math.log(16) + 11 * h) / 26)


@pytest.mark.parametrize(
    "kwargs", [dict(n_symbols=1), dict(prefix_len=2), dict(n_next=1), dict(peak=0.2), dict(peak=1)]
)
def test_bad_settings(kwargs):
    with pytest.raises(ValueError):
        MarkovCopyTask(**kwargs)
