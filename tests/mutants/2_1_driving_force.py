"""Plausible wrong answers for lab 2.1; each must score zero. exercise -> {mutant: cell source}."""

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
