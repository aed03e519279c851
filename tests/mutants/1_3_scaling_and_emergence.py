"""Plausible wrong answers for lab 1.3; each must score zero. exercise -> {mutant: cell source}."""

import runpy
from pathlib import Path

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

# Wrong in one way each, by class (tests/test_grading_mutants.py KINDS).
_WRAP = runpy.run_path(str(Path(__file__).with_name("_kinds.py")))
LAB = "1_3_scaling_and_emergence"
_FIT_END = """\
    return math.exp((ly.mean() - slope * lx.mean()).item()), -slope.item()
"""
MUTANTS["fit_given_floor"] |= {
    "sizes_first_eight_points": FIT
    + "    x, loss = x[:8], loss[:8]  # the sweeps have eight sizes\n"
    + _LOGS
    + _SLOPE
    + _FIT_END,
    "precision_fit_in_float32": FIT
    + """\
    lx = torch.as_tensor(x, dtype=torch.float32).log()
    ly = (torch.as_tensor(loss, dtype=torch.float32) - l_inf).log()
"""
    + _SLOPE
    + _FIT_END,
    "inplace_subtract_the_floor": FIT
    + """\
    loss -= l_inf  # the reducible part, in place
    lx, ly = x.double().log(), loss.double().log()
"""
    + _SLOPE
    + _FIT_END,
    "stale_cache_by_shape": _WRAP["stale"](LAB, "fit_given_floor"),
    "dtype_tensors_not_floats": FIT
    + _LOGS
    + _SLOPE
    + "    return (ly.mean() - slope * lx.mean()).exp(), -slope\n",
}
MUTANTS["token_accuracy"] |= {
    "sizes_first_eight_tokens": ACC
    + """\
    correct = (logits[:, :8].argmax(dim=-1) == targets[:, :8]) & answer[:, :8]
    return correct.sum().item() / max(1, answer[:, :8].sum().item())
""",
    "inplace_reuse_the_mask": ACC
    + """\
    n = answer.sum().item()
    answer &= logits.argmax(dim=-1) == targets  # right answer tokens, in the mask's memory
    return answer.sum().item() / max(1, n)
""",
    "stale_cache_by_shape": _WRAP["stale"](LAB, "token_accuracy"),
    "edge_no_answer_token_divides_by_zero": ACC
    + """\
    correct = (logits.argmax(dim=-1) == targets) & answer
    return correct.sum().item() / answer.sum().item()
""",
    "dtype_tensor_not_float": ACC
    + """\
    correct = (logits.argmax(dim=-1) == targets) & answer
    return correct.sum() / answer.sum().clamp(min=1)
""",
}

# Right answers written another way: each must score full marks.
MUST_PASS = {
    "fit_given_floor": {
        "lstsq_in_float64": FIT
        + """\
    lx = torch.as_tensor(x, dtype=torch.float64).log()
    ly = (torch.as_tensor(loss, dtype=torch.float64) - l_inf).log()
    design = torch.stack([torch.ones_like(lx), lx], dim=1)  # (n, 2)
    intercept, slope = torch.linalg.lstsq(design, ly[:, None]).solution[:, 0].tolist()
    return math.exp(intercept), -slope
""",
        "numpy_polyfit_numpy_floats": FIT
        + """\
    import numpy as np

    lx = np.log(np.asarray(x, dtype=np.float64))
    ly = np.log(np.asarray(loss, dtype=np.float64) - l_inf)
    slope, intercept = np.polyfit(lx, ly, 1)
    return np.exp(intercept), -slope  # numpy float64 scalars are numbers too
""",
    },
    "token_accuracy": {
        "masked_select_numpy_float": ACC
        + """\
    import numpy as np

    hits = torch.masked_select(logits.argmax(dim=-1) == targets, answer)
    return np.float64(hits.double().mean().item()) if hits.numel() else 0.0
""",
    },
}
