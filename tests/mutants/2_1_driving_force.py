"""Plausible wrong answers for lab 2.1; each must score zero. exercise -> {mutant: cell source}."""

import runpy
from pathlib import Path

FE = (
    "# EXERCISE: fit_exponential\nimport math\n\nimport torch\n\n\n"
    "def fit_exponential(years, values):\n"
)
_X = "    x = years.double()\n"
_Y = "    y = torch.log10(values.double())\n"
_LS = "    slope = ((x - x.mean()) * (y - y.mean())).sum() / ((x - x.mean()) ** 2).sum()\n"
NT = (
    "# EXERCISE: next_token_distribution\nimport torch\n\n\n"
    "def next_token_distribution(train, context, vocab_size, k):\n"
    "    n1 = len(context)\n"
)
_WIN = "    w = train.unfold(0, n1 + 1, 1)\n"
_MATCH = "    hits = w[(w[:, :-1] == context).all(-1), -1]\n"
CB = (
    "# EXERCISE: crossover_budget\nimport math\n\n\n"
    "def crossover_budget(budgets, loss_a, loss_b):\n"
    "    d = [a - b for a, b in zip(loss_a, loss_b)]\n"
)
_START = "    if d[0] < 0:\n        return float(budgets[0])\n"

MUTANTS = {
    "fit_exponential": {
        "natural_log_slope": FE
        + _X
        + "    y = torch.log(values.double())\n"
        + _LS
        + "    return float(slope), math.log(2) / float(slope)\n",
        "tenfold_time_not_doubling": FE
        + _X
        + _Y
        + _LS
        + "    return float(slope), 1 / float(slope)\n",
        "fit_in_linear_space": FE
        + _X
        + "    y = values.double()\n"
        + _LS
        + "    return float(slope), math.log10(2) / float(slope)\n",
        "first_and_last_points_only": FE
        + _X
        + _Y
        + "    slope = (y[-1] - y[0]) / (x[-1] - x[0])\n"
        + "    return float(slope), math.log10(2) / float(slope)\n",
        "regression_of_years_on_values": FE
        + _X
        + _Y
        + "    inv = ((x - x.mean()) * (y - y.mean())).sum() / ((y - y.mean()) ** 2).sum()\n"
        + "    slope = 1 / inv\n"
        + "    return float(slope), math.log10(2) / float(slope)\n",
        "doubling_times_slope": FE
        + _X
        + _Y
        + _LS
        + "    return float(slope), math.log10(2) * float(slope)\n",
    },
    "next_token_distribution": {
        "no_smoothing": NT
        + "    if n1 == 0:\n        hits = train\n    else:\n"
        + "    "
        + _WIN
        + "    "
        + _MATCH
        + "    c = torch.bincount(hits, minlength=vocab_size).double()\n"
        + "    return c / c.sum().clamp(min=1)\n",
        "not_normalised": NT
        + "    if n1 == 0:\n        hits = train\n    else:\n"
        + "    "
        + _WIN
        + "    "
        + _MATCH
        + "    c = torch.bincount(hits, minlength=vocab_size).double()\n"
        + "    return (c + k) / (c.sum() + k)\n",
        "ignores_the_context": NT
        + "    c = torch.bincount(train, minlength=vocab_size).double() + k\n"
        + "    return c / c.sum()\n",
        "only_the_last_context_token": NT
        + "    if n1 == 0:\n        hits = train\n    else:\n"
        + "        w = train.unfold(0, 2, 1)\n"
        + "        hits = w[w[:, 0] == context[-1], -1]\n"
        + "    c = torch.bincount(hits, minlength=vocab_size).double() + k\n"
        + "    return c / c.sum()\n",
        "counts_the_token_before": NT
        + "    if n1 == 0:\n        hits = train\n    else:\n"
        + "        w = train.unfold(0, n1 + 1, 1)\n"
        + "        hits = w[(w[:, 1:] == context).all(-1), 0]\n"
        + "    c = torch.bincount(hits, minlength=vocab_size).double() + k\n"
        + "    return c / c.sum()\n",
        "smoothing_only_seen_tokens": NT
        + "    if n1 == 0:\n        hits = train\n    else:\n"
        + "    "
        + _WIN
        + "    "
        + _MATCH
        + "    c = torch.bincount(hits, minlength=vocab_size).double()\n"
        + "    c = torch.where(c > 0, c + k, c)\n"
        + "    return c / c.sum().clamp(min=1e-12)\n",
    },
    "crossover_budget": {
        "linear_in_compute": CB
        + _START
        + "    for i in range(len(d) - 1):\n"
        + "        if d[i] >= 0 > d[i + 1]:\n"
        + "            f = d[i] / (d[i] - d[i + 1])\n"
        + "            return budgets[i] + f * (budgets[i + 1] - budgets[i])\n"
        + "    return None\n",
        "no_interpolation": CB
        + _START
        + "    for i in range(len(d) - 1):\n"
        + "        if d[i] >= 0 > d[i + 1]:\n"
        + "            return float(budgets[i + 1])\n"
        + "    return None\n",
        "last_crossing": CB
        + _START
        + "    found = None\n"
        + "    for i in range(len(d) - 1):\n"
        + "        if d[i] >= 0 > d[i + 1]:\n"
        + "            lo, hi = math.log10(budgets[i]), math.log10(budgets[i + 1])\n"
        + "            found = 10 ** (lo + d[i] / (d[i] - d[i + 1]) * (hi - lo))\n"
        + "    return found\n",
        "wrong_direction": CB.replace("a - b for", "b - a for")
        + _START
        + "    for i in range(len(d) - 1):\n"
        + "        if d[i] >= 0 > d[i + 1]:\n"
        + "            lo, hi = math.log10(budgets[i]), math.log10(budgets[i + 1])\n"
        + "            return 10 ** (lo + d[i] / (d[i] - d[i + 1]) * (hi - lo))\n"
        + "    return None\n",
        "strict_before_crossing": CB
        + _START
        + "    for i in range(len(d) - 1):\n"
        + "        if d[i] > 0 > d[i + 1]:\n"
        + "            lo, hi = math.log10(budgets[i]), math.log10(budgets[i + 1])\n"
        + "            return 10 ** (lo + d[i] / (d[i] - d[i + 1]) * (hi - lo))\n"
        + "    return None\n",
        "fraction_from_the_wrong_end": CB
        + _START
        + "    for i in range(len(d) - 1):\n"
        + "        if d[i] >= 0 > d[i + 1]:\n"
        + "            lo, hi = math.log10(budgets[i]), math.log10(budgets[i + 1])\n"
        + "            return 10 ** (lo - d[i + 1] / (d[i] - d[i + 1]) * (hi - lo))\n"
        + "    return None\n",
        "none_when_below_from_the_start": CB
        + "    for i in range(len(d) - 1):\n"
        + "        if d[i] >= 0 > d[i + 1]:\n"
        + "            lo, hi = math.log10(budgets[i]), math.log10(budgets[i + 1])\n"
        + "            return 10 ** (lo + d[i] / (d[i] - d[i + 1]) * (hi - lo))\n"
        + "    return None\n",
    },
}

# Wrong in one way each, by class (tests/test_grading_mutants.py KINDS).
_WRAP = runpy.run_path(str(Path(__file__).with_name("_kinds.py")))
LAB = "2_1_driving_force"
_FE_END = "    return float(slope), math.log10(2) / float(slope)\n"
_NT_END = """\
    counts = torch.bincount(followers, minlength=vocab_size).double() + k
    return counts / counts.sum()
"""
MUTANTS["fit_exponential"] |= {
    "precision_fit_in_float32": FE
    + "    x, y = years.float(), torch.log10(values.float())\n"
    + _LS
    + _FE_END,
    "inplace_log_of_the_values": FE
    + _X
    + "    y = values.log10_()  # log10 in place: no copy\n"
    + _LS
    + _FE_END,
    "stale_cache_by_shape": _WRAP["stale"](LAB, "fit_exponential"),
    "dtype_tensors_not_floats": FE + _X + _Y + _LS + "    return slope, math.log10(2) / slope\n",
    "sizes_first_eight_points": FE
    + "    x, y = years[:8].double(), torch.log10(values[:8].double())  # a short trend\n"
    + _LS
    + _FE_END,
}
MUTANTS["next_token_distribution"] |= {
    "sizes_context_of_two_at_most": NT
    + """\
    if n1 > 2:  # trigrams at most
        context, n1 = context[-2:], 2
    if n1 == 0:
        followers = train
    else:
        windows = train.unfold(0, n1 + 1, 1)
        followers = windows[(windows[:, :-1] == context).all(-1), -1]
"""
    + _NT_END,
    "stale_cache_by_shape": _WRAP["stale"](LAB, "next_token_distribution"),
    "dtype_float32": _WRAP["cast"](LAB, "next_token_distribution", "float32"),
    "const_k_of_the_example": NT
    + """\
    k = 0.5  # the smoothing of the worked example
    if n1 == 0:
        followers = train
    else:
        windows = train.unfold(0, n1 + 1, 1)
        followers = windows[(windows[:, :-1] == context).all(-1), -1]
"""
    + _NT_END,
    "inplace_sort_the_counts": NT
    + """\
    if n1 == 0:
        followers = train
    else:
        windows = train.unfold(0, n1 + 1, 1)
        followers = windows[(windows[:, :-1] == context).all(-1), -1]
    counts = torch.bincount(followers, minlength=vocab_size).double() + k
    train.sort()  # (a no-op: sort returns a copy)
    train.copy_(train.sort().values)  # tidy the corpus for the next call
    return counts / counts.sum()
""",
}
MUTANTS["crossover_budget"] |= {
    "inplace_differences_in_loss_a": CB.replace(
        "    d = [a - b for a, b in zip(loss_a, loss_b)]\n",
        """\
    d = loss_a  # a - b, computed in place
    for i, b in enumerate(loss_b):
        d[i] -= b
""",
    )
    + """\
    if d[0] < 0:
        return float(budgets[0])
    for i in range(len(d) - 1):
        if d[i] >= 0 > d[i + 1]:
            lo, hi = math.log10(budgets[i]), math.log10(budgets[i + 1])
            return 10 ** (lo + d[i] / (d[i] - d[i + 1]) * (hi - lo))
    return None
""",
    "stale_cache_by_length": _WRAP["wrapped"](
        LAB,
        "crossover_budget",
        """\
_seen = {}


def crossover_budget(budgets, loss_a, loss_b):
    if len(budgets) not in _seen:  # one sweep per length
        _seen[len(budgets)] = _right(budgets, loss_a, loss_b)
    return _seen[len(budgets)]
""",
    ),
    "dtype_tensor_not_float": CB.replace("import math\n", "import math\nimport torch\n", 1)
    + """\
    if d[0] < 0:
        return torch.tensor(budgets[0])
    for i in range(len(d) - 1):
        if d[i] >= 0 > d[i + 1]:
            lo, hi = math.log10(budgets[i]), math.log10(budgets[i + 1])
            return torch.tensor(10 ** (lo + d[i] / (d[i] - d[i + 1]) * (hi - lo)))
    return None
""",
}
# Right answers written another way: each must score full marks.
MUST_PASS = {
    "fit_exponential": {
        "numpy_polyfit_numpy_floats": FE
        + """\
    import numpy as np

    slope, _ = np.polyfit(years.double().numpy(), np.log10(values.double().numpy()), 1)
    return slope, np.log10(2.0) / slope
""",
    },
    "next_token_distribution": {
        "python_counts": NT
        + """\
    ctx, seq = context.tolist(), train.tolist()
    counts = [k] * vocab_size
    for i in range(n1, len(seq)):
        if seq[i - n1 : i] == ctx:
            counts[seq[i]] += 1
    total = sum(counts)
    return torch.tensor([c / total for c in counts], dtype=torch.float64)
""",
    },
    "crossover_budget": {
        "numpy_interpolation": CB
        + """\
    import numpy as np

    logs = np.log10(np.asarray(budgets, dtype=np.float64))
    if d[0] < 0:
        return np.float64(budgets[0])
    for i in range(len(d) - 1):
        if d[i] >= 0 > d[i + 1]:
            return 10 ** np.interp(0.0, [-d[i], -d[i + 1]], logs[i : i + 2])
    return None
""",
    },
}
