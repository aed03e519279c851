"""Plausible wrong answers for lab 2.2; each must score zero. exercise -> {mutant: cell source}."""

_H = "# EXERCISE: {}\nimport torch\nimport torch.nn.functional as F\nfrom torch import nn\n"
_H += "from einops import rearrange\n\n"
LSTM = _H.format("lstm_cell") + "def lstm_cell(x, h, c, w_ih, w_hh, b_ih, b_hh):\n"
_GATES = "    i, f, g, o = (x @ w_ih.T + b_ih + h @ w_hh.T + b_hh).chunk(4, dim=-1)\n"
CONV = _H.format("causal_conv1d") + "def causal_conv1d(x, weight, bias, dilation=1):\n"
_K = '    k = weight.shape[-1]\n    x = rearrange(x, "b t c -> b c t")\n'
_OUT = '    return rearrange(F.conv1d(x, weight, bias, dilation={}), "b c t -> b t c")\n'
FIELD = _H.format("receptive_field") + "def receptive_field(kernel_size, dilations):\n"

MUTANTS = {
    "lstm_cell": {
        "gate_order_ifog": LSTM
        + "    i, f, o, g = (x @ w_ih.T + b_ih + h @ w_hh.T + b_hh).chunk(4, dim=-1)\n"
        + "    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)\n"
        + "    return torch.sigmoid(o) * torch.tanh(c), c\n",
        "output_from_old_cell": LSTM
        + _GATES
        + "    c_new = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)\n"
        + "    return torch.sigmoid(o) * torch.tanh(c), c_new\n",
        "no_tanh_on_cell": LSTM
        + _GATES
        + "    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)\n"
        + "    return torch.sigmoid(o) * c, c\n",
        "forget_gate_ignored": LSTM
        + _GATES
        + "    c = c + torch.sigmoid(i) * torch.tanh(g)\n"
        + "    return torch.sigmoid(o) * torch.tanh(c), c\n",
        "sigmoid_candidate": LSTM
        + _GATES
        + "    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.sigmoid(g)\n"
        + "    return torch.sigmoid(o) * torch.tanh(c), c\n",
        "one_bias_only": LSTM
        + "    i, f, g, o = (x @ w_ih.T + b_ih + h @ w_hh.T).chunk(4, dim=-1)\n"
        + "    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)\n"
        + "    return torch.sigmoid(o) * torch.tanh(c), c\n",
        "returns_h_only": LSTM
        + _GATES
        + "    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)\n"
        + "    return torch.sigmoid(o) * torch.tanh(c)\n",
        "uses_torch_lstm_cell": LSTM
        + "    return torch.lstm_cell(x, (h, c), w_ih, w_hh, b_ih, b_hh)\n",
    },
    "causal_conv1d": {
        "pads_right": CONV
        + _K
        + "    x = F.pad(x, (0, (k - 1) * dilation))\n"
        + _OUT.format("dilation"),
        "pads_both_sides": CONV
        + _K
        + "    p = (k - 1) * dilation\n"
        + "    x = F.pad(x, (p // 2, p - p // 2))\n"
        + _OUT.format("dilation"),
        "pad_ignores_dilation": CONV
        + _K
        + "    x = F.pad(x, (k - 1, 0))\n"
        + "    y = F.conv1d(x, weight, bias, dilation=dilation)\n"
        + "    y = F.pad(y, (x.shape[-1] - k + 1 - y.shape[-1], 0))\n"
        + '    return rearrange(y, "b c t -> b t c")\n',
        "no_dilation": CONV
        + _K
        + "    T = x.shape[-1]\n"
        + "    x = F.pad(x, ((k - 1) * dilation, 0))\n"
        + "    y = F.conv1d(x, weight, bias)[..., -T:]\n"
        + '    return rearrange(y, "b c t -> b t c")\n',
        "flipped_kernel": CONV
        + _K
        + "    x = F.pad(x, ((k - 1) * dilation, 0))\n"
        + "    y = F.conv1d(x, weight.flip(-1), bias, dilation=dilation)\n"
        + '    return rearrange(y, "b c t -> b t c")\n',
        "channels_first_output": CONV
        + _K
        + "    x = F.pad(x, ((k - 1) * dilation, 0))\n"
        + "    return F.conv1d(x, weight, bias, dilation=dilation)\n",
        "bias_dropped": CONV
        + _K
        + "    x = F.pad(x, ((k - 1) * dilation, 0))\n"
        + _OUT.format("dilation").replace("bias,", "None,"),
    },
    "receptive_field": {
        "forgets_current_token": FIELD
        + "    return sum((kernel_size - 1) * d for d in dilations)\n",
        "kernel_not_minus_one": FIELD + "    return 1 + sum(kernel_size * d for d in dilations)\n",
        "ignores_dilation": FIELD + "    return 1 + (kernel_size - 1) * len(dilations)\n",
        "multiplies": FIELD
        + "    out = 1\n    for d in dilations:\n        out *= kernel_size * d\n    return out\n",
        "float_answer": FIELD
        + "    return 1.0 * (1 + sum((kernel_size - 1) * d for d in dilations)) + 0.5\n",
        "last_layer_only": FIELD
        + "    return 1 + (kernel_size - 1) * (dilations[-1] if dilations else 0)\n",
    },
}

# Forbidden routes through torch internals, and a lookup table of the fixed cases.
MUTANTS["lstm_cell"] |= {
    "via_torch_ops_aten": LSTM
    + "    return tuple(torch.ops.aten.lstm_cell(x, [h, c], w_ih, w_hh, b_ih, b_hh))\n",
    "via_variable_functions": LSTM
    + "    vf = torch._C._VariableFunctions\n"
    + "    return tuple(vf.lstm_cell(x, (h, c), w_ih, w_hh, b_ih, b_hh))\n",
}
MUTANTS["receptive_field"] |= {
    "lookup_table": FIELD
    + "    known = {(3, (1, 2, 4, 8)): 31, (2, (1,)): 2, (5, (1, 1, 1)): 13, (4, ()): 1,\n"
    + "             (3, (1, 3, 9)): 27}\n"
    + "    return known.get((kernel_size, tuple(dilations)), 1)\n",
}

# Right answers but for a forbidden shortcut: each must be refused for that shortcut (the aten
# routes take h and c as a list or tuple, as torch.lstm_cell does, and return the pair (h, c)).
ROUTES = {"lstm_cell": ("uses_torch_lstm_cell", "via_torch_ops_aten", "via_variable_functions")}
