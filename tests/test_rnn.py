import pytest
import torch
from torch import nn

from lmlib.models.rnn import RNNLM, RNNConfig, gru_cell, lstm_cell


def small(cell: str = "lstm", **kw) -> RNNLM:
    torch.manual_seed(0)
    return RNNLM(RNNConfig(vocab_size=11, context=16, d_model=12, n_layers=2, cell=cell, **kw))


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_readable_cells_equal_the_fused_module(cell):
    model = small(cell).eval()
    idx = torch.randint(0, 11, (3, 9))
    with torch.no_grad():
        torch.testing.assert_close(model.forward_readable(idx), model(idx), atol=1e-5, rtol=1e-4)


def test_lstm_cell_equals_torch_lstmcell():
    ref = nn.LSTMCell(5, 7)
    x, h, c = torch.randn(4, 5), torch.randn(4, 7), torch.randn(4, 7)
    w = (ref.weight_ih, ref.weight_hh, ref.bias_ih, ref.bias_hh)
    h_ref, c_ref = ref(x, (h, c))
    h_got, c_got = lstm_cell(x, h, c, *w)
    torch.testing.assert_close(h_got, h_ref)
    torch.testing.assert_close(c_got, c_ref)


def test_gru_cell_equals_torch_grucell():
    ref = nn.GRUCell(5, 7)
    x, h = torch.randn(4, 5), torch.randn(4, 7)
    got = gru_cell(x, h, ref.weight_ih, ref.weight_hh, ref.bias_ih, ref.bias_hh)
    torch.testing.assert_close(got, ref(x, h))


def test_shapes_and_causality():
    model = small().eval()
    idx = torch.randint(0, 11, (2, 10))
    changed = idx.clone()
    changed[:, 6:] = (changed[:, 6:] + 1) % 11
    with torch.no_grad():
        a, b = model(idx), model(changed)
    assert a.shape == (2, 10, 11)
    torch.testing.assert_close(a[:, :6], b[:, :6])
    assert not torch.allclose(a[:, 6:], b[:, 6:])


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_overfits_one_batch(cell, overfit_losses):
    model = small(cell)
    idx = torch.randint(0, 11, (4, 16), generator=torch.Generator().manual_seed(1))
    losses = overfit_losses(model, idx)
    assert losses[-1] < 0.3 * losses[0]


def test_same_seed_same_numbers():
    idx = torch.randint(0, 11, (2, 5))
    with torch.no_grad():
        torch.testing.assert_close(small()(idx), small()(idx), rtol=0, atol=0)


def test_bad_inputs():
    with pytest.raises(ValueError, match="cell"):
        RNNConfig(vocab_size=5, cell="transformer")
    with pytest.raises(ValueError, match="d_model"):
        RNNConfig(vocab_size=5, d_model=0)
    with pytest.raises(ValueError, match=r"\(B, T\)"):
        small()(torch.zeros(5, dtype=torch.long))
    with pytest.raises(TypeError, match="integer"):
        small()(torch.zeros(1, 5))
