"""Plausible wrong answers for lab 1.4; each must score zero. exercise -> {mutant: cell source}."""

import runpy
from pathlib import Path

_H = "# EXERCISE: {}\nimport torch\n\n"
ST = _H.format("isoflop_steps") + "def isoflop_steps(budget, n_params, tokens_per_step):\n"
PM = _H.format("parabola_minimum") + "def parabola_minimum(log_n, loss):\n"
TP = _H.format("tokens_per_parameter") + "def tokens_per_parameter(budget, n_opt):\n"
_STEPS = "    steps = budget / (6 * n_params.double() * tokens_per_step)\n"
_FIT = """\
    centre = log_n.mean()
    x = log_n - centre
    X = torch.stack([x**2, x, torch.ones_like(x)], dim=1)
    c2, c1, c0 = torch.linalg.lstsq(X, loss[:, None]).solution.flatten().tolist()
"""
_VERTEX = "    return centre.item() - c1 / (2 * c2), c0 - c1**2 / (4 * c2)\n"
_WRAP = runpy.run_path(str(Path(__file__).with_name("_kinds.py")))
LAB = "1_4_compute_optimal"

MUTANTS = {
    "isoflop_steps": {
        "forgets_the_six": ST
        + "    steps = budget / (n_params.double() * tokens_per_step)\n"
        + "    return steps.round().clamp(min=1).long()\n",
        "forward_pass_only": ST
        + "    steps = budget / (2 * n_params.double() * tokens_per_step)\n"
        + "    return steps.round().clamp(min=1).long()\n",
        "floor_not_round": ST + _STEPS + "    return steps.floor().clamp(min=1).long()\n",
        "edge_zero_steps_for_a_large_model": ST + _STEPS + "    return steps.round().long()\n",
        "const_tokens_per_step_1024": ST
        + "    steps = budget / (6 * n_params.double() * 1024)\n"
        + "    return steps.round().clamp(min=1).long()\n",
        "dtype_float_steps": ST + _STEPS + "    return steps.round().clamp(min=1)\n",
        "dtype_python_list": ST
        + _STEPS
        + "    return steps.round().clamp(min=1).long().tolist()\n",
        "dtype_int32": ST + _STEPS + "    return steps.round().clamp(min=1).int()\n",
        "inplace_scales_the_sizes": ST
        + "    n_params *= 6 * tokens_per_step  # FLOPs per step, reusing the tensor\n"
        + "    return (budget / n_params.double()).round().clamp(min=1).long()\n",
        "sizes_squeeze_one_size": ST
        + _STEPS
        + "    return steps.round().clamp(min=1).long().squeeze()\n",
        "stale_cache_by_shape": _WRAP["stale"](LAB, "isoflop_steps"),
    },
    "parabola_minimum": {
        "vertex_sign_flipped": PM
        + _FIT
        + "    return centre.item() + c1 / (2 * c2), c0 - c1**2 / (4 * c2)\n",
        "forgets_the_centre": PM + _FIT + "    return -c1 / (2 * c2), c0 - c1**2 / (4 * c2)\n",
        "loss_at_the_centre_not_the_vertex": PM
        + _FIT
        + "    return centre.item() - c1 / (2 * c2), c0\n",
        "best_point_not_vertex": PM
        + "    i = int(loss.argmin())\n"
        + "    return log_n[i].item(), loss[i].item()\n",
        "three_lowest_points": PM
        + "    keep = loss.argsort()[:3]\n"
        + "    log_n, loss = log_n[keep], loss[keep]\n"
        + _FIT
        + _VERTEX,
        "sizes_assumes_five_sizes": PM + "    log_n, loss = log_n[:5], loss[:5]\n" + _FIT + _VERTEX,
        "dtype_tensors_not_floats": PM
        + _FIT
        + "    x0 = centre - c1 / (2 * c2)\n"
        + "    return x0, torch.tensor(c0 - c1**2 / (4 * c2), dtype=torch.float64)\n",
        "inplace_centres_the_sizes": PM
        + "    centre = log_n.mean().item()\n"
        + "    log_n -= centre  # centred, for a better-conditioned fit\n"
        + "    X = torch.stack([log_n**2, log_n, torch.ones_like(log_n)], dim=1)\n"
        + "    c2, c1, c0 = torch.linalg.lstsq(X, loss[:, None]).solution.flatten().tolist()\n"
        + "    return centre - c1 / (2 * c2), c0 - c1**2 / (4 * c2)\n",
        "precision_float32": PM
        + "    log_n, loss = log_n.float(), loss.float()\n"
        + "    X = torch.stack([log_n**2, log_n, torch.ones_like(log_n)], dim=1)\n"
        + "    c2, c1, c0 = torch.linalg.lstsq(X, loss[:, None]).solution.flatten().tolist()\n"
        + "    return -c1 / (2 * c2), c0 - c1**2 / (4 * c2)\n",
        "stale_cache_by_shape": _WRAP["stale"](LAB, "parabola_minimum"),
    },
    "tokens_per_parameter": {
        "tokens_not_per_parameter": TP + "    return budget / (6 * n_opt)\n",
        "forgets_the_six": TP + "    return budget / n_opt**2\n",
        "six_squared": TP + "    return budget / (6 * n_opt) ** 2\n",
        "const_chinchilla_twenty": TP + "    return 20.0\n",
        "edge_whole_tokens": TP + "    return budget // (6 * n_opt) / n_opt\n",
        "dtype_tensor": TP + "    return torch.tensor(budget / (6 * n_opt) / n_opt)\n",
        "parameters_per_token": TP + "    return n_opt / (budget / (6 * n_opt))\n",
    },
}

# Right answers written another way: each must score full marks.
MUST_PASS = {
    "isoflop_steps": {
        "python_loop": ST
        + "    per_step = 6 * tokens_per_step\n"
        + "    out = [max(1, round(budget / (per_step * n))) for n in n_params.tolist()]\n"
        + "    return torch.tensor(out, dtype=torch.int64)\n",
    },
    "parabola_minimum": {
        "numpy_polyfit": PM
        + "    import numpy as np\n\n"
        + "    a, b, c = np.polyfit(log_n.numpy(), loss.numpy(), 2)\n"
        + "    x0 = -b / (2 * a)\n"
        + "    return float(x0), float(a * x0**2 + b * x0 + c)\n",
    },
    "tokens_per_parameter": {
        "one_expression": TP + "    return budget / (6 * n_opt**2)\n",
    },
}
