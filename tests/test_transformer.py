import pytest
import torch

from lmlib import TransformerConfig, TransformerLM, next_token_loss

CFG = TransformerConfig(vocab_size=11, context=16, d_model=32, n_heads=4, n_layers=2)


def test_logits_shape_and_tied_embeddings():
    model = TransformerLM(CFG)
    assert model(torch.randint(0, 11, (3, 10))).shape == (3, 10, 11)
    assert model.head.weight is model.tok_emb.weight


def test_causality_future_tokens_leave_earlier_logits_unchanged():
    model = TransformerLM(CFG).eval()
    idx = torch.randint(0, 11, (2, 12))
    changed = idx.clone()
    changed[:, 7:] = (changed[:, 7:] + 1) % 11
    torch.testing.assert_close(model(idx)[:, :7], model(changed)[:, :7])
    assert not torch.allclose(model(idx)[:, 7:], model(changed)[:, 7:])


def test_context_and_config_errors():
    model = TransformerLM(CFG)
    with pytest.raises(ValueError, match=r"17 exceeds .*context=16"):
        model(torch.zeros(1, 17, dtype=torch.long))
    with pytest.raises(ValueError, match="idx"):
        model(torch.zeros(17, dtype=torch.long))
    with pytest.raises(TypeError):
        model(torch.zeros(1, 4))
    with pytest.raises(ValueError, match=r"n_heads=5.*d_model=32"):
        TransformerConfig(vocab_size=11, d_model=32, n_heads=5)


def test_mlp_expansion_knob():
    small = TransformerLM(TransformerConfig(**{**CFG.__dict__, "expansion": 2}))
    none = TransformerLM(TransformerConfig(**{**CFG.__dict__, "expansion": 0}))
    assert small.blocks[0].mlp.up.out_features == 64
    assert none.blocks[0].mlp is None
    assert none.num_params() < small.num_params() < TransformerLM(CFG).num_params()


def test_overfits_one_batch(overfit_losses):
    torch.manual_seed(0)
    losses = overfit_losses(TransformerLM(CFG), torch.randint(0, 11, (4, 17)), steps=80)
    assert losses[0] > 2.0 and losses[-1] < 0.1


def test_same_seed_same_model():
    torch.manual_seed(3)
    a = TransformerLM(CFG)
    torch.manual_seed(3)
    b = TransformerLM(CFG)
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.equal(p, q)


@pytest.mark.parametrize("expansion", [4, 0])
def test_flop_formula_matches_counted_forward_and_backward(expansion):
    from torch.utils.flop_counter import FlopCounterMode

    cfg = TransformerConfig(
        vocab_size=65, context=32, d_model=64, n_heads=4, n_layers=2, expansion=expansion
    )
    model = TransformerLM(cfg)
    for block in model.blocks:  # the plain path's matmuls are visible to the counter
        block.attn.keep_weights = True
    idx = torch.randint(0, 65, (2, 32))
    with FlopCounterMode(display=False) as counter:
        next_token_loss(model(idx), idx).backward()
    counted = counter.get_total_flops() / idx.numel()
    assert model.flops_per_token() == pytest.approx(counted, rel=0.05)


def test_rope_option_drops_position_vectors_and_stays_causal():
    cfg = TransformerConfig(vocab_size=11, context=8, d_model=16, n_heads=2, n_layers=2)
    learned, rope = (
        TransformerLM(cfg),
        TransformerLM(TransformerConfig(**{**cfg.__dict__, "pos": "rope"})),
    )
    assert rope.pos_emb is None and learned.pos_emb is not None
    assert rope.num_params(non_embedding=True) == learned.num_params(non_embedding=True)
    assert learned.num_params() - rope.num_params() == 8 * 16  # the position vectors
    idx = torch.randint(0, 11, (2, 8))
    out = rope(idx)
    idx2 = idx.clone()
    idx2[:, 5:] = (idx2[:, 5:] + 1) % 11
    assert torch.allclose(rope(idx2)[:, :5], out[:, :5], atol=1e-5)
    with pytest.raises(ValueError, match="pos"):
        TransformerConfig(vocab_size=5, pos="sinusoid")


def test_default_model_is_unchanged_by_the_rope_option():
    # the learned-position default must give the same parameters as before `pos` existed
    torch.manual_seed(0)
    a = TransformerLM(TransformerConfig(vocab_size=7, context=4, d_model=8, n_heads=2, n_layers=1))
    names = [n for n, _ in a.named_parameters()]
    assert names[:2] == ["tok_emb.weight", "pos_emb.weight"]


def test_non_causal_config_builds_an_encoder():
    from lmlib import TransformerConfig, TransformerLM

    torch.manual_seed(0)
    model = TransformerLM(TransformerConfig(vocab_size=11, context=8, d_model=16, causal=False))
    idx = torch.randint(0, 11, (2, 8))
    later = idx.clone()
    later[:, -1] = (later[:, -1] + 1) % 11
    assert not torch.allclose(model(idx)[:, 0], model(later)[:, 0])  # position 0 sees the end
    assert all(not b.attn.causal for b in model.blocks)


def _decode_step_by_step(model, idx, first):
    """Logits of every position: the first `first` tokens in one pass, then one at a time."""
    cache = model.new_cache()
    steps = [model(idx[:, :first], cache=cache)]
    steps += [model(idx[:, t : t + 1], cache=cache) for t in range(first, idx.shape[1])]
    return torch.cat(steps, dim=1), cache


@pytest.mark.parametrize("pos", ["learned", "rope"])
@pytest.mark.parametrize("first", [1, 5])
def test_cached_decoding_gives_the_uncached_logits_up_to_the_full_context(pos, first):
    torch.manual_seed(0)
    cfg = TransformerConfig(vocab_size=11, context=24, d_model=32, n_heads=4, n_layers=2, pos=pos)
    model = TransformerLM(cfg).eval()
    idx = torch.randint(0, 11, (2, cfg.context))
    cached, cache = _decode_step_by_step(model, idx, first)
    for t in range(first, cfg.context):  # each step against a fresh pass over the prefix
        uncached = model(idx[:, : t + 1])[:, -1]
        torch.testing.assert_close(cached[:, t], uncached, atol=1e-5, rtol=0)
    torch.testing.assert_close(cached, model(idx), atol=1e-5, rtol=0)
    assert all(c.length == cfg.context for c in cache)
    with pytest.raises(ValueError, match=r"24 cached \+ 1 new tokens exceed .*context=24"):
        model(idx[:, :1], cache=cache)
