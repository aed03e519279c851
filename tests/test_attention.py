import pytest
import torch
import torch.nn.functional as F

from lmlib import MultiHeadAttention, causal_attention, causal_mask, merge_heads, split_heads


def test_split_and_merge_are_inverse_and_chunk_consecutively():
    x = torch.arange(2 * 3 * 8.0).reshape(2, 3, 8)
    h = split_heads(x, 4)
    assert h.shape == (2, 4, 3, 2)
    assert torch.equal(h[1, 2, 0], x[1, 0, 4:6])  # head 2 holds dimensions 4..5
    assert torch.equal(merge_heads(h), x)


def test_causal_mask():
    m = causal_mask(4)
    assert m.dtype == torch.bool and m.shape == (4, 4)
    assert m[2, 2] and m[2, 0] and not m[2, 3] and not m[0, 1]


def test_plain_attention_equals_sdpa_and_rows_sum_to_one():
    q, k, v = torch.randn(3, 2, 4, 5, 8).unbind(0)
    y, w = causal_attention(q, k, v)
    torch.testing.assert_close(y, F.scaled_dot_product_attention(q, k, v, is_causal=True))
    torch.testing.assert_close(w.sum(-1), torch.ones(2, 4, 5))
    assert torch.all(w.triu(1) == 0)


def test_heads_must_divide_width():
    with pytest.raises(ValueError, match=r"n_heads=3.*d_model=64"):
        MultiHeadAttention(64, 3)


def test_wrong_input_shape():
    with pytest.raises(ValueError, match="32"):
        MultiHeadAttention(32, 4)(torch.randn(2, 5, 16))


def test_equals_torch_multihead_attention_with_copied_weights():
    torch.manual_seed(0)
    D, H, T = 32, 4, 7
    ours = MultiHeadAttention(D, H).eval()
    ref = torch.nn.MultiheadAttention(D, H, batch_first=True).eval()
    with torch.no_grad():
        ref.in_proj_weight.copy_(ours.qkv.weight)  # same [q; k; v] row order
        ref.in_proj_bias.copy_(ours.qkv.bias)
        ref.out_proj.weight.copy_(ours.proj.weight)
        ref.out_proj.bias.copy_(ours.proj.bias)
    x = torch.randn(3, T, D)
    mask = ~causal_mask(T)  # torch's mask marks what is hidden
    expected, _ = ref(x, x, x, attn_mask=mask, need_weights=False)
    torch.testing.assert_close(ours(x), expected, atol=1e-5, rtol=1e-5)
    ours.keep_weights = True  # the teaching path gives the same output and keeps the weights
    torch.testing.assert_close(ours(x), expected, atol=1e-5, rtol=1e-5)
    assert ours.last_weights.shape == (3, H, T, T)


def test_causal_future_tokens_do_not_change_the_past():
    attn = MultiHeadAttention(16, 2).eval()
    x = torch.randn(1, 6, 16)
    x2 = x.clone()
    x2[:, 4:] = torch.randn(1, 2, 16)
    torch.testing.assert_close(attn(x)[:, :4], attn(x2)[:, :4])
    assert not torch.allclose(attn(x)[:, 4:], attn(x2)[:, 4:])


def test_rotary_scores_depend_only_on_relative_position():
    from lmlib.models.attention import rotary

    q, k = torch.randn(1, 1, 1, 8), torch.randn(1, 1, 1, 8)

    def score(t, s):  # q placed at position t, k at position s
        qs = torch.zeros(1, 1, 12, 8)
        ks = torch.zeros(1, 1, 12, 8)
        qs[..., t, :], ks[..., s, :] = q[..., 0, :], k[..., 0, :]
        return (rotary(qs)[..., t, :] * rotary(ks)[..., s, :]).sum()

    assert torch.allclose(score(5, 2), score(9, 6), atol=1e-5)
    assert not torch.allclose(score(5, 2), score(5, 4), atol=1e-3)
    x = torch.randn(2, 3, 7, 8)
    assert torch.allclose(rotary(x).norm(dim=-1), x.norm(dim=-1), atol=1e-5)  # a rotation
    assert torch.equal(rotary(x)[..., 0, :], x[..., 0, :])  # position 0 is not rotated
    with pytest.raises(ValueError):
        rotary(torch.randn(1, 1, 3, 5))
    with pytest.raises(ValueError):
        MultiHeadAttention(6, 2, rope=True)  # head width 3 is odd


def test_rope_attention_is_causal_and_plain_path_matches_fast_path():
    torch.manual_seed(0)
    mha = MultiHeadAttention(16, 2, rope=True)
    x = torch.randn(2, 6, 16)
    fast = mha(x)
    mha.keep_weights = True
    assert torch.allclose(mha(x), fast, atol=1e-5)
    x2 = x.clone()
    x2[:, 4:] = torch.randn(2, 2, 16)
    assert torch.allclose(mha(x2)[:, :4], fast[:, :4], atol=1e-5)


def test_non_causal_attention_sees_the_future_and_plain_path_matches():
    torch.manual_seed(0)
    attn = MultiHeadAttention(16, 4, causal=False).eval()
    x = torch.randn(2, 6, 16)
    y = attn(x)
    x2 = x.clone()
    x2[:, -1] += 1.0
    assert not torch.allclose(attn(x2)[:, 0], y[:, 0])  # token 0 sees the last token
    attn.keep_weights = True
    assert torch.allclose(attn(x), y, atol=1e-5)
    assert (attn.last_weights.triu(1) > 0).any()
    assert torch.allclose(attn.last_weights.sum(-1), torch.ones(2, 4, 6))


def test_explicit_mask_replaces_causality_on_both_paths():
    torch.manual_seed(0)
    attn = MultiHeadAttention(16, 4).eval()
    x = torch.randn(2, 5, 16)
    prefix = causal_mask(5)
    prefix[:, :3] = True  # the first three tokens see each other: a prefix LM's mask
    fast = attn(x, prefix)
    attn.keep_weights = True
    assert torch.allclose(attn(x, prefix), fast, atol=1e-5)
    assert (attn.last_weights[..., 0, 1:3] > 0).all() and (attn.last_weights[..., 0, 3:] == 0).all()
    assert torch.allclose(attn(x, causal_mask(5)), attn(x), atol=1e-6)


def test_bad_mask_is_refused():
    attn = MultiHeadAttention(8, 2)
    x = torch.randn(1, 4, 8)
    with pytest.raises(ValueError, match="mask must be bool"):
        attn(x, torch.ones(3, 3, dtype=torch.bool))
    with pytest.raises(ValueError, match="mask must be bool"):
        attn(x, torch.ones(4, 4))


def test_rotary_offset_rotates_as_the_same_positions_of_a_longer_sequence():
    from lmlib.models.attention import rotary

    x = torch.randn(2, 3, 10, 8)
    torch.testing.assert_close(rotary(x[..., 6:, :], offset=6), rotary(x)[..., 6:, :])
    torch.testing.assert_close(rotary(x[..., 9:, :], offset=9), rotary(x)[..., 9:, :])


@pytest.mark.parametrize("rope", [False, True])
def test_attention_with_a_cache_matches_attention_over_the_whole_sequence(rope):
    from lmlib.models.kv_cache import KVCache

    torch.manual_seed(0)
    mha = MultiHeadAttention(16, 2, rope=rope).eval()
    x = torch.randn(2, 9, 16)
    cache = KVCache(capacity=9)
    parts = [mha(x[:, :4], cache=cache), mha(x[:, 4:7], cache=cache)]  # chunks after a prefix
    parts += [mha(x[:, t : t + 1], cache=cache) for t in (7, 8)]  # then one token at a time
    torch.testing.assert_close(torch.cat(parts, dim=1), mha(x), atol=1e-5, rtol=0)
    mha.keep_weights = True  # the plain path agrees too, and records (B, H, T, S) weights
    cache = KVCache(capacity=9)
    mha(x[:, :7], cache=cache)
    torch.testing.assert_close(mha(x[:, 7:], cache=cache), mha(x)[:, 7:], atol=1e-5, rtol=0)


def test_visible_keys_lets_each_new_query_see_its_own_past():
    from lmlib.models.attention import visible_keys

    mask = visible_keys(2, 5, causal=True)  # 3 cached tokens, then queries at positions 3 and 4
    assert mask.tolist() == [[True, True, True, True, False], [True] * 5]
    assert torch.equal(visible_keys(4, 4, causal=True), causal_mask(4))
    assert visible_keys(1, 7, causal=True).all() and visible_keys(3, 7, causal=False).all()


def test_bidirectional_prefix_then_cached_steps_is_a_prefix_lm():
    from lmlib.models.kv_cache import KVCache

    torch.manual_seed(0)
    mha = MultiHeadAttention(16, 2, causal=False).eval()
    x, P = torch.randn(1, 7, 16), 4
    cache = KVCache(capacity=7)
    steps = [mha(x[:, :P], cache=cache)]  # the prefix, read both ways in one pass
    steps += [mha(x[:, t : t + 1], cache=cache) for t in range(P, 7)]  # then causal steps
    s, t = torch.arange(7), torch.arange(7)[:, None]
    prefix_lm = (s < P) | (s <= t)  # (T, T): the prefix sees itself both ways
    torch.testing.assert_close(torch.cat(steps, 1), mha(x, mask=prefix_lm), atol=1e-5, rtol=0)
    with pytest.raises(ValueError, match=r"T=1, S=8"):
        mha(x[:, :1], mask=torch.ones(1, 1, dtype=torch.bool), cache=_filled(7))


def _filled(n: int):
    from lmlib.models.kv_cache import KVCache

    cache = KVCache(capacity=n + 1)
    cache.append(torch.zeros(1, 2, n, 8), torch.zeros(1, 2, n, 8))
    return cache
