"""A causal convolutional language model: left-padded, dilated 1-D convolutions in residual blocks.

Dims: B batch, T tokens, D model width (channels), V vocabulary, k kernel size, d dilation.

Layer i looks at k tokens spaced d_i apart, ending at the current one; with dilations 1, 2, 4, ...
the window doubles with every layer, so the receptive field grows exponentially with depth but
stays finite: nothing older than ``receptive_field`` tokens can reach the prediction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch.nn.functional as F
from einops import rearrange
from torch import Tensor, nn

from lmlib.data.tokenizer import check_ids
from lmlib.models.params import num_params


def causal_conv1d(x: Tensor, weight: Tensor, bias: Tensor | None, dilation: int = 1) -> Tensor:
    """x (B, T, C_in), weight (C_out, C_in, k) -> (B, T, C_out); output t sees inputs <= t.

    Output t is sum_j weight[:, :, j] @ x[t - (k - 1 - j) * dilation], with zeros before the
    start: pad (k - 1) * dilation zeros on the left only, then an ordinary convolution.
    """
    k = weight.shape[-1]
    x = rearrange(x, "b t c -> b c t")
    x = F.pad(x, ((k - 1) * dilation, 0))  # (B, C_in, (k-1)d + T)
    return rearrange(F.conv1d(x, weight, bias, dilation=dilation), "b c t -> b t c")


def receptive_field(kernel_size: int, dilations: list[int] | tuple[int, ...]) -> int:
    """How many tokens (the current one included) a stack of causal convolutions can see."""
    return 1 + sum((kernel_size - 1) * d for d in dilations)


@dataclass(frozen=True)
class CNNConfig:
    vocab_size: int
    context: int = 128
    d_model: int = 128
    n_layers: int = 4
    kernel_size: int = 3
    dilation_growth: int = 2  # layer i has dilation growth**i; 1 means no dilation
    dropout: float = 0.0

    def __post_init__(self):
        for name in ("vocab_size", "context", "d_model", "n_layers", "dilation_growth"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.kernel_size < 2:
            raise ValueError(f"kernel_size must be >= 2 to see any past, got {self.kernel_size}")

    @property
    def dilations(self) -> tuple[int, ...]:
        return tuple(self.dilation_growth**i for i in range(self.n_layers))

    @property
    def receptive_field(self) -> int:
        return receptive_field(self.kernel_size, self.dilations)


class ConvBlock(nn.Module):
    """x + proj(gelu(causal_conv(norm(x)))): a residual update. (B, T, D) -> (B, T, D)."""

    def __init__(self, d_model: int, kernel_size: int, dilation: int, dropout: float = 0.0):
        super().__init__()
        self.dilation = dilation
        self.norm = nn.LayerNorm(d_model)
        self.conv = nn.Conv1d(d_model, d_model, kernel_size)  # only its weight and bias are used
        self.proj = nn.Linear(d_model, d_model)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        h = causal_conv1d(self.norm(x), self.conv.weight, self.conv.bias, self.dilation)
        return x + self.drop(self.proj(F.gelu(h)))


class CNNLM(nn.Module):
    """forward(idx (B, T)) -> logits (B, T, V); logit t depends on tokens t - R + 1 .. t only,
    R = ``receptive_field``. No position embedding: a convolution knows relative positions."""

    def __init__(self, cfg: CNNConfig):
        super().__init__()
        self.config = cfg
        self.context = cfg.context
        self.receptive_field = cfg.receptive_field
        self.tok_emb = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.blocks = nn.ModuleList(
            ConvBlock(cfg.d_model, cfg.kernel_size, d, cfg.dropout) for d in cfg.dilations
        )
        self.norm = nn.LayerNorm(cfg.d_model)
        self.head = nn.Linear(cfg.d_model, cfg.vocab_size, bias=False)
        self.head.weight = self.tok_emb.weight
        nn.init.normal_(self.tok_emb.weight, std=0.02)
        for block in self.blocks:  # small residual updates at the start, as in TransformerLM
            nn.init.normal_(block.proj.weight, std=0.02 / math.sqrt(2 * cfg.n_layers))

    def forward(self, idx: Tensor) -> Tensor:
        check_ids(idx)
        x = self.tok_emb(idx)  # (B, T, D)
        for block in self.blocks:
            x = block(x)
        return self.head(self.norm(x))  # (B, T, V)

    def flops_per_token(self, T: int | None = None) -> int:
        """Training FLOPs (forward + backward = 3 x forward) per token; T does not matter.

        Forward per token and layer: 2 FLOPs per weight of the convolution (k * D * D) and of
        the projection (D * D); plus the tied head (D * V). Norms and GELU are left out.
        """
        cfg = self.config
        per_layer = (cfg.kernel_size + 1) * cfg.d_model**2
        return 3 * 2 * (cfg.n_layers * per_layer + cfg.d_model * cfg.vocab_size)

    def num_params(self, non_embedding: bool = False) -> int:
        """Every parameter once; see lmlib.models.params."""
        return num_params(self, non_embedding)
