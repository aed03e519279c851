import pytest
import torch

from lmlib.models.transformer import TransformerConfig
from lmlib.training.masking import IGNORE, MaskedLM, mask_tokens, masked_lm_loss

V, MASK = 50, 0


def _draws(n: int = 40, rate: float = 0.15):
    idx = torch.randint(1, V, (64, 64), generator=torch.Generator().manual_seed(99))
    out = [mask_tokens(idx, rate, MASK, V, torch.Generator().manual_seed(s)) for s in range(n)]
    return idx, out


def test_rates_over_many_draws_are_15_and_80_10_10():
    idx, out = _draws()
    chosen = torch.stack([lab != IGNORE for _, lab in out])
    inputs = torch.stack([inp for inp, _ in out])
    n = chosen.sum().item()
    assert chosen.float().mean().item() == pytest.approx(0.15, abs=0.005)
    as_mask = (inputs == MASK) & chosen
    kept = (inputs == idx) & chosen
    other = chosen & ~as_mask & ~kept
    assert as_mask.sum().item() / n == pytest.approx(0.8, abs=0.01)
    # random ids equal the original 1 time in V, and land on [MASK] 1 time in V
    assert kept.sum().item() / n == pytest.approx(0.1 + 0.1 / V, abs=0.01)
    assert other.sum().item() / n == pytest.approx(0.1 * (V - 2) / V, abs=0.01)


def test_labels_only_at_chosen_positions_and_nothing_else_changes():
    idx, out = _draws(5)
    for inputs, labels in out:
        chosen = labels != IGNORE
        assert torch.equal(labels[chosen], idx[chosen])  # the target is the original token
        assert torch.equal(inputs[~chosen], idx[~chosen])  # unchosen positions are untouched
        assert not (inputs[chosen & (inputs == MASK)] == labels[chosen & (inputs == MASK)]).any()


def test_seeded_determinism_and_different_seeds_differ():
    idx = torch.randint(1, V, (4, 32))
    a = mask_tokens(idx, 0.3, MASK, V, torch.Generator().manual_seed(1))
    b = mask_tokens(idx, 0.3, MASK, V, torch.Generator().manual_seed(1))
    c = mask_tokens(idx, 0.3, MASK, V, torch.Generator().manual_seed(2))
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    assert not torch.equal(a[1], c[1])


def test_the_documented_draw_order():
    idx = torch.randint(1, V, (3, 20))
    g = torch.Generator().manual_seed(5)
    u, a, r = torch.rand(idx.shape, generator=g), torch.rand(idx.shape, generator=g), None
    r = torch.randint(V, idx.shape, generator=g)
    inputs, labels = mask_tokens(idx, 0.5, MASK, V, torch.Generator().manual_seed(5))
    chosen = u < 0.5
    expected = torch.where(chosen & (a < 0.8), MASK, idx)
    expected = torch.where(chosen & (a >= 0.8) & (a < 0.9), r, expected)
    assert torch.equal(inputs, expected)
    assert torch.equal(labels, torch.where(chosen, idx, IGNORE))


def test_loss_is_cross_entropy_at_labelled_positions_only():
    logits = torch.randn(2, 5, V)
    labels = torch.full((2, 5), IGNORE)
    labels[0, 1], labels[1, 3] = 4, 7
    expected = torch.nn.functional.cross_entropy(logits[[0, 1], [1, 3]], torch.tensor([4, 7]))
    torch.testing.assert_close(masked_lm_loss(logits, labels), expected)
    assert masked_lm_loss(logits, torch.full((2, 5), IGNORE)).item() == 0.0


def test_masked_lm_objective_learns_and_all_tokens_predicts_everything():
    torch.set_num_threads(1)
    cfg = TransformerConfig(V, 16, 32, 2, 1, causal=False)
    idx = torch.randint(1, V, (8, 16))
    for all_tokens in (False, True):
        torch.manual_seed(0)
        mlm = MaskedLM(cfg, MASK, rate=0.3, all_tokens=all_tokens)
        opt = torch.optim.Adam(mlm.parameters(), lr=1e-2)
        g = torch.Generator().manual_seed(0)
        losses = []
        for _ in range(60):
            loss = mlm(idx, g)["loss"]
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        assert losses[-1] < 0.5 * losses[0]
    assert MaskedLM(cfg, MASK, all_tokens=True).flops_per_token(16) > MaskedLM(
        cfg, MASK
    ).flops_per_token(16)


def test_errors_on_bad_input():
    idx = torch.randint(1, V, (2, 8))
    with pytest.raises(ValueError, match="rate"):
        mask_tokens(idx, 1.5, MASK, V)
    with pytest.raises(ValueError, match="mask_id"):
        mask_tokens(idx, 0.15, V, V)
    with pytest.raises(ValueError, match="token ids"):
        mask_tokens(idx + V, 0.15, MASK, V)
    with pytest.raises(TypeError):
        mask_tokens(idx.float(), 0.15, MASK, V)
    with pytest.raises(ValueError, match="mask_share"):
        mask_tokens(idx, 0.15, MASK, V, mask_share=0.9, random_share=0.2)
    with pytest.raises(ValueError, match="vocabulary axis"):
        masked_lm_loss(torch.randn(2, 8, V), torch.zeros(2, 7, dtype=torch.long))
