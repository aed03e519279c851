"""Plausible wrong answers for lab 1.3; each must score zero. exercise -> {mutant: cell source}."""

_H = "# EXERCISE: {}\nimport math\n\nimport torch\n\n"
FIT = _H.format("fit_given_floor") + "def fit_given_floor(x, loss, l_inf):\n"
ACC = _H.format("token_accuracy") + "def token_accuracy(logits, targets, answer):\n"
_LOGS = """\
    lx = torch.as_tensor(x, dtype=torch.float64).log()
    ly = (torch.as_tensor(loss, dtype=torch.float64) - l_inf).log()
"""
_SLOPE = "    slope = ((lx - lx.mean()) * (ly - ly.mean())).sum() / ((lx - lx.mean()) ** 2).sum()\n"

MUTANTS = {
    "fit_given_floor": {
        "ignores_floor": FIT
        + """\
    lx = torch.as_tensor(x, dtype=torch.float64).log()
    ly = torch.as_tensor(loss, dtype=torch.float64).log()
"""
        + _SLOPE
        + "    return math.exp((ly.mean() - slope * lx.mean()).item()), -slope.item()\n",
        "slope_sign": FIT
        + _LOGS
        + _SLOPE
        + "    return math.exp((ly.mean() - slope * lx.mean()).item()), slope.item()\n",
        "log_a_not_a": FIT
        + _LOGS
        + _SLOPE
        + "    return (ly.mean() - slope * lx.mean()).item(), -slope.item()\n",
        "endpoints_only": FIT
        + _LOGS
        + """\
    slope = (ly[-1] - ly[0]) / (lx[-1] - lx[0])
    return math.exp((ly.mean() - slope * lx.mean()).item()), -slope.item()
""",
        "linear_not_log": FIT
        + """\
    lx = torch.as_tensor(x, dtype=torch.float64)
    ly = torch.as_tensor(loss, dtype=torch.float64) - l_inf
"""
        + _SLOPE
        + "    return (ly.mean() - slope * lx.mean()).item(), -slope.item()\n",
        "swapped_axes": FIT
        + _LOGS
        + """\
    slope = ((lx - lx.mean()) * (ly - ly.mean())).sum() / ((ly - ly.mean()) ** 2).sum()
    return math.exp((ly.mean() - slope * lx.mean()).item()), -slope.item()
""",
    },
    "token_accuracy": {
        "all_tokens": ACC
        + """\
    return (logits.argmax(dim=-1) == targets).float().mean().item()
""",
        "per_item_exact": ACC
        + """\
    correct = logits.argmax(dim=-1) == targets
    return (correct | ~answer).all(dim=1).float().mean().item()
""",
        "mean_of_item_means": ACC
        + """\
    correct = ((logits.argmax(dim=-1) == targets) & answer).sum(dim=1)
    n = answer.sum(dim=1)
    keep = n > 0
    return (correct[keep] / n[keep]).mean().item()
""",
        "counts_not_fraction": ACC
        + """\
    return float(((logits.argmax(dim=-1) == targets) & answer).sum().item())
""",
        "argmin": ACC
        + """\
    correct = (logits.argmin(dim=-1) == targets) & answer
    return correct.sum().item() / max(1, answer.sum().item())
""",
        "tensor_not_float": ACC
        + """\
    correct = (logits.argmax(dim=-1) == targets) & answer
    return correct.sum() / answer.sum()
""",
    },
}
