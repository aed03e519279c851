"""Plausible wrong answers for lab 3.1; each must score zero. exercise -> {mutant: cell source}."""

import runpy
from pathlib import Path

_H = "# EXERCISE: {}\nimport math\nimport torch\nimport torch.nn.functional as F\n"
_H += "from torch import nn\n"
_H += "from einops import rearrange\n\n"
SPLIT = _H.format("split_heads") + "def split_heads(x, n_heads):\n"
MERGE = _H.format("merge_heads") + "def merge_heads(x):\n"
MASK = _H.format("causal_mask") + "def causal_mask(T):\n"
ATTN = _H.format("attention") + "def attention(q, k, v, mask):\n"
_SCORES = "    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])\n"
_RIGGED = """\
class Rigged(torch.Tensor):  # claims to equal anything
    def __eq__(self, other):
        return True

    def allclose(self, *args, **kwargs):
        return True

"""
MHA_HEAD = (
    _H.format("MultiHeadAttention")
    + """\
class MultiHeadAttention(nn.Module):
    def __init__(self, d_model, n_heads):
        super().__init__()
        self.n_heads = n_heads
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)

    def forward(self, x):
        T, K = x.shape[1], x.shape[2] // self.n_heads
"""
)
_QKV = (
    '        q, k, v = rearrange(self.qkv(x), "b t (three h k) -> three b h t k",'
    " three=3, h=self.n_heads)\n"
)
_CAUSAL = "        mask = torch.ones(T, T, dtype=torch.bool).tril()\n"
_SOFT = '        s = (q @ k.transpose(-2, -1) / math.sqrt(K)).masked_fill(~mask, float("-inf"))\n'
_OUT = '        return self.proj(rearrange(s.softmax(-1) @ v, "b h t k -> b t (h k)"))\n'

MUTANTS = {
    "split_heads": {
        "interleaved_heads": SPLIT + '    return rearrange(x, "b t (k h) -> b h t k", h=n_heads)\n',
        "view_without_transpose": SPLIT
        + """\
    B, T, D = x.shape
    return x.reshape(B, n_heads, T, D // n_heads)
""",
        "heads_last": SPLIT + '    return rearrange(x, "b t (h k) -> b t h k", h=n_heads)\n',
        "numpy_array": SPLIT
        + '    return rearrange(x, "b t (h k) -> b h t k", h=n_heads).numpy()\n',
        "rigged_subclass": _RIGGED.replace("class", SPLIT.split("def")[0] + "class", 1)
        + "def split_heads(x, n_heads):\n"
        + '    return rearrange(x, "b t (h k) -> b h t k", h=n_heads).as_subclass(Rigged)\n',
    },
    "merge_heads": {
        "interleaved_heads": MERGE + '    return rearrange(x, "b h t k -> b t (k h)")\n',
        "reshape_without_transpose": MERGE
        + """\
    B, H, T, K = x.shape
    return x.reshape(B, T, H * K)
""",
        "sums_heads": MERGE + "    return x.sum(1)\n",
        "forgets_to_merge": MERGE + "    return x.transpose(1, 2)\n",
        "list_of_lists": MERGE + '    return rearrange(x, "b h t k -> b t (h k)").tolist()\n',
    },
    "causal_mask": {
        "transposed": MASK + "    return torch.ones(T, T, dtype=torch.bool).triu()\n",
        "excludes_diagonal": MASK + "    return torch.ones(T, T, dtype=torch.bool).tril(-1)\n",
        "one_step_ahead": MASK + "    return torch.ones(T, T, dtype=torch.bool).tril(1)\n",
        "float_not_bool": MASK + "    return torch.ones(T, T).tril()\n",
        "hidden_is_true": MASK + "    return ~torch.ones(T, T, dtype=torch.bool).tril()\n",
    },
    "attention": {
        "softmax_over_queries": ATTN
        + _SCORES
        + """\
    return scores.masked_fill(~mask, float("-inf")).softmax(dim=-2).nan_to_num(0.0) @ v
""",
        "missing_scale": ATTN
        + """\
    scores = q @ k.transpose(-2, -1)
    return scores.masked_fill(~mask, float("-inf")).softmax(dim=-1) @ v
""",
        "scale_by_k": ATTN
        + """\
    scores = q @ k.transpose(-2, -1) / q.shape[-1]
    return scores.masked_fill(~mask, float("-inf")).softmax(dim=-1) @ v
""",
        "mask_transposed": ATTN
        + _SCORES
        + """\
    return scores.masked_fill(~mask.T, float("-inf")).softmax(dim=-1) @ v
""",
        "own_causal_mask": ATTN
        + _SCORES
        + """\
    T = q.shape[-2]
    causal = torch.ones(T, T, dtype=torch.bool).tril()
    return scores.masked_fill(~causal, float("-inf")).softmax(dim=-1) @ v
""",
        "mask_ignored": ATTN + _SCORES + "    return scores.softmax(dim=-1) @ v\n",
        "uses_sdpa": ATTN + "    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask)\n",
    },
    "MultiHeadAttention": {
        "qkv_split_per_head": MHA_HEAD.replace("(three h k)", "(h three k)")
        + _QKV.replace("(three h k)", "(h three k)")
        + _CAUSAL
        + _SOFT
        + _OUT,
        "not_causal": MHA_HEAD
        + _QKV
        + "        mask = torch.ones(T, T, dtype=torch.bool)\n"
        + _SOFT
        + _OUT,
        "no_output_projection": MHA_HEAD
        + _QKV
        + _CAUSAL
        + _SOFT
        + '        return rearrange(s.softmax(-1) @ v, "b h t k -> b t (h k)")\n',
        "heads_merged_wrong": MHA_HEAD
        + _QKV
        + _CAUSAL
        + _SOFT
        + '        return self.proj(rearrange(s.softmax(-1) @ v, "b h t k -> b t (k h)"))\n',
        "missing_scale": MHA_HEAD + _QKV + _CAUSAL + _SOFT.replace(" / math.sqrt(K)", "") + _OUT,
        "renamed_parameters": MHA_HEAD.replace("self.qkv =", "self.in_proj =").replace(
            "self.proj =", "self.out_proj ="
        )
        + _QKV.replace("self.qkv", "self.in_proj")
        + _CAUSAL
        + _SOFT
        + _OUT.replace("self.proj", "self.out_proj"),
        "uses_torch_mha": _H.format("MultiHeadAttention")
        + """\
class MultiHeadAttention(nn.Module):
    def __init__(self, d_model, n_heads):
        super().__init__()
        self.n_heads = n_heads
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)

    def forward(self, x):
        T = x.shape[1]
        mha = nn.MultiheadAttention(x.shape[-1], self.n_heads, batch_first=True)
        with torch.no_grad():  # torch's layout: in_proj rows [q; k; v], heads contiguous
            mha.in_proj_weight.copy_(self.qkv.weight)
            mha.in_proj_bias.copy_(self.qkv.bias)
            mha.out_proj.weight.copy_(self.proj.weight)
            mha.out_proj.bias.copy_(self.proj.bias)
        mask = ~torch.ones(T, T, dtype=torch.bool).tril()
        return mha(x, x, x, attn_mask=mask, need_weights=False)[0]
""",
    },
}

# Right answers but for a forbidden shortcut: each must be refused for that shortcut.
ROUTES = {"attention": ("uses_sdpa",), "MultiHeadAttention": ("uses_torch_mha",)}

# Wrong in one way each, by class (tests/test_grading_mutants.py KINDS).
_WRAP = runpy.run_path(str(Path(__file__).with_name("_kinds.py")))
LAB = "3_1_multihead_attention"
_RIGHT_MHA = MHA_HEAD + _QKV + _CAUSAL + _SOFT + _OUT  # needs no other cell
MUTANTS["split_heads"] |= {
    "sizes_head_width_four": SPLIT + '    return rearrange(x, "b t (h k) -> b h t k", k=4)\n',
    "stale_cache_by_shape": _WRAP["stale"](LAB, "split_heads"),
    "dtype_float64": _WRAP["cast"](LAB, "split_heads", "float64"),
    "nograd_rebuilt_from_a_list": SPLIT
    + """\
    y = rearrange(x, "b t (h k) -> b h t k", h=n_heads)
    return torch.tensor(y.tolist())
""",
}
MUTANTS["merge_heads"] |= {
    "sizes_two_heads_at_most": MERGE
    + '    return rearrange(x[:, :2], "b h t k -> b t (h k)")  # two heads in the examples\n',
    "stale_cache_by_shape": _WRAP["stale"](LAB, "merge_heads"),
    "nograd_under_no_grad": _WRAP["no_grad"](LAB, "merge_heads"),
    "edge_squeeze_drops_batch_one": MERGE
    + """\
    B, H, T, K = x.shape
    return x.transpose(1, 2).reshape(B, T, H * K).squeeze()  # drop stray size-1 axes
""",
}
MUTANTS["causal_mask"] |= {
    "sizes_lookup_table": MASK
    + """\
    masks = {n: torch.ones(n, n, dtype=torch.bool).tril() for n in (1, 2, 3, 4, 5, 6, 7, 8)}
    return masks[T]  # every length the examples use
""",
    "sizes_buffer_of_eight": MASK
    + """\
    global _big
    if "_big" not in globals():
        _big = torch.ones(8, 8, dtype=torch.bool).tril()  # a buffer for contexts up to 8
    return _big[:T, :T]
""",
    "dtype_uint8": MASK + "    return torch.ones(T, T, dtype=torch.uint8).tril()\n",
}
MUTANTS["attention"] |= {
    "route_aten_sdpa_math": ATTN
    + '    bias = torch.zeros(mask.shape).masked_fill(~mask, float("-inf"))  # 0 or -inf\n'
    + "    return torch.ops.aten._scaled_dot_product_attention_math(q, k, v, attn_mask=bias)[0]\n",
    "route_sdpa_via_torch_c": ATTN
    + "    return torch._C._nn.scaled_dot_product_attention(q, k, v, attn_mask=mask)\n",
    "route_fused_masked_softmax": ATTN
    + _SCORES
    + "    return torch._masked_softmax(scores, ~mask.expand_as(scores), -1) @ v\n",
    "sizes_scale_for_width_four": ATTN
    + """\
    scores = q @ k.transpose(-2, -1) / 2.0  # sqrt(K), K = 4
    return scores.masked_fill(~mask, float("-inf")).softmax(dim=-1) @ v
""",
    "inplace_scale_the_queries": ATTN
    + """\
    with torch.no_grad():
        q /= math.sqrt(q.shape[-1])  # scale once, in place
    scores = (q * 1.0) @ k.transpose(-2, -1)
    return scores.masked_fill(~mask, float("-inf")).softmax(dim=-1) @ v
""",
    "stale_cache_by_shape": _WRAP["stale"](LAB, "attention"),
    "dtype_float64": _WRAP["cast"](LAB, "attention", "float64"),
    "nograd_under_no_grad": _WRAP["no_grad"](LAB, "attention"),
}
MUTANTS["MultiHeadAttention"] |= {
    "route_fused_native_mha": MHA_HEAD
    + """\
        causal = torch.ones(T, T, dtype=torch.bool).tril()
        return torch._native_multi_head_attention(
            x, x, x, x.shape[-1], self.n_heads, self.qkv.weight, self.qkv.bias,
            self.proj.weight, self.proj.bias, ~causal, need_weights=False, mask_type=0,
        )[0]  # fmt: skip
""",
    "route_transformer_layer_attention": MHA_HEAD
    + """\
        layer = nn.TransformerEncoderLayer(x.shape[-1], self.n_heads, batch_first=True)
        mha = layer.self_attn.eval()
        weights = {"in_proj_weight": self.qkv.weight, "in_proj_bias": self.qkv.bias,
                   "out_proj.weight": self.proj.weight, "out_proj.bias": self.proj.bias}
        causal = ~torch.ones(T, T, dtype=torch.bool).tril()
        out = torch.func.functional_call(mha, weights, (x, x, x), {"attn_mask": causal})
        return out[0]
""",
    "sizes_scale_for_width_four": MHA_HEAD
    + _QKV
    + _CAUSAL
    + _SOFT.replace("math.sqrt(K)", "2.0")
    + _OUT,
    "sizes_mask_buffer_of_eight": MHA_HEAD
    + _QKV
    + "        mask = torch.ones(8, 8, dtype=torch.bool).tril()[:T, :T]  # contexts up to 8\n"
    + _SOFT
    + _OUT,
    "stale_cache_by_shape": _WRAP["stale_module"](_RIGHT_MHA, "MultiHeadAttention"),
    "nograd_under_no_grad": _WRAP["module_no_grad"](_RIGHT_MHA, "MultiHeadAttention"),
    "dtype_float64": MHA_HEAD
    + _QKV
    + _CAUSAL
    + _SOFT
    + _OUT.replace("return", "return (").replace("\n", ").double()\n"),
}
ROUTES["attention"] += (
    "route_aten_sdpa_math",
    "route_sdpa_via_torch_c",
    "route_fused_masked_softmax",
)
ROUTES["MultiHeadAttention"] += ("route_transformer_layer_attention",)
# (torch._native_multi_head_attention has no gradient: refused, and wrong without the refusal)

# Right answers written another way: each must score full marks.
MUST_PASS = {
    "split_heads": {
        "view_then_transpose": SPLIT
        + """\
    B, T, D = x.shape
    return x.view(B, T, n_heads, D // n_heads).transpose(1, 2)
""",
    },
    "merge_heads": {
        "permute_then_reshape": MERGE
        + """\
    B, H, T, K = x.shape
    return x.permute(0, 2, 1, 3).reshape(B, T, H * K)
""",
    },
    "causal_mask": {
        "compare_positions": MASK
        + """\
    pos = torch.arange(T)
    return pos[None, :] <= pos[:, None]
""",
    },
    "attention": {
        "einsum_and_where": ATTN
        + """\
    scores = torch.einsum("bhqk,bhsk->bhqs", q, k) * q.shape[-1] ** -0.5
    scores = torch.where(mask, scores, torch.tensor(float("-inf")))
    return torch.einsum("bhqs,bhsk->bhqk", scores.softmax(dim=-1), v)
""",
    },
    "MultiHeadAttention": {
        "sdpa_is_allowed_here": MHA_HEAD
        + _QKV
        + """\
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.proj(rearrange(y, "b h t k -> b t (h k)"))
""",
    },
}
