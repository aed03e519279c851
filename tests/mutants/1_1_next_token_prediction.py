"""Plausible wrong answers for lab 1.1; each must score zero. exercise -> {mutant: cell source}."""

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
