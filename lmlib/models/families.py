"""Three model families behind one interface: build by name, size by one knob, count FLOPs.

Dims: B batch, T tokens, D model width, L layers, V vocabulary.

Every family is ``forward(idx (B, T)) -> logits (B, T, V)`` with a ``context`` attribute, so
``lmlib.train`` trains them all, and each has ``flops_per_token(T)`` (a formula) and
``num_params()`` (one meaning for all: lmlib.models.params). ``counted_flops_per_token``
checks the formula against torch's FLOP counter.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from lmlib.models.cnn import CNNLM, CNNConfig
from lmlib.models.params import num_params
from lmlib.models.rnn import RNNLM, RNNConfig
from lmlib.models.transformer import TransformerConfig, TransformerLM
from lmlib.training.loss import next_token_loss

FAMILIES = ("rnn", "cnn", "transformer")
WIDTH_STEP = 8  # widths are multiples of 8, so every head count up to 8 divides them


def build(
    family: str, vocab_size: int, context: int, d_model: int, n_layers: int, **options
) -> nn.Module:
    """A language model of the named family; options go to its config (e.g. cell="gru")."""
    if family == "rnn":
        return RNNLM(RNNConfig(vocab_size, context, d_model, n_layers, **options))
    if family == "cnn":
        return CNNLM(CNNConfig(vocab_size, context, d_model, n_layers, **options))
    if family == "transformer":
        cfg = TransformerConfig(vocab_size, context, d_model, n_layers=n_layers, **options)
        return TransformerLM(cfg)
    raise ValueError(f"unknown family {family!r}; use one of {FAMILIES}")


def width_for(
    family: str, n_params: int, vocab_size: int, context: int, n_layers: int, **options
) -> int:
    """The one knob: the width (a multiple of 8) whose model has closest to n_params parameters."""
    if n_params < 1:
        raise ValueError(f"n_params must be >= 1, got {n_params}")
    best, best_gap = WIDTH_STEP, math.inf
    with torch.device("meta"):  # shapes only, no memory, no initialisation cost
        for d_model in range(WIDTH_STEP, 4097, WIDTH_STEP):
            n = num_params(build(family, vocab_size, context, d_model, n_layers, **options))
            if abs(n - n_params) < best_gap:
                best, best_gap = d_model, abs(n - n_params)
            if n > n_params:
                break
    return best


def build_matched(
    family: str, n_params: int, vocab_size: int, context: int, n_layers: int, **options
) -> nn.Module:
    """A model of the family with about n_params parameters (see ``width_for``)."""
    d_model = width_for(family, n_params, vocab_size, context, n_layers, **options)
    return build(family, vocab_size, context, d_model, n_layers, **options)


def counted_flops_per_token(model: nn.Module, idx: torch.Tensor, forward=None) -> float:
    """FLOPs of one forward + backward pass on idx (B, T), as torch counts them, per token.

    ``forward`` defaults to ``model``; pass e.g. ``model.forward_readable`` to count that path.
    """
    forward = forward or model
    counter = FlopCounterMode(display=False)
    with counter:
        logits = forward(idx)  # (B, T, V)
        next_token_loss(logits[:, :-1], idx[:, 1:]).backward()
    model.zero_grad(set_to_none=True)
    return counter.get_total_flops() / idx.numel()


def critical_path(family: str, T: int, n_layers: int) -> int:
    """Sequential steps (layer applications that must wait for each other) to read T tokens.

    An RNN's state at token t needs the state at t - 1 in the same layer and the output of the
    layer below: the longest chain is T + L - 1. A CNN or Transformer layer processes all T
    tokens at once, so its chain is L whatever T is.
    """
    if T < 1 or n_layers < 1:
        raise ValueError(f"need T >= 1 and n_layers >= 1, got T={T}, n_layers={n_layers}")
    if family == "rnn":
        return T + n_layers - 1
    if family in ("cnn", "transformer"):
        return n_layers
    raise ValueError(f"unknown family {family!r}; use one of {FAMILIES}")


def layers_to_see(T: int, kernel_size: int = 3, dilation_growth: int = 2) -> int:
    """The fewest causal convolution layers whose receptive field covers T tokens."""
    n = 0
    while 1 + sum((kernel_size - 1) * dilation_growth**i for i in range(n)) < T:
        n += 1
    return n


def copy_task(
    batch_size: int, gap: int, vocab_size: int, gen: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """A long-range copy task: random tokens, then the same tokens again.

    Returns idx (B, 2 * gap) and a bool mask (2 * gap,) of the positions whose next token is a
    copy of the token ``gap`` places back: only a model that sees that far can predict them.
    """
    if gap < 1 or vocab_size < 2:
        raise ValueError(f"need gap >= 1 and vocab_size >= 2, got gap={gap}, V={vocab_size}")
    first = torch.randint(0, vocab_size, (batch_size, gap), generator=gen)
    idx = torch.cat([first, first], dim=1)  # (B, 2 * gap)
    predictable = torch.arange(2 * gap) >= gap - 1  # the target at t + 1 equals idx[t + 1 - gap]
    predictable[-1] = False  # the last position has no target inside the window
    return idx, predictable
