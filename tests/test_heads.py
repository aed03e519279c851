import math

import pytest
import torch

from lmlib.analysis.heads import (
    entropy_bits,
    head_stats,
    lookback,
    record_weights,
    uniform_entropy,
    uniform_lookback,
)
from lmlib.models.transformer import TransformerConfig, TransformerLM

T = 12


def previous_token(T: int) -> torch.Tensor:
    """(T, T): query 0 on itself, every later query on the token before it."""
    w = torch.zeros(T, T)
    w[0, 0] = 1.0
    w[torch.arange(1, T), torch.arange(T - 1)] = 1.0
    return w


def uniform_past(T: int) -> torch.Tensor:
    mask = torch.ones(T, T).tril()
    return mask / mask.sum(-1, keepdim=True)


def small_lm() -> TransformerLM:
    torch.manual_seed(0)
    return TransformerLM(TransformerConfig(11, context=T, d_model=16, n_heads=4, n_layers=3))


def test_previous_token_head_looks_back_one_with_no_entropy():
    w = previous_token(T)
    # 1 back for each of the T - 1 queries that have a previous token, 0 for query 0
    assert lookback(w).item() == pytest.approx((T - 1) / T)
    assert entropy_bits(w).item() == pytest.approx(0.0, abs=1e-9)
    long = previous_token(1000)
    assert lookback(long).item() == pytest.approx(1.0, abs=1e-3)


def test_uniform_head_scores_the_uniform_values():
    w = uniform_past(T)
    assert lookback(w).item() == pytest.approx(uniform_lookback(T)) == pytest.approx((T - 1) / 4)
    expected = sum(math.log2(t + 1) for t in range(T)) / T
    assert entropy_bits(w).item() == pytest.approx(uniform_entropy(T)) == pytest.approx(expected)


def test_current_token_head_and_batched_shapes():
    w = torch.eye(T).expand(2, 3, 4, T, T)  # (B, L, H, T, T)
    assert lookback(w).shape == entropy_bits(w).shape == (2, 3, 4)
    assert torch.all(lookback(w) == 0) and torch.allclose(entropy_bits(w), torch.zeros(2, 3, 4))


def test_record_weights_and_head_stats_shapes_and_restore_the_model():
    lm = small_lm().train()
    idx = torch.randint(0, 11, (5, T), generator=torch.Generator().manual_seed(0))
    w = record_weights(lm, idx)
    assert w.shape == (5, 3, 4, T, T) and w.device.type == "cpu"
    assert torch.allclose(w.sum(-1), torch.ones(5, 3, 4, T))
    assert torch.all(w.triu(1) == 0)  # causal: nothing above the diagonal
    assert lm.training and not any(b.attn.keep_weights for b in lm.blocks)
    back, ent = head_stats(lm, idx)
    assert back.shape == ent.shape == (3, 4)
    assert torch.allclose(back, lookback(w).mean(0)) and torch.allclose(
        ent, entropy_bits(w).mean(0)
    )
    assert torch.all((0 <= back) & (back <= T - 1))
    assert torch.all((0 <= ent) & (ent <= math.log2(T) + 1e-6))


def test_same_model_same_stats():
    idx = torch.randint(0, 11, (2, T), generator=torch.Generator().manual_seed(1))
    a, b = head_stats(small_lm(), idx), head_stats(small_lm(), idx)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


def test_bad_inputs_are_refused_with_the_fix():
    with pytest.raises(ValueError, match=r"\(\.\.\., T, T\)"):
        lookback(torch.ones(3, 4))
    with pytest.raises(ValueError, match=r"\(\.\.\., T, T\)"):
        entropy_bits(torch.ones(5))
    with pytest.raises(ValueError, match=r"idx must be \(B, T\)"):
        record_weights(small_lm(), torch.zeros(T, dtype=torch.long))
    with pytest.raises(TypeError, match="needs a TransformerLM"):
        record_weights(torch.nn.Linear(2, 2), torch.zeros(1, 2, dtype=torch.long))
