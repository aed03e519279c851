import pytest
import torch
import torch.nn.functional as F

from lmlib.models.transformer import TransformerConfig, TransformerLM
from lmlib.training.distill import (
    Objective,
    StateProjection,
    cosine_state_loss,
    distillation_loss,
    logits_and_states,
    soft_cross_entropy,
    teacher_label_loss,
)


def _pair(B=2, T=3, V=7, scale=2.0, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    s = (torch.randn(B, T, V, generator=g, dtype=dtype) * scale).requires_grad_()
    t = torch.randn(B, T, V, generator=g, dtype=dtype) * scale
    return s, t


@pytest.mark.parametrize("temperature", [0.5, 1.0, 2.0, 5.0])
def test_soft_gradient_is_T_times_the_softened_difference_over_positions(temperature):
    # d/ds of T^2 * mean_n [-sum_v p_t log softmax(s/T)] = T^2 * (1/N) * (1/T) (p_s - p_t)
    s, t = _pair()
    (grad,) = torch.autograd.grad(soft_cross_entropy(s, t, temperature), s)
    n_positions = s.shape[0] * s.shape[1]
    p_s, p_t = (s / temperature).softmax(-1), (t / temperature).softmax(-1)
    expected = temperature * (p_s - p_t) / n_positions
    torch.testing.assert_close(grad, expected.detach())


def test_soft_loss_matches_a_hand_written_cross_entropy():
    s, t = _pair(seed=1)
    T = 3.0
    expected = -(F.softmax(t / T, -1) * F.log_softmax(s / T, -1)).sum(-1).mean() * T**2
    torch.testing.assert_close(soft_cross_entropy(s, t, T), expected)


def test_T_squared_keeps_the_gradient_size_steady_at_high_temperature():
    # At high T, p_s - p_t ~ (s - t - mean) / (V T), so T * (p_s - p_t) no longer depends on T;
    # without the T^2 factor the gradient would shrink like 1 / T^2.
    s, t = _pair(V=11, scale=1.0, seed=2)
    N, V = s.shape[0] * s.shape[1], s.shape[-1]
    centred = (s - s.mean(-1, keepdim=True)) - (t - t.mean(-1, keepdim=True))
    first_order = (centred / (V * N)).detach()
    norms = {}
    for T in (10.0, 20.0, 40.0, 80.0):
        (grad,) = torch.autograd.grad(soft_cross_entropy(s, t, T), s)
        norms[T] = grad.norm().item()
        torch.testing.assert_close(grad, first_order, rtol=0.15, atol=2e-3 / T)
    assert norms[80.0] / norms[10.0] == pytest.approx(1.0, rel=0.05)
    bare = {T: norms[T] / T**2 for T in norms}  # the gradient of the loss without its T^2
    assert bare[40.0] / bare[10.0] == pytest.approx(1 / 16, rel=0.05)


def test_one_hot_teacher_at_T1_is_plain_cross_entropy():
    s, _ = _pair(B=3, T=4, V=9, seed=3)
    labels = torch.randint(0, 9, (3, 4), generator=torch.Generator().manual_seed(0))
    one_hot = F.one_hot(labels, 9).double() * 1e4  # softmax gives exactly 0 and 1
    expected = F.cross_entropy(s.flatten(0, 1), labels.flatten())
    torch.testing.assert_close(soft_cross_entropy(s, one_hot, 1.0), expected)


def test_teacher_gets_no_gradient_and_matched_teacher_leaves_only_its_entropy():
    s, t = _pair(seed=4)
    t.requires_grad_()
    soft_cross_entropy(s, t, 2.0).backward()
    assert t.grad is None
    (grad,) = torch.autograd.grad(soft_cross_entropy(t, t.detach(), 2.0), t)
    assert grad.abs().max() < 1e-12  # the student at the teacher is a minimum


def test_soft_loss_errors_name_the_mismatch():
    s, t = _pair()
    with pytest.raises(ValueError, match="vocabularies differ: V=7 vs V=5"):
        soft_cross_entropy(s, t[..., :5])
    with pytest.raises(ValueError, match="different positions"):
        soft_cross_entropy(s, t[:, :2])
    with pytest.raises(ValueError, match=r"\(B, T, \.\.\.\)"):
        soft_cross_entropy(s[0], t[0])
    with pytest.raises(ValueError, match="temperature must be > 0"):
        soft_cross_entropy(s, t, 0.0)
    with pytest.raises(ValueError, match="vocabularies differ"):
        teacher_label_loss(s, t[..., :5])


def test_teacher_label_loss_is_cross_entropy_against_the_teacher_argmax():
    s, t = _pair(seed=5, dtype=torch.float32)
    expected = F.cross_entropy(s.flatten(0, 1), t.argmax(-1).flatten())
    torch.testing.assert_close(teacher_label_loss(s, t), expected)


def test_cosine_loss_values_and_projection():
    g = torch.Generator().manual_seed(6)
    h = torch.randn(2, 3, 4, generator=g, dtype=torch.float64)
    assert cosine_state_loss(h, 3 * h).item() == pytest.approx(0.0, abs=1e-12)
    assert cosine_state_loss(h, -h).item() == pytest.approx(2.0)
    w = torch.randn(6, 4, generator=g, dtype=torch.float64)  # (Dt, Ds)
    teacher = torch.randn(2, 3, 6, generator=g, dtype=torch.float64)
    cos = F.cosine_similarity(h @ w.T, teacher, dim=-1)
    torch.testing.assert_close(cosine_state_loss(h, teacher, w), (1 - cos).mean())
    proj = StateProjection(4, 6)
    assert proj.weight.shape == (6, 4) and proj.bias is None


def test_cosine_loss_errors():
    h, wide = torch.randn(2, 3, 4), torch.randn(2, 3, 6)
    with pytest.raises(ValueError, match="pass weight=StateProjection"):
        cosine_state_loss(h, wide)
    with pytest.raises(ValueError, match=r"\(Dt, Ds\) = \(6, 4\)"):
        cosine_state_loss(h, wide, torch.randn(4, 6))
    with pytest.raises(ValueError, match="different positions"):
        cosine_state_loss(h, wide[:, :2], torch.randn(6, 4))


def test_combined_objective_is_the_weighted_sum_of_its_terms():
    s, t = _pair(seed=7, dtype=torch.float32)
    y = torch.randint(0, 7, (2, 3), generator=torch.Generator().manual_seed(1))
    hs, ht, w = torch.randn(2, 3, 4), torch.randn(2, 3, 6), torch.randn(6, 4)
    obj = Objective(gold=0.3, labels=0.2, soft=0.5, cosine=0.7, temperature=2.0)
    total, parts = distillation_loss(obj, s, y, t, hs, ht, w)
    expected = (
        0.3 * F.cross_entropy(s.flatten(0, 1), y.flatten())
        + 0.2 * teacher_label_loss(s, t)
        + 0.5 * soft_cross_entropy(s, t, 2.0)
        + 0.7 * cosine_state_loss(hs, ht, w)
    )
    torch.testing.assert_close(total, expected)
    assert set(parts) == {"gold", "labels", "soft", "cosine"}
    gold_only, parts = distillation_loss(Objective(), s, y)
    assert set(parts) == {"gold"}


def test_objective_and_combination_errors():
    with pytest.raises(ValueError, match="positive sum"):
        Objective(gold=0.0)
    with pytest.raises(ValueError, match=">= 0"):
        Objective(soft=-1.0)
    with pytest.raises(ValueError, match="temperature"):
        Objective(soft=1.0, temperature=-2.0)
    s, t = _pair()
    y = torch.zeros(2, 3, dtype=torch.long)
    with pytest.raises(ValueError, match="pass teacher_logits"):
        distillation_loss(Objective(soft=1.0), s, y)
    with pytest.raises(ValueError, match="student_states and teacher_states"):
        distillation_loss(Objective(cosine=1.0), s, y, t)


def test_logits_and_states_reads_what_the_head_reads():
    torch.manual_seed(0)
    model = TransformerLM(TransformerConfig(11, 8, 16, 2, 1))
    idx = torch.randint(0, 11, (2, 5))
    logits, states = logits_and_states(model, idx)
    assert states.shape == (2, 5, 16)
    torch.testing.assert_close(logits, model(idx))
    torch.testing.assert_close(model.head(states), logits)
    assert not model.norm._forward_hooks  # the hook is removed
    with pytest.raises(TypeError, match="no final `norm`"):
        logits_and_states(torch.nn.Linear(3, 3), idx)
