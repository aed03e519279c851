import math

import pytest
import torch

from lmlib.models.ngram import ngram_log_probs, ngram_loss


def test_unigram_counts_with_smoothing():
    train = torch.tensor([0, 0, 0, 1])
    logp = ngram_log_probs(train, vocab_size=3, n=1, k=1.0)
    assert logp.exp().tolist() == pytest.approx([4 / 7, 2 / 7, 1 / 7])


def test_bigram_is_a_conditional_table():
    train = torch.tensor([0, 1, 0, 1, 0, 2])
    logp = ngram_log_probs(train, vocab_size=3, n=2, k=0.0)
    assert logp.exp()[0].tolist() == pytest.approx([0, 2 / 3, 1 / 3])
    assert logp.exp()[1].tolist() == pytest.approx([1, 0, 0])


def test_more_context_helps_on_a_deterministic_cycle():
    train = torch.arange(300) % 3
    val = torch.arange(60) % 3
    assert ngram_loss(train, val, 3, 1) == pytest.approx(math.log(3), abs=1e-3)
    assert ngram_loss(train, val, 3, 2) < 0.01


def test_table_too_big():
    with pytest.raises(ValueError, match="n=6"):
        ngram_log_probs(torch.arange(10), vocab_size=65, n=6)
