import math

import pytest
import torch

from lmlib.models.ngram import next_token_distribution, ngram_log_probs, ngram_loss


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


def test_next_token_distribution_counts_and_smooths():
    train = torch.tensor([0, 1, 0, 1, 0, 2, 1, 1])
    p = next_token_distribution(train, torch.tensor([0]), vocab_size=3, k=0.5)
    assert p.tolist() == pytest.approx([0.5 / 4.5, 2.5 / 4.5, 1.5 / 4.5])
    uniform = next_token_distribution(train, torch.tensor([2, 2]), vocab_size=3, k=0.1)
    assert uniform.tolist() == pytest.approx([1 / 3] * 3)
    unigram = next_token_distribution(train, torch.tensor([], dtype=torch.long), 3, k=1.0)
    assert unigram.tolist() == pytest.approx([4 / 11, 5 / 11, 2 / 11])


@pytest.mark.parametrize("n", [1, 2, 3])
def test_next_token_distribution_is_a_row_of_the_count_table(n):
    train = torch.randint(0, 4, (500,), generator=torch.Generator().manual_seed(n))
    table = ngram_log_probs(train, vocab_size=4, n=n, k=0.3).exp()
    context = train[10 : 10 + n - 1]
    row = table[tuple(context.tolist())] if n > 1 else table
    p = next_token_distribution(train, context, 4, k=0.3)
    assert torch.allclose(p, row.double(), atol=1e-6)


def test_next_token_distribution_needs_positive_k():
    with pytest.raises(ValueError, match="k must be > 0"):
        next_token_distribution(torch.tensor([0, 1]), torch.tensor([0]), 2, k=0)
