"""Lab 2.2, three ways to read a sequence: a recurrent step, a causal convolution, its window.

Dims: B batch, T tokens, D hidden width, C channels, k kernel size.
"""

from __future__ import annotations

import torch

from lmlib.grading.spec import Case, Exercise, draw
from lmlib.models.cnn import causal_conv1d, receptive_field
from lmlib.models.rnn import lstm_cell

LAB = "2_2_three_ways_to_read"


def _randn(rng: torch.Generator, *shape: int, scale: float = 1.0) -> torch.Tensor:
    return torch.randn(*shape, generator=rng) * scale


def _lstm_cases(rng: torch.Generator) -> list[Case]:
    cases = []
    fresh = [(draw(rng, 2, 5), draw(rng, 1, 9), draw(rng, 5, 11)), (1, 1, 1)]
    for B, D_in, D in [(2, 3, 4), (1, 5, 2), (3, 4, 4), *fresh]:
        x, h, c = _randn(rng, B, D_in), _randn(rng, B, D), _randn(rng, B, D)
        w_ih, w_hh = _randn(rng, 4 * D, D_in), _randn(rng, 4 * D, D)
        b_ih, b_hh = _randn(rng, 4 * D), _randn(rng, 4 * D)
        cases.append(Case((x, h, c, w_ih, w_hh, b_ih, b_hh)))
    return cases


def _conv_cases(rng: torch.Generator) -> list[Case]:
    cases = []
    for B, T, C_in, C_out, k, d, bias in [
        (2, 9, 3, 4, 3, 2, True),
        (1, 7, 2, 2, 2, 1, True),
        (2, 12, 3, 2, 3, 3, False),
        (1, 5, 1, 3, 4, 1, True),
        (2, 6, 2, 3, 1, 1, True),  # kernel size 1: no padding at all
        (1, 3, 2, 2, 3, 2, True),  # shorter than the receptive field
        (
            draw(rng, 1, 3),
            2 * draw(rng, 4, 16) + 1,
            draw(rng, 1, 5),
            draw(rng, 1, 5),
            draw(rng, 1, 5),
            draw(rng, 1, 4),
            bool(draw(rng, 0, 1)),
        ),  # fmt: skip
    ]:
        b = _randn(rng, C_out) if bias else None
        cases.append(Case((_randn(rng, B, T, C_in), _randn(rng, C_out, C_in, k), b, d)))
    return cases


def _field_cases(rng: torch.Generator) -> list[Case]:
    return [
        Case((3, [1, 2, 4, 8])),
        Case((2, [1])),
        Case((5, [1, 1, 1])),
        Case((4, [])),
        Case((1, [1, 2, 4])),  # kernel size 1 sees only the current token
        Case((3, [4, 1, 2])),
        Case((3, [1, 3, 9])),
        *(_random_field_case(rng) for _ in range(4)),  # fresh each time: no lookup table passes
    ]


def _random_field_case(rng: torch.Generator) -> Case:
    k = int(torch.randint(1, 7, (), generator=rng))
    n = int(torch.randint(0, 5, (), generator=rng))
    return Case((k, torch.randint(1, 10, (n,), generator=rng).tolist()))


_NO_LSTM = "write the four gates with @, sigmoid and tanh yourself"
_NO_CONV = "pad on the left and use F.conv1d (or a loop); not a built-in causal layer"

EXERCISES = [
    Exercise(
        name="lstm_cell",
        cases=_lstm_cases,
        reference=lstm_cell,
        forbidden={
            "torch.lstm_cell": _NO_LSTM,
            "torch._VF.lstm_cell": _NO_LSTM,
            "torch.nn.LSTMCell": _NO_LSTM,
            "torch.nn.modules.rnn.LSTMCell": _NO_LSTM,
            "torch.nn.LSTM": _NO_LSTM,
            "torch.nn.modules.rnn.LSTM": _NO_LSTM,
            "torch.lstm": _NO_LSTM,
            "torch.ops.aten.lstm_cell": _NO_LSTM,
            "torch._C._VariableFunctions.lstm_cell": _NO_LSTM,  # refused by name (read-only)
            "torch.ao.nn.quantizable.LSTMCell": _NO_LSTM,  # Python, so refused by name
            "torch.ao.nn.quantizable.LSTM": _NO_LSTM,
            "torch.ao.nn.quantized.dynamic.LSTMCell": _NO_LSTM,
            "torch.ao.nn.quantized.dynamic.LSTM": _NO_LSTM,
        },
        forbidden_ops={
            "_thnn_fused_lstm_cell": _NO_LSTM,
            "lstm": _NO_LSTM,
            "quantized_lstm_cell": _NO_LSTM,
        },
        rules="Gate order i, f, g, o (torch's); return the tuple (h, c). "
        "torch.nn.LSTMCell / torch.lstm_cell are not allowed.",
    ),
    Exercise(
        name="causal_conv1d",
        cases=_conv_cases,
        reference=causal_conv1d,
        forbidden={"torch.nn.Conv1d": _NO_CONV, "torch.nn.modules.conv.Conv1d": _NO_CONV},
        rules="x is (B, T, C_in), the answer (B, T, C_out); bias may be None.",
    ),
    Exercise(
        name="receptive_field",
        cases=_field_cases,
        reference=receptive_field,
        rules="Return a Python int: how many tokens, the current one included, reach output t.",
    ),
]
