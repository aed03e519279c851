"""A recurrent language model: torch's fused LSTM/GRU, plus the same cells written out to read.

Dims: B batch, T tokens, D model width (= hidden size), V vocabulary, G gates (4 LSTM, 3 GRU).

The gate order and the weight layout are torch's (``nn.LSTM``: input, forget, cell, output;
``nn.GRU``: reset, update, new), so the readable cells run on the fused module's own weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from lmlib.data.tokenizer import check_ids
from lmlib.models.params import num_params

GATES = {"lstm": 4, "gru": 3}


def lstm_cell(
    x: Tensor, h: Tensor, c: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor, b_hh: Tensor
) -> tuple[Tensor, Tensor]:
    """One LSTM step. x (B, D_in), h and c (B, D), w_ih (4D, D_in), w_hh (4D, D) -> (h, c)."""
    gates = x @ w_ih.T + b_ih + h @ w_hh.T + b_hh  # (B, 4D)
    i, f, g, o = gates.chunk(4, dim=-1)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)  # forget some, write some
    h = torch.sigmoid(o) * torch.tanh(c)
    return h, c


def gru_cell(
    x: Tensor, h: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor, b_hh: Tensor
) -> Tensor:
    """One GRU step. x (B, D_in), h (B, D), w_ih (3D, D_in), w_hh (3D, D) -> h (B, D)."""
    xr, xz, xn = (x @ w_ih.T + b_ih).chunk(3, dim=-1)
    hr, hz, hn = (h @ w_hh.T + b_hh).chunk(3, dim=-1)
    r, z = torch.sigmoid(xr + hr), torch.sigmoid(xz + hz)
    n = torch.tanh(xn + r * hn)  # candidate state; r decides how much of the past it reads
    return (1 - z) * n + z * h


@dataclass(frozen=True)
class RNNConfig:
    vocab_size: int
    context: int = 128
    d_model: int = 128
    n_layers: int = 2
    cell: str = "lstm"  # "lstm" or "gru"
    dropout: float = 0.0

    def __post_init__(self):
        for name in ("vocab_size", "context", "d_model", "n_layers"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.cell not in GATES:
            raise ValueError(f"cell must be one of {sorted(GATES)}, got {self.cell!r}")


class RNNLM(nn.Module):
    """forward(idx (B, T)) -> logits (B, T, V); the state at token t has read tokens 0..t.

    ``forward`` takes torch's fused kernel; ``forward_readable`` loops over tokens with
    ``lstm_cell``/``gru_cell`` on the very same weights and gives the same logits.
    """

    def __init__(self, cfg: RNNConfig):
        super().__init__()
        self.config = cfg
        self.context = cfg.context  # the training window; the recurrence itself has no limit
        self.tok_emb = nn.Embedding(cfg.vocab_size, cfg.d_model)
        rnn = nn.LSTM if cfg.cell == "lstm" else nn.GRU
        drop = cfg.dropout if cfg.n_layers > 1 else 0.0
        self.rnn = rnn(cfg.d_model, cfg.d_model, cfg.n_layers, batch_first=True, dropout=drop)
        self.norm = nn.LayerNorm(cfg.d_model)
        self.head = nn.Linear(cfg.d_model, cfg.vocab_size, bias=False)
        self.head.weight = self.tok_emb.weight  # tied, as in TransformerLM
        nn.init.normal_(self.tok_emb.weight, std=0.02)

    def forward(self, idx: Tensor) -> Tensor:
        check_ids(idx)
        x, _ = self.rnn(self.tok_emb(idx))  # (B, T, D), every layer run over all T tokens
        return self.head(self.norm(x))  # (B, T, V)

    def forward_readable(self, idx: Tensor) -> Tensor:
        """The same as forward, one token and one layer at a time with the readable cells."""
        check_ids(idx)
        x = self.tok_emb(idx)  # (B, T, D)
        B, D = x.shape[0], self.config.d_model
        for layer in range(self.config.n_layers):
            w = [getattr(self.rnn, f"{n}_l{layer}") for n in ("weight_ih", "weight_hh")]
            w += [getattr(self.rnn, f"{n}_l{layer}") for n in ("bias_ih", "bias_hh")]
            h = c = x.new_zeros(B, D)
            outputs = []
            for t in range(x.shape[1]):  # the critical path: step t waits for step t - 1
                if self.config.cell == "lstm":
                    h, c = lstm_cell(x[:, t], h, c, *w)
                else:
                    h = gru_cell(x[:, t], h, *w)
                outputs.append(h)
            x = torch.stack(outputs, dim=1)  # (B, T, D)
            if self.training and layer < self.config.n_layers - 1:
                x = nn.functional.dropout(x, self.rnn.dropout)
        return self.head(self.norm(x))

    def flops_per_token(self, T: int | None = None) -> int:
        """Training FLOPs (forward + backward = 3 x forward) per token; T does not matter.

        Forward per token and layer: 2 FLOPs per weight of w_ih and w_hh (G * D * D each), plus
        the tied output head (D * V). Gate nonlinearities and elementwise products are left out.
        """
        cfg = self.config
        per_layer = 2 * GATES[cfg.cell] * cfg.d_model**2
        return 3 * 2 * (cfg.n_layers * per_layer + cfg.d_model * cfg.vocab_size)

    def num_params(self, non_embedding: bool = False) -> int:
        """Every parameter once; see lmlib.models.params."""
        return num_params(self, non_embedding)
