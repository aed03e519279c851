import math

import pytest
import torch

from lmlib import next_token_loss


def test_matches_mean_negative_log_probability():
    logits = torch.randn(2, 3, 5)
    targets = torch.randint(0, 5, (2, 3))
    logp = logits.log_softmax(-1)
    expected = -logp.gather(-1, targets[..., None]).mean()
    torch.testing.assert_close(next_token_loss(logits, targets), expected)


def test_uniform_prediction_costs_log_vocab():
    assert next_token_loss(torch.zeros(1, 4, 65), torch.zeros(1, 4, dtype=torch.long)).item() == (
        pytest.approx(math.log(65))
    )


def test_shape_mismatch():
    with pytest.raises(ValueError, match="targets"):
        next_token_loss(torch.zeros(2, 3, 5), torch.zeros(2, 4, dtype=torch.long))


def test_bits_per_byte_converts_nats_per_token():
    import math

    import pytest

    from lmlib.training.loss import bits_per_byte

    assert math.isclose(bits_per_byte(math.log(2), 10, 10), 1.0)
    assert math.isclose(bits_per_byte(2.0, 50, 100), 1.0 / math.log(2))  # 2 bytes per token
    with pytest.raises(ValueError, match="n_tokens and n_bytes must be >= 1"):
        bits_per_byte(1.0, 0, 10)
