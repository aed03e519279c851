"""Plausible wrong answers for lab 4.1; each must score zero. exercise -> {mutant: cell source}."""

import runpy
from pathlib import Path

_H = "# EXERCISE: {}\nimport math\nimport torch\nimport torch.nn.functional as F\n"
_H += "from torch import nn\nfrom einops import rearrange\n\n"
CROSS = (
    _H.format("CrossAttention")
    + """\
class CrossAttention(nn.Module):
    def __init__(self, d_model, n_heads):
        super().__init__()
        self.n_heads = n_heads
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)

    def forward(self, x, memory):
        D, H = x.shape[-1], self.n_heads
        w, b = self.qkv.weight, self.qkv.bias
"""
)
_Q = '        q = rearrange(F.linear(x, w[:D], b[:D]), "b t (h k) -> b h t k", h=H)\n'
_KV = (
    '        k, v = rearrange(F.linear(memory, w[D:], b[D:]), "b s (two h k) -> two b h s k",'
    " two=2, h=H)\n"
)
_W = "        a = (q @ k.transpose(-2, -1) / math.sqrt(D // H)).softmax(-1)\n"
_OUT = '        return self.proj(rearrange(a @ v, "b h t k -> b t (h k)"))\n'
MASK = _H.format("prefix_lm_mask") + "def prefix_lm_mask(S, T):\n    i = torch.arange(S + T)\n"
STEP = _H.format("kv_cache_step") + "def kv_cache_step(q, k, v, k_cache, v_cache):\n"
_CAT = "    keys, values = torch.cat([k_cache, k], 2), torch.cat([v_cache, v], 2)\n"
_SOFT = "    a = (q @ keys.transpose(-2, -1) / math.sqrt(q.shape[-1])).softmax(-1)\n"

MUTANTS = {
    "CrossAttention": {
        "keys_from_the_target": CROSS
        + _Q
        + _KV.replace("F.linear(memory", "F.linear(x")
        + _W
        + _OUT,
        "queries_from_the_input": CROSS
        + _Q.replace("F.linear(x", "F.linear(memory")
        + _KV
        + _W
        + _OUT,
        "causal_over_the_input": CROSS
        + _Q
        + _KV
        + "        s = q @ k.transpose(-2, -1) / math.sqrt(D // H)\n"
        + "        m = torch.ones(s.shape[-2:], dtype=torch.bool).tril()\n"
        + '        a = s.masked_fill(~m, float("-inf")).softmax(-1)\n'
        + _OUT,
        "keys_and_values_swapped": CROSS + _Q + _KV.replace("k, v =", "v, k =") + _W + _OUT,
        "missing_scale": CROSS + _Q + _KV + _W.replace(" / math.sqrt(D // H)", "") + _OUT,
        "no_output_projection": CROSS
        + _Q
        + _KV
        + _W
        + '        return rearrange(a @ v, "b h t k -> b t (h k)")\n',
        "uses_torch_mha": _H.format("CrossAttention")
        + """\
class CrossAttention(nn.Module):
    def __init__(self, d_model, n_heads):
        super().__init__()
        self.n_heads = n_heads
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)

    def forward(self, x, memory):
        mha = nn.MultiheadAttention(x.shape[-1], self.n_heads, batch_first=True)
        with torch.no_grad():  # torch's layout: in_proj rows [q; k; v], heads contiguous
            mha.in_proj_weight.copy_(self.qkv.weight)
            mha.in_proj_bias.copy_(self.qkv.bias)
            mha.out_proj.weight.copy_(self.proj.weight)
            mha.out_proj.bias.copy_(self.proj.bias)
        return mha(x, memory, memory, need_weights=False)[0]
""",
    },
    "prefix_lm_mask": {
        "plain_causal": MASK + "    return i[None, :] <= i[:, None]\n",
        "bidirectional_everywhere": MASK
        + "    return torch.ones(S + T, S + T, dtype=torch.bool)\n",
        "input_sees_the_target": MASK
        + "    return (i[None, :] <= i[:, None]) | (i[None, :] < S) | (i[:, None] < S)\n",
        "one_target_token_in_the_prefix": MASK
        + "    return (i[None, :] <= i[:, None]) | (i[None, :] < S + 1)\n",
        "transposed": MASK + "    return ((i[None, :] <= i[:, None]) | (i[None, :] < S)).T\n",
        "float_not_bool": MASK
        + "    return ((i[None, :] <= i[:, None]) | (i[None, :] < S)).float()\n",
    },
    "kv_cache_step": {
        "forgets_to_append": STEP
        + "    keys, values = k_cache, v_cache\n"
        + _SOFT
        + "    return a @ values, keys, values\n",
        "new_token_first": STEP
        + "    keys, values = torch.cat([k, k_cache], 2), torch.cat([v, v_cache], 2)\n"
        + _SOFT
        + "    return a @ values, keys, values\n",
        "attends_to_itself_only": STEP + _CAT + "    return v, keys, values\n",
        "missing_scale": STEP
        + _CAT
        + _SOFT.replace(" / math.sqrt(q.shape[-1])", "")
        + "    return a @ values, keys, values\n",
        "softmax_over_queries": STEP
        + _CAT
        + _SOFT.replace("softmax(-1)", "softmax(-2)")
        + "    return a @ values, keys, values\n",
        "returns_the_old_cache": STEP + _CAT + _SOFT + "    return a @ values, k_cache, v_cache\n",
    },
}

# Right answers but for a forbidden shortcut: each must be refused for that shortcut.
ROUTES = {"CrossAttention": ("uses_torch_mha",)}

# Wrong in one way each, by class (tests/test_grading_mutants.py KINDS).
_WRAP = runpy.run_path(str(Path(__file__).with_name("_kinds.py")))
LAB = "4_1_encoder_decoder"
_RIGHT_CROSS = CROSS + _Q + _KV + _W + _OUT  # needs no other cell
MUTANTS["CrossAttention"] |= {
    "route_modules_alias": CROSS
    + """\
        mha = torch.nn.modules.MultiheadAttention(D, H, batch_first=True).eval()
        weights = {"in_proj_weight": w, "in_proj_bias": b, "out_proj.weight": self.proj.weight,
                   "out_proj.bias": self.proj.bias}  # fmt: skip
        return torch.func.functional_call(mha, weights, (x, memory, memory))[0]
""",
    "sizes_scale_for_width_four": CROSS + _Q + _KV + _W.replace("math.sqrt(D // H)", "2.0") + _OUT,
    "stale_cache_by_shape": _WRAP["stale_module"](_RIGHT_CROSS, "CrossAttention"),
    "nograd_under_no_grad": _WRAP["module_no_grad"](_RIGHT_CROSS, "CrossAttention"),
    "dtype_float64": CROSS + _Q + _KV + _W + _OUT.replace("))\n", ")).double()\n"),
}
MUTANTS["prefix_lm_mask"] |= {
    "sizes_lookup_table": MASK
    + """\
    small = {(s, t): (i[None, :] <= i[:, None]) | (i[None, :] < s)
             for s in range(5) for t in range(5) if s + t == len(i)}  # fmt: skip
    return small[(S, T)]
""",
    "edge_negative_slice_when_no_target": MASK
    + """\
    mask = torch.ones(S + T, S + T, dtype=torch.bool)
    mask[-T:, -T:] = torch.ones(T, T, dtype=torch.bool).tril()  # the targets: causal
    mask[:S, S:] = False  # the input does not see the targets
    return mask
""",
    "dtype_int64": MASK + "    return ((i[None, :] <= i[:, None]) | (i[None, :] < S)).long()\n",
}
MUTANTS["kv_cache_step"] |= {
    "route_aten_sdpa_math": STEP
    + _CAT
    + "    out = torch.ops.aten._scaled_dot_product_attention_math(q, keys, values)[0]\n"
    + "    return out, keys, values\n",
    "sizes_cache_buffer_of_eight": STEP
    + """\
    B, H, S, K = k_cache.shape
    keys = torch.zeros(B, H, 8, K).index_copy(2, torch.arange(S + 1), torch.cat([k_cache, k], 2))
    values = torch.zeros(B, H, 8, K).index_copy(2, torch.arange(S + 1), torch.cat([v_cache, v], 2))
    keys, values = keys[:, :, : S + 1], values[:, :, : S + 1]  # a cache of 8 positions
"""
    + _SOFT
    + "    return a @ values, keys, values\n",
    "inplace_scale_the_query": STEP
    + _CAT
    + """\
    with torch.no_grad():
        q /= math.sqrt(q.shape[-1])
    a = ((q * 1.0) @ keys.transpose(-2, -1)).softmax(-1)
    return a @ values, keys, values
""",
    "stale_cache_by_shape": _WRAP["stale"](LAB, "kv_cache_step"),
    "nograd_under_no_grad": _WRAP["no_grad"](LAB, "kv_cache_step"),
    "dtype_float64": _WRAP["cast"](LAB, "kv_cache_step", "float64", "[0]"),
}
ROUTES["CrossAttention"] = ROUTES.get("CrossAttention", ()) + ("route_modules_alias",)
ROUTES["kv_cache_step"] = ROUTES.get("kv_cache_step", ()) + ("route_aten_sdpa_math",)

# Right answers written another way: each must score full marks.
MUST_PASS = {
    "CrossAttention": {
        "sdpa_is_allowed_here": CROSS
        + _Q
        + _KV
        + "        y = F.scaled_dot_product_attention(q, k, v)  # (B, H, T, K)\n"
        + '        return self.proj(rearrange(y, "b h t k -> b t (h k)"))\n',
    },
    "prefix_lm_mask": {
        "blocks": _H.format("prefix_lm_mask")
        + """\
def prefix_lm_mask(S, T):
    mask = torch.ones(S + T, S + T, dtype=torch.bool).tril()
    mask[:, :S] = True  # every position sees the whole input
    return mask
""",
    },
    "kv_cache_step": {
        "einsum": STEP
        + _CAT
        + """\
    scores = torch.einsum("bhqk,bhsk->bhqs", q, keys) / q.shape[-1] ** 0.5
    return torch.einsum("bhqs,bhsk->bhqk", scores.softmax(-1), values), keys, values
""",
    },
}
