"""The encoder-decoder, its four switches, and its decoder-only and prefix-LM ends."""

import itertools
from dataclasses import replace

import pytest
import torch

from lmlib.models.encdec import (
    CrossAttention,
    EncDecConfig,
    EncoderDecoder,
    attend,
    prefix_lm_mask,
)
from lmlib.models.transformer import TransformerLM

V, S, T = 23, 7, 5
BASE = EncDecConfig(V, context=16, d_model=24, n_heads=3, n_layers=2)
DECODER_ONLY = replace(BASE, cross_attention=False, shared=True, memory="same", bidirectional=False)
PREFIX_LM = replace(DECODER_ONLY, bidirectional=True)
ALL = [
    replace(BASE, cross_attention=c, shared=s, memory=m, bidirectional=b)
    for c, s, m, b in itertools.product(
        (True, False), (True, False), ("final", "same"), (True, False)
    )
]


def model(cfg: EncDecConfig, seed: int = 0) -> EncoderDecoder:
    torch.manual_seed(seed)
    return EncoderDecoder(cfg).eval()


def tokens(*shape: int, seed: int = 1) -> torch.Tensor:
    return torch.randint(2, V, shape, generator=torch.Generator().manual_seed(seed))


def test_decoder_only_end_is_transformer_lm_over_the_concatenation():
    torch.manual_seed(0)
    lm = TransformerLM(DECODER_ONLY.block_config()).eval()
    m = model(DECODER_ONLY, seed=1)
    assert m.num_params() == lm.num_params(non_embedding=False)
    m.load_state_dict(lm.state_dict())  # strict: the same parameters under the same names
    src, tgt = tokens(3, S), tokens(3, T, seed=2)
    expected = lm(torch.cat([src, tgt], dim=1))[:, S:]
    torch.testing.assert_close(m(src, tgt), expected, rtol=0, atol=1e-6)


def test_prefix_lm_is_the_decoder_only_model_with_a_bidirectional_input():
    m = model(PREFIX_LM)
    src, tgt = tokens(2, S), tokens(2, T, seed=2)
    x = m.embed(torch.cat([src, tgt], dim=1), 0)
    mask = prefix_lm_mask(S, T)
    for block in m.blocks:
        x = x + block.attn(block.norm1(x), mask=mask)
        x = x + block.mlp(block.norm2(x))
    torch.testing.assert_close(m(src, tgt), m.head(m.norm(x[:, S:])), rtol=0, atol=1e-6)


@pytest.mark.parametrize("cfg", [DECODER_ONLY, PREFIX_LM], ids=["decoder_only", "prefix_lm"])
def test_one_sequence_equals_two_streams_joined_by_attention(cfg):
    m = model(cfg)
    src, tgt = tokens(2, S), tokens(2, T, seed=2)
    torch.testing.assert_close(m.decode(m.encode(src), tgt), m(src, tgt), rtol=0, atol=1e-5)


def test_prefix_lm_mask():
    mask = prefix_lm_mask(2, 3)
    expected = torch.tensor(
        [[1, 1, 0, 0, 0], [1, 1, 0, 0, 0], [1, 1, 1, 0, 0], [1, 1, 1, 1, 0], [1, 1, 1, 1, 1]]
    ).bool()
    assert torch.equal(mask, expected)


@pytest.mark.parametrize(
    "cfg", ALL, ids=lambda c: f"{c.cross_attention}-{c.shared}-{c.memory}-{c.bidirectional}"
)
def test_target_side_is_causal(cfg):
    m = model(cfg)
    src, tgt = tokens(1, S), tokens(1, T, seed=2)
    changed = tgt.repeat(T, 1)  # row t has its target token t changed
    changed[range(T), range(T)] = (changed[range(T), range(T)] + 1) % V
    out, moved = m(src, tgt), m(src.repeat(T, 1), changed)
    for t in range(T):
        torch.testing.assert_close(moved[t, :t], out[0, :t], rtol=0, atol=1e-6)
        assert not torch.allclose(moved[t, t:], out[0, t:])


@pytest.mark.parametrize("bidirectional", [True, False])
def test_input_side_is_bidirectional_only_when_asked(bidirectional):
    for cfg in (
        replace(BASE, bidirectional=bidirectional),
        replace(PREFIX_LM, bidirectional=bidirectional),
    ):
        m = model(cfg)
        src = tokens(2, S)
        changed = src.clone()
        changed[:, -1] = (changed[:, -1] + 1) % V
        first, moved = m.encode(src)[1][:, 0], m.encode(changed)[1][:, 0]  # after layer 1
        assert torch.allclose(first, moved) != bidirectional


def test_every_target_logit_depends_on_every_input_token():
    src, tgt = tokens(1, S), tokens(1, T, seed=2)
    changed = src.repeat(S, 1)  # row s has its input token s changed
    changed[range(S), range(S)] = (changed[range(S), range(S)] + 1) % V
    for cfg in ALL:
        m = model(cfg)
        moved = m(changed, tgt.repeat(S, 1))[:, 0]  # (S, V) the first target logits
        assert not torch.isclose(moved, m(src, tgt)[:, 0]).all(dim=1).any(), cfg


def test_each_switch_changes_the_parameters_as_expected():
    D, L = BASE.d_model, BASE.n_layers
    n = {cfg: model(cfg).num_params() for cfg in ALL}
    block = sum(p.numel() for p in model(DECODER_ONLY).blocks[0].parameters())
    cross = 4 * D * D + 4 * D + 2 * 2 * D  # qkv and proj with biases, two norms
    lm = n[DECODER_ONLY]
    assert n[replace(DECODER_ONLY, shared=False)] == lm + (L - 1) * block
    assert n[replace(DECODER_ONLY, shared=False, memory="final")] == lm + L * block
    assert n[replace(DECODER_ONLY, cross_attention=True)] == lm + L * cross
    assert n[BASE] == lm + L * block + L * cross
    assert n[PREFIX_LM] == lm


def test_cross_attention_matches_torch_multihead_attention():
    D, H = 24, 3
    torch.manual_seed(0)
    mine = CrossAttention(D, H)
    ref = torch.nn.MultiheadAttention(D, H, batch_first=True)
    with torch.no_grad():
        ref.in_proj_weight.copy_(mine.qkv.weight)
        ref.in_proj_bias.copy_(mine.qkv.bias)
        ref.out_proj.weight.copy_(mine.proj.weight)
        ref.out_proj.bias.copy_(mine.proj.bias)
    x, memory = torch.randn(2, T, D), torch.randn(2, S, D)
    expected = ref(x, memory, memory, need_weights=False)[0]
    torch.testing.assert_close(mine(x, memory), expected, rtol=1e-5, atol=1e-5)
    mask = torch.rand(T, S, generator=torch.Generator().manual_seed(3)) < 0.5
    mask[:, 0] = True
    expected = ref(x, memory, memory, attn_mask=~mask, need_weights=False)[0]
    torch.testing.assert_close(attend(mine, x, memory, mask), expected, rtol=1e-5, atol=1e-5)


def test_flops_of_the_decoder_only_end_match_transformer_lm():
    cfg = DECODER_ONLY
    lm, m = TransformerLM(cfg.block_config()), model(cfg)
    head_on_input = 3 * 2 * cfg.d_model * cfg.vocab_size * S  # the LM also scores input positions
    assert m.flops_per_example(S, T) == lm.flops_per_token(S + T) * (S + T) - head_on_input
    assert model(BASE).flops_per_example(S, T) > m.flops_per_example(S, T)


def test_same_seed_same_logits():
    src, tgt = tokens(2, S), tokens(2, T, seed=2)
    assert torch.equal(model(BASE, seed=4)(src, tgt), model(BASE, seed=4)(src, tgt))


def test_bad_input_gets_a_clear_error():
    m = model(BASE)
    with pytest.raises(ValueError, match="context=16"):
        m(tokens(1, 12), tokens(1, 5))
    with pytest.raises(ValueError, match="batch sizes 2 and 3"):
        m(tokens(2, S), tokens(3, T))
    with pytest.raises(ValueError, match="at least one"):
        m(tokens(2, S), tokens(2, 0))
    with pytest.raises(ValueError, match=r"\(B, length\)"):
        m(tokens(S), tokens(2, T))
    with pytest.raises(TypeError, match="integer"):
        m(tokens(2, S).float(), tokens(2, T))
    with pytest.raises(ValueError, match="memory"):
        replace(BASE, memory="last")
    with pytest.raises(ValueError, match="n_heads"):
        replace(BASE, n_heads=5)


@pytest.mark.parametrize(
    "cfg",
    # the two ends in the unit suite, all sixteen settings with the slow cases
    [pytest.param(c, marks=() if c in (ALL[0], ALL[-1]) else pytest.mark.slow) for c in ALL],
    ids=lambda c: f"{c.cross_attention}-{c.shared}-{c.memory}-{c.bidirectional}",
)
def test_cached_decoding_gives_the_full_forward_logits_at_every_step(cfg):
    cfg = replace(cfg, context=S + 9)
    m = model(cfg)
    src, tgt = tokens(2, S), tokens(2, 9, seed=2)  # up to the full context
    full = m(src, tgt)
    state = m.start(src)
    for t in range(9):
        torch.testing.assert_close(
            m.step(tgt[:, t : t + 1], state), full[:, t : t + 1], rtol=0, atol=1e-5
        )
    with pytest.raises(ValueError, match="context"):
        m.step(tgt[:, :1], state)


def test_cached_decoding_reads_several_tokens_at_once():
    m = model(BASE)
    src, tgt = tokens(2, S), tokens(2, T, seed=2)
    state = m.start(src)
    first, rest = m.step(tgt[:, :2], state), m.step(tgt[:, 2:], state)
    torch.testing.assert_close(torch.cat([first, rest], 1), m(src, tgt), rtol=0, atol=1e-5)
