"""Plausible wrong answers for lab 3.2; each must score zero. exercise -> {mutant: cell source}."""

import runpy
from pathlib import Path

_HEAD = """\
# EXERCISE: MLP
import torch
import torch.nn.functional as F
from torch import nn


class MLP(nn.Module):
    def __init__(self, d_model, expansion=4):
        super().__init__()
        d_ff = int(round(expansion * d_model))
        self.up = nn.Linear(d_model, d_ff)
        self.down = nn.Linear(d_ff, d_model)

    def forward(self, x):
"""

MUTANTS = {
    "MLP": {
        "relu_not_gelu": _HEAD + "        return self.down(F.relu(self.up(x)))\n",
        "tanh_approximate_gelu": _HEAD
        + '        return self.down(F.gelu(self.up(x), approximate="tanh"))\n',
        "no_nonlinearity": _HEAD + "        return self.down(self.up(x))\n",
        "residual_inside": _HEAD + "        return x + self.down(F.gelu(self.up(x)))\n",
        "activation_after_down": _HEAD + "        return F.gelu(self.down(self.up(x)))\n",
        "hidden_width_is_expansion": _HEAD.replace(
            "d_ff = int(round(expansion * d_model))", "d_ff = int(expansion)"
        )
        + "        return self.down(F.gelu(self.up(x)))\n",
        "width_truncated": _HEAD.replace(
            "int(round(expansion * d_model))", "int(expansion) * d_model"
        )
        + "        return self.down(F.gelu(self.up(x)))\n",
    },
}

# int() truncates a fractional width (6 * 1.3 = 7.8) where the spec rounds.
MUTANTS["MLP"] |= {
    "int_not_round": _HEAD.replace("int(round(expansion * d_model))", "int(expansion * d_model)")
    + "        return self.down(F.gelu(self.up(x)))\n",
}

# Wrong in one way each, by class (tests/test_grading_mutants.py KINDS).
_WRAP = runpy.run_path(str(Path(__file__).with_name("_kinds.py")))
LAB = "3_2_mlp"
MUTANTS["MLP"] |= {
    "sizes_squeeze_batch": _HEAD
    + "        return self.down(F.gelu(self.up(x.squeeze(0))))  # one sequence at a time\n",
    "inplace_scale_the_input": _HEAD
    + """\
        with torch.no_grad():
            x.mul_(0.5)  # halve in place, then double the first layer's output
        return self.down(F.gelu(2 * self.up(x) - self.up.bias))
""",
    "stale_cache_by_shape": _WRAP["stale_module"](LAB, "MLP"),
    "dtype_float64": _HEAD + "        return self.down(F.gelu(self.up(x))).double()\n",
    "nograd_under_no_grad": _WRAP["module_no_grad"](LAB, "MLP"),
}

# Right answers written another way: each must score full marks.
MUST_PASS = {
    "MLP": {
        "erf_formula_and_f_linear": _HEAD.replace("import torch\n", "import math\nimport torch\n")
        + """\
        h = F.linear(x, self.up.weight, self.up.bias)
        h = 0.5 * h * (1 + torch.erf(h / math.sqrt(2)))  # the exact GELU, written out
        return torch.addmm(self.down.bias, h.flatten(0, -2), self.down.weight.T).view_as(x)
""",
    },
}
