"""Plausible wrong answers for lab 3.2; each must score zero. exercise -> {mutant: cell source}."""

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
