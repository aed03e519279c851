"""The position-wise MLP: project up by an expansion factor, apply a nonlinearity, project down.

Dims: B batch, T tokens, D model width, F = expansion * D hidden width.
"""

from __future__ import annotations

from torch import Tensor, nn


class MLP(nn.Module):
    """(B, T, D) -> (B, T, D) through a hidden layer of width expansion * D (default 4)."""

    def __init__(self, d_model: int, expansion: float = 4, dropout: float = 0.0, bias: bool = True):
        super().__init__()
        d_ff = int(round(expansion * d_model))
        if d_ff < 1:
            raise ValueError(f"expansion={expansion} gives a hidden width of {d_ff}; need >= 1")
        self.up = nn.Linear(d_model, d_ff, bias=bias)
        self.act = nn.GELU()
        self.down = nn.Linear(d_ff, d_model, bias=bias)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        return self.drop(self.down(self.act(self.up(x))))
