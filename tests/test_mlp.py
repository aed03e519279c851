import pytest
import torch

from lmlib import MLP


def test_shapes_and_expansion():
    mlp = MLP(16)
    assert mlp.up.out_features == 64 and mlp.down.in_features == 64  # default 4x
    assert MLP(16, expansion=2).up.out_features == 32
    assert mlp(torch.randn(2, 5, 16)).shape == (2, 5, 16)


def test_acts_on_each_position_independently():
    mlp = MLP(8)
    x = torch.randn(1, 4, 8)
    y = mlp(x)
    torch.testing.assert_close(mlp(x[:, 2:3]), y[:, 2:3])


def test_is_not_linear():
    mlp = MLP(8)
    a, b = torch.randn(1, 1, 8), torch.randn(1, 1, 8)
    assert not torch.allclose(mlp(a + b) - mlp.down.bias, mlp(a) + mlp(b) - 2 * mlp.down.bias)


def test_bad_expansion():
    with pytest.raises(ValueError, match="expansion"):
        MLP(8, expansion=0)
