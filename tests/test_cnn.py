import pytest
import torch

from lmlib.models.cnn import CNNLM, CNNConfig, causal_conv1d, receptive_field


def small(**kw) -> CNNLM:
    torch.manual_seed(0)
    cfg = dict(vocab_size=11, context=32, d_model=12, n_layers=3, kernel_size=3) | kw
    return CNNLM(CNNConfig(**cfg))


def test_causal_conv_matches_a_loop():
    x, w, b = torch.randn(2, 9, 3), torch.randn(4, 3, 3), torch.randn(4)
    got = causal_conv1d(x, w, b, dilation=2)
    assert got.shape == (2, 9, 4)
    for t in range(9):
        expected = b.clone().expand(2, 4).clone()
        for j in range(3):
            s = t - (2 - j) * 2
            if s >= 0:
                expected = expected + x[:, s] @ w[:, :, j].T
        torch.testing.assert_close(got[:, t], expected)


def test_receptive_field_formula():
    assert receptive_field(3, [1, 2, 4]) == 15
    assert receptive_field(2, [1]) == 2
    assert receptive_field(5, []) == 1
    assert CNNConfig(vocab_size=5, n_layers=4, kernel_size=3).receptive_field == 31
    assert CNNConfig(vocab_size=5, n_layers=4, kernel_size=3, dilation_growth=1).dilations == (
        1,
        1,
        1,
        1,
    )


@pytest.mark.parametrize("kernel_size, growth, n_layers", [(3, 2, 3), (2, 2, 4), (4, 1, 3)])
def test_receptive_field_matches_a_gradient_probe(kernel_size, growth, n_layers):
    model = small(kernel_size=kernel_size, dilation_growth=growth, n_layers=n_layers)
    T, t = 32, 30
    emb = model.tok_emb(torch.randint(0, 11, (1, T))).detach().requires_grad_(True)
    x = emb
    for block in model.blocks:
        x = block(x)
    x[0, t].sum().backward()
    reached = (emb.grad[0].abs().sum(-1) > 0).nonzero().flatten()  # inputs that affect output t
    assert reached.max().item() == t  # causal: nothing after t
    assert t - reached.min().item() + 1 == model.receptive_field


def test_changing_the_future_leaves_the_past():
    model = small().eval()
    idx = torch.randint(0, 11, (2, 20))
    changed = idx.clone()
    changed[:, 12:] = (changed[:, 12:] + 1) % 11
    with torch.no_grad():
        a, b = model(idx), model(changed)
    assert a.shape == (2, 20, 11)
    torch.testing.assert_close(a[:, :12], b[:, :12])
    assert not torch.allclose(a[:, 12:], b[:, 12:])


def test_overfits_one_batch(overfit_losses):
    model = small()
    idx = torch.randint(0, 11, (4, 16), generator=torch.Generator().manual_seed(1))
    losses = overfit_losses(model, idx)
    assert losses[-1] < 0.3 * losses[0]


def test_bad_inputs():
    with pytest.raises(ValueError, match="kernel_size"):
        CNNConfig(vocab_size=5, kernel_size=1)
    with pytest.raises(ValueError, match="n_layers"):
        CNNConfig(vocab_size=5, n_layers=0)
    with pytest.raises(ValueError, match=r"\(B, T\)"):
        small()(torch.zeros(5, dtype=torch.long))
