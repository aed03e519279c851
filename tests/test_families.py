import pytest
import torch

from lmlib import TrainConfig, train
from lmlib.models.families import (
    FAMILIES,
    build,
    build_matched,
    copy_task,
    counted_flops_per_token,
    critical_path,
    layers_to_see,
    num_params,
    width_for,
)

V = 13


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("d_model, T", [(32, 24), (48, 40)])
def test_flop_formula_within_5_percent_of_counted(family, d_model, T):
    torch.manual_seed(0)
    model = build(family, V, T, d_model, 2)
    idx = torch.randint(0, V, (2, T))
    forward = None
    if family == "transformer":  # torch counts no FLOPs inside the CPU fused attention kernel
        for block in model.blocks:
            block.attn.keep_weights = True  # the plain path: scores and weighted sum as matmuls
    if family == "rnn":  # nor inside the fused CPU LSTM; the readable path is the same math
        forward = model.forward_readable
    counted = counted_flops_per_token(model, idx, forward)
    assert model.flops_per_token(T) == pytest.approx(counted, rel=0.05)


def test_fused_gru_is_counted_and_matches():
    model = build("rnn", V, 16, 32, 2, cell="gru")
    counted = counted_flops_per_token(model, torch.randint(0, V, (2, 16)))
    assert model.flops_per_token(16) == pytest.approx(counted, rel=0.05)


def test_one_knob_gives_comparable_sizes():
    sizes = {}
    for family in FAMILIES:
        d = width_for(family, 100_000, V, 64, 2)
        assert d % 8 == 0
        sizes[family] = num_params(build_matched(family, 100_000, V, 64, 2))
    assert all(abs(n - 100_000) < 0.15 * 100_000 for n in sizes.values()), sizes


@pytest.mark.parametrize("family", FAMILIES)
def test_every_family_trains_with_the_shared_loop(family):
    torch.manual_seed(0)
    torch.set_num_threads(1)
    data = torch.randint(0, V, (2000,))
    model = build(family, V, 16, 16, 2)
    cfg = TrainConfig(steps=4, batch_size=4, eval_every=4, eval_batches=1, progress=False)
    history = train(model, data, data, cfg)
    assert len(history.val_loss) == 1 and history.step[-1] == 4


def test_critical_path_and_coverage():
    assert critical_path("rnn", 100, 2) == 101
    assert critical_path("transformer", 1000, 4) == critical_path("cnn", 10, 4) == 4
    assert layers_to_see(1) == 0
    assert layers_to_see(3) == 1  # kernel 3: 3 tokens
    assert layers_to_see(7) == 2  # dilations 1, 2: 1 + 2 + 4 = 7
    assert layers_to_see(8) == 3
    assert layers_to_see(9, kernel_size=3, dilation_growth=1) == 4


def test_bad_names():
    with pytest.raises(ValueError, match="family"):
        build("mamba", V, 8, 8, 1)
    with pytest.raises(ValueError, match="family"):
        critical_path("mamba", 8, 1)


def test_copy_task_repeats_and_marks_the_copies():
    idx, copy = copy_task(3, 5, 7, torch.Generator().manual_seed(0))
    assert idx.shape == (3, 10) and copy.shape == (10,)
    torch.testing.assert_close(idx[:, :5], idx[:, 5:])
    targets = idx[:, 1:]
    for t in copy[:-1].nonzero().flatten().tolist():  # the target of t is the token gap back
        torch.testing.assert_close(targets[:, t], idx[:, t + 1 - 5])
    assert copy.sum().item() == 5  # positions 4..8 predict tokens 5..9
    with pytest.raises(ValueError, match="gap"):
        copy_task(1, 0, 7, torch.Generator())
