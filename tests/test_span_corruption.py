import pytest
import torch

from lmlib.training.span_corruption import random_spans_mask, reassemble, span_corrupt

SENTINELS = torch.arange(100, 140)


def _runs(mask):
    edges = torch.cat([torch.tensor([0]), mask.int(), torch.tensor([0])]).diff()
    return (edges == 1).sum().item()


def test_density_and_mean_span_length():
    noise = spans = 0
    for seed in range(200):
        m = random_spans_mask(200, generator=torch.Generator().manual_seed(seed))
        noise += m.sum().item()
        spans += _runs(m)
        assert not m[0]  # T5 starts with kept tokens
    assert noise / (200 * 200) == pytest.approx(0.15, abs=1e-9)
    assert noise / spans == pytest.approx(3.0, abs=0.05)


def test_the_example_from_the_docstring():
    tokens = torch.tensor([1, 2, 3, 4, 5, 6, 7, 8])
    mask = torch.tensor([False, False, True, True, False, False, True, False])
    inputs, targets = span_corrupt(tokens, mask, SENTINELS)
    assert inputs.tolist() == [1, 2, 100, 5, 6, 101, 8]
    assert targets.tolist() == [100, 3, 4, 101, 7, 102]


def test_invertible_and_no_target_leaks_into_the_input():
    for seed in range(50):
        g = torch.Generator().manual_seed(seed)
        tokens = torch.randint(0, 100, (int(torch.randint(2, 60, (1,), generator=g)),), generator=g)
        mask = random_spans_mask(len(tokens), 0.3, 2.0, g)
        inputs, targets = span_corrupt(tokens, mask, SENTINELS)
        assert torch.equal(reassemble(inputs, targets, SENTINELS), tokens)
        kept = inputs[inputs < 100]
        assert torch.equal(kept, tokens[~mask])  # the input holds the kept tokens only
        assert len(inputs) + len(targets) == len(tokens) + 2 * _runs(mask) + 1


def test_seeded_determinism():
    a = random_spans_mask(64, generator=torch.Generator().manual_seed(3))
    b = random_spans_mask(64, generator=torch.Generator().manual_seed(3))
    c = random_spans_mask(64, generator=torch.Generator().manual_seed(4))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_errors_on_bad_input():
    with pytest.raises(ValueError, match="length"):
        random_spans_mask(1)
    with pytest.raises(ValueError, match="noise_density"):
        random_spans_mask(10, noise_density=1.0)
    with pytest.raises(ValueError, match="mean_span"):
        random_spans_mask(10, mean_span=0.5)
    tokens = torch.arange(6)
    with pytest.raises(ValueError, match="sentinel"):
        span_corrupt(tokens, torch.tensor([0, 1, 0, 1, 0, 1]).bool(), SENTINELS[:3])
    with pytest.raises(TypeError, match="bool"):
        span_corrupt(tokens, torch.zeros(6, dtype=torch.long), SENTINELS)
    with pytest.raises(ValueError, match="same shape"):
        span_corrupt(tokens, torch.zeros(5, dtype=torch.bool), SENTINELS)
    with pytest.raises(ValueError, match="start with a sentinel"):
        reassemble(tokens, torch.tensor([1, 100]), SENTINELS)
