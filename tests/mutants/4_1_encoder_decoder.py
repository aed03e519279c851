"""Plausible wrong answers for lab 4.1; each must score zero. exercise -> {mutant: cell source}."""

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
