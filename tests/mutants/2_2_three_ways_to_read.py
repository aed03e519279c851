"""Plausible wrong answers for lab 2.2; each must score zero. exercise -> {mutant: cell source}."""

import runpy
from pathlib import Path

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

# Wrong in one way each, by class (tests/test_grading_mutants.py KINDS).
_WRAP = runpy.run_path(str(Path(__file__).with_name("_kinds.py")))
LAB = "2_2_three_ways_to_read"
_CELL = """\
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c), c
"""
MUTANTS["lstm_cell"] |= {
    "route_quantizable_lstm_cell": LSTM
    + """\
    from torch.ao.nn.quantizable import LSTMCell  # a Python LSTM cell, gates i, f, g, o

    cell = LSTMCell(x.shape[-1], h.shape[-1])
    weights = {"igates.weight": w_ih, "igates.bias": b_ih, "hgates.weight": w_hh,
               "hgates.bias": b_hh}  # fmt: skip
    return tuple(torch.func.functional_call(cell, weights, (x, (h, c))))
""",
    "route_decomposition": LSTM
    + """\
    from torch._decomp.decompositions import lstm_cell as cell  # torch's Python version

    return tuple(cell(x @ w_ih.T + b_ih, h, c, w_hh, b_hh, None, 1))
""",
    "route_aten_lstm_module_alias": LSTM
    + """\
    cell = torch.nn.modules.rnn.LSTMCell(x.shape[-1], h.shape[-1])
    weights = {"weight_ih": w_ih, "weight_hh": w_hh, "bias_ih": b_ih, "bias_hh": b_hh}
    return tuple(torch.func.functional_call(cell, weights, (x, (h, c))))
""",
    "inplace_update_the_cell": LSTM
    + _GATES
    + """\
    c.mul_(torch.sigmoid(f)).add_(torch.sigmoid(i) * torch.tanh(g))  # the new cell, in place
    return torch.sigmoid(o) * torch.tanh(c), c
""",
    "stale_cache_by_shape": _WRAP["stale"](LAB, "lstm_cell"),
    "dtype_float64": _WRAP["cast"](LAB, "lstm_cell", "float64", "[1]"),
    "nograd_under_no_grad": _WRAP["no_grad"](LAB, "lstm_cell"),
    "sizes_hidden_width_four": LSTM
    + "    i, f, g, o = (x @ w_ih.T + b_ih + h @ w_hh.T + b_hh).split(4, dim=-1)[:4]\n"
    + _CELL,
}
MUTANTS["causal_conv1d"] |= {
    "route_modules_conv1d": CONV
    + """\
    C_out, C_in, k = weight.shape
    conv = torch.nn.modules.Conv1d(C_in, C_out, k, dilation=dilation, bias=bias is not None)
    x = F.pad(rearrange(x, "b t c -> b c t"), ((k - 1) * dilation, 0))
    params = {"weight": weight} | ({"bias": bias} if bias is not None else {})
    return rearrange(torch.func.functional_call(conv, params, (x,)), "b c t -> b t c")
""",
    "route_lazy_conv1d": CONV
    + """\
    C_out, C_in, k = weight.shape
    conv = torch.nn.LazyConv1d(C_out, k, dilation=dilation, bias=bias is not None)
    x = F.pad(rearrange(x, "b t c -> b c t"), ((k - 1) * dilation, 0))
    conv(x)  # materialize the lazy weights
    params = {"weight": weight} | ({"bias": bias} if bias is not None else {})
    return rearrange(torch.func.functional_call(conv, params, (x,)), "b c t -> b t c")
""",
    "sizes_kernel_one_empty_slice": CONV
    + """\
    p = (weight.shape[-1] - 1) * dilation
    x = F.pad(rearrange(x, "b t c -> b c t"), (p, p))  # pad both sides, cut the end
    y = F.conv1d(x, weight, bias, dilation=dilation)[..., :-p]
    return rearrange(y, "b c t -> b t c")
""",
    "inplace_channels_first_in_place": CONV
    + """\
    k = weight.shape[-1]
    with torch.no_grad():
        weight.copy_(weight.flip(-1))  # flip once, then convolve as a true convolution
    y = F.conv1d(F.pad(rearrange(x, "b t c -> b c t"), ((k - 1) * dilation, 0)),
                 weight.flip(-1), bias, dilation=dilation)  # fmt: skip
    return rearrange(y, "b c t -> b t c")
""",
    "stale_cache_by_shape": _WRAP["stale"](LAB, "causal_conv1d"),
    "nograd_under_no_grad": _WRAP["no_grad"](LAB, "causal_conv1d"),
    "dtype_float64": _WRAP["cast"](LAB, "causal_conv1d", "float64"),
}
MUTANTS["receptive_field"] |= {
    "sizes_kernel_one_sees_two": FIELD
    + "    return 1 + max(kernel_size - 1, 1) * sum(dilations)  # every layer reaches back\n",
    "inplace_sorts_the_dilations": FIELD
    + """\
    dilations.sort()  # smallest first
    return 1 + (kernel_size - 1) * sum(dilations)
""",
    "dtype_float_field": FIELD + "    return 1.0 + (kernel_size - 1) * sum(dilations)\n",
    "edge_no_layers_sees_nothing": FIELD
    + "    return 1 + (kernel_size - 1) * sum(dilations) if dilations else 0\n",
}
ROUTES["lstm_cell"] += (
    "route_quantizable_lstm_cell",
    "route_decomposition",
    "route_aten_lstm_module_alias",
)
ROUTES["causal_conv1d"] = ("route_modules_conv1d", "route_lazy_conv1d")

# Right answers written another way: each must score full marks.
MUST_PASS = {
    "lstm_cell": {
        "one_matrix_per_gate": LSTM
        + """\
    D = h.shape[-1]
    gate = [x @ w_ih[j * D : (j + 1) * D].T + b_ih[j * D : (j + 1) * D]
            + h @ w_hh[j * D : (j + 1) * D].T + b_hh[j * D : (j + 1) * D] for j in range(4)]
    c_new = gate[1].sigmoid() * c + gate[0].sigmoid() * gate[2].tanh()
    return gate[3].sigmoid() * c_new.tanh(), c_new
""",
    },
    "causal_conv1d": {
        "a_loop_over_taps": CONV
        + """\
    B, T, _ = x.shape
    k = weight.shape[-1]
    out = torch.zeros(B, T, weight.shape[0], dtype=x.dtype)
    for j in range(k):  # tap j looks (k - 1 - j) * dilation tokens back
        shift = (k - 1 - j) * dilation
        seen = F.pad(x, (0, 0, shift, 0))[:, :T]
        out = out + seen @ weight[:, :, j].T
    return out if bias is None else out + bias
""",
    },
    "receptive_field": {
        "numpy_int": FIELD
        + """\
    import numpy as np

    return np.int64(1) + (kernel_size - 1) * np.sum(np.asarray(dilations, dtype=np.int64))
""",
    },
}
