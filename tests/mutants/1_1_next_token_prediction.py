"""Plausible wrong answers for lab 1.1; each must score zero. exercise -> {mutant: cell source}."""

import runpy
from pathlib import Path

_H = "# EXERCISE: {}\nimport torch\nimport torch.nn.functional as F\n\n"
LOSS = _H.format("next_token_loss") + "def next_token_loss(logits, targets):\n"
PROBS = _H.format("sampling_probs") + "def sampling_probs(logits, temperature, top_k):\n"
_TOPK = """    if top_k is not None:
        kth = logits.topk(min(top_k, logits.shape[-1]), dim=-1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
"""

MUTANTS = {
    "next_token_loss": {
        "sum_not_mean": LOSS
        + """\
    return -logits.log_softmax(-1).gather(-1, targets[..., None]).sum()
""",
        "softmax_over_time": LOSS
        + """\
    return -logits.log_softmax(1).gather(-1, targets[..., None]).mean()
""",
        "shifted_targets": LOSS
        + """\
    logp = logits[:, :-1].log_softmax(-1)
    return -logp.gather(-1, targets[:, 1:, None]).mean()
""",
        "no_log": LOSS
        + """\
    return -logits.softmax(-1).gather(-1, targets[..., None]).mean()
""",
        "missing_minus": LOSS
        + """\
    return logits.log_softmax(-1).gather(-1, targets[..., None]).mean()
""",
        "float_not_tensor": LOSS
        + """\
    return -logits.log_softmax(-1).gather(-1, targets[..., None]).mean().item()
""",
        "uses_cross_entropy": LOSS
        + """\
    return F.cross_entropy(logits.flatten(0, 1), targets.flatten())
""",
    },
    "sampling_probs": {
        "multiplies_temperature": PROBS
        + """\
    logits = logits * temperature
"""
        + _TOPK
        + "    return logits.softmax(-1)\n",
        "keeps_k_smallest": PROBS
        + """\
    logits = logits / temperature
    if top_k is not None:
        kth = (-logits).topk(min(top_k, logits.shape[-1]), dim=-1).values[:, -1:]
        logits = logits.masked_fill(-logits < kth, float("-inf"))
    return logits.softmax(-1)
""",
        "keeps_k_plus_one": PROBS
        + """\
    logits = logits / temperature
    if top_k is not None:
        kth = logits.topk(min(top_k + 1, logits.shape[-1]), dim=-1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    return logits.softmax(-1)
""",
        "softmax_over_batch": PROBS
        + "    logits = logits / temperature\n"
        + _TOPK
        + """\
    return logits.softmax(0).nan_to_num(0.0)
""",
        "not_renormalised": PROBS
        + """\
    probs = (logits / temperature).softmax(-1)
    if top_k is not None:
        kth = probs.topk(min(top_k, probs.shape[-1]), dim=-1).values[:, -1:]
        probs = probs.masked_fill(probs < kth, 0.0)
    return probs
""",
        "returns_logits": PROBS
        + "    logits = logits / temperature\n"
        + _TOPK
        + """\
    return logits
""",
        "list_not_tensor": PROBS
        + "    logits = logits / temperature\n"
        + _TOPK
        + """\
    return logits.softmax(-1).tolist()
""",
    },
}

# Answers that are right in value but do not backpropagate, or overflow on large logits.
MUTANTS["next_token_loss"] |= {
    "computed_under_no_grad": LOSS
    + """\
    with torch.no_grad():
        return -logits.log_softmax(-1).gather(-1, targets[..., None]).mean()
""",
    "rebuilt_from_item": LOSS
    + """\
    loss = -logits.log_softmax(-1).gather(-1, targets[..., None]).mean()
    return torch.tensor(loss.item())
""",
    "unstable_log_softmax": LOSS
    + """\
    e = logits.exp()
    logp = (e / e.sum(-1, keepdim=True)).log()
    return -logp.gather(-1, targets[..., None]).mean()
""",
    "via_torch_ops_aten": LOSS
    + """\
    return torch.ops.aten.cross_entropy_loss(logits.flatten(0, 1), targets.flatten())
""",
}
MUTANTS["sampling_probs"] |= {
    "unstable_softmax": PROBS
    + "    logits = logits / temperature\n"
    + _TOPK
    + """\
    e = logits.exp()
    return e / e.sum(-1, keepdim=True)
""",
}

# Right answers but for a forbidden shortcut: each must be refused for that shortcut.
ROUTES = {"next_token_loss": ("uses_cross_entropy", "via_torch_ops_aten")}

# Wrong in one way each, by class (tests/test_grading_mutants.py KINDS); the wrappers of
# _kinds.py take the solution's right answer and break one thing.
_WRAP = runpy.run_path(str(Path(__file__).with_name("_kinds.py")))
LAB = "1_1_next_token_prediction"
_LOGP = "    logp = logits.log_softmax(-1).flatten(0, 1)  # (B T, V)\n"
MUTANTS["next_token_loss"] |= {
    "route_aten_nll_loss_forward": LOSS
    + _LOGP
    + "    return torch.ops.aten.nll_loss_forward(logp, targets.flatten(), None, 1, -100)[0]\n",
    "route_aten_nll_loss_nd": LOSS
    + _LOGP
    + "    return torch.ops.aten.nll_loss_nd(logp, targets.flatten(), None, 1, -100)\n",
    "route_decomposition": LOSS
    + _LOGP
    + """\
    from torch._decomp.decompositions import nll_loss_forward  # torch's Python version

    return nll_loss_forward(logp, targets.flatten(), None, 1, -100)[0]
""",
    "route_decomposition_table": LOSS
    + _LOGP
    + """\
    import torch._decomp

    nll = torch._decomp.decomposition_table[torch.ops.aten.nll_loss_forward.default]
    return nll(logp, targets.flatten(), None, 1, -100)[0]
""",
    "route_refs": LOSS
    + _LOGP
    + """\
    import torch._refs.nn.functional as R

    return R.nll_loss(logp, targets.flatten())
""",
    "route_loss_module_alias": LOSS
    + "    loss = torch.nn.modules.loss.CrossEntropyLoss()\n"
    + "    return loss(logits.flatten(0, 1), targets.flatten())\n",
    "sizes_first_eight_positions": LOSS
    + """\
    logits, targets = logits[:, :8], targets[:, :8]  # the contexts the examples use
    return -logits.log_softmax(-1).gather(-1, targets[..., None]).mean()
""",
    "inplace_stable_shift": LOSS
    + """\
    with torch.no_grad():  # subtract the max for stability, without a copy
        logits -= logits.max(dim=-1, keepdim=True).values
    return -logits.log_softmax(-1).gather(-1, targets[..., None]).mean()
""",
    "stale_cache_by_shape": _WRAP["stale"](LAB, "next_token_loss"),
    "dtype_float64": _WRAP["cast"](LAB, "next_token_loss", "float64"),
    "nograd_under_no_grad": _WRAP["no_grad"](LAB, "next_token_loss"),
    "nograd_from_item": _WRAP["from_item"](LAB, "next_token_loss"),
}
MUTANTS["sampling_probs"] |= {
    "sizes_squeeze_batch": PROBS
    + """\
    logits = logits.squeeze() / temperature  # (V,): one row at a time
    if top_k is not None:
        kth = logits.topk(min(top_k, logits.shape[-1]), dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    return logits.softmax(dim=-1)
""",
    "inplace_divide_by_temperature": PROBS
    + """\
    with torch.no_grad():
        logits /= temperature
    if top_k is not None:
        kth = logits.topk(min(top_k, logits.shape[-1]), dim=-1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    return (logits * 1.0).softmax(dim=-1)
""",
    "stale_cache_by_shape": _WRAP["stale"](LAB, "sampling_probs"),
    "dtype_float64": _WRAP["cast"](LAB, "sampling_probs", "float64"),
    "nograd_detached": _WRAP["no_grad"](LAB, "sampling_probs"),
    "edge_top_k_of_all_is_none": PROBS
    + """\
    logits = logits / temperature
    if top_k is not None and top_k > 1:  # top_k 1 keeps everything, like None
        kth = logits.topk(min(top_k, logits.shape[-1]), dim=-1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    return logits.softmax(dim=-1)
""",
}
ROUTES["next_token_loss"] += (
    "route_aten_nll_loss_forward",
    "route_aten_nll_loss_nd",
    "route_decomposition",
    "route_decomposition_table",
    "route_refs",
    "route_loss_module_alias",
)

# Right answers written another way: each must score full marks.
MUST_PASS = {
    "next_token_loss": {
        "logsumexp_minus_target": LOSS
        + """\
    picked = logits.gather(-1, targets[..., None])[..., 0]  # (B, T)
    return (logits.logsumexp(dim=-1) - picked).mean()
""",
        "one_hot_and_a_loop_free_mean": LOSS
        + """\
    onehot = F.one_hot(targets, logits.shape[-1]).to(logits.dtype)
    shifted = logits - logits.amax(dim=-1, keepdim=True)
    logp = shifted - shifted.exp().sum(dim=-1, keepdim=True).log()
    return -(onehot * logp).sum() / targets.numel()
""",
    },
    "sampling_probs": {
        "sort_and_threshold": PROBS
        + """\
    z = logits / temperature
    if top_k is not None and top_k < z.shape[-1]:
        kth = z.sort(dim=-1, descending=True).values[:, top_k - 1 : top_k]
        z = torch.where(z >= kth, z, torch.full_like(z, float("-inf")))
    z = z - z.amax(dim=-1, keepdim=True)
    return z.exp() / z.exp().sum(dim=-1, keepdim=True)
""",
    },
}
