"""A decoder-only Transformer language model: embeddings, pre-LN residual blocks, tied output.

Dims: B batch, T tokens, D model width, V vocabulary.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from lmlib.data.tokenizer import check_ids
from lmlib.models.attention import MultiHeadAttention
from lmlib.models.kv_cache import KVCache, new_cache, next_position
from lmlib.models.mlp import MLP
from lmlib.models.params import num_params


@dataclass(frozen=True)
class TransformerConfig:
    vocab_size: int
    context: int = 128
    d_model: int = 128
    n_heads: int = 4
    n_layers: int = 4
    expansion: float = 4  # MLP hidden width = expansion * d_model; 0 removes the MLP
    dropout: float = 0.0
    bias: bool = True
    pos: str = "learned"  # "learned": a trained vector per position; "rope": rotary, no vectors
    causal: bool = True  # False: every token sees every other (an encoder, as in BERT)

    def __post_init__(self):
        for name in ("vocab_size", "context", "d_model", "n_heads", "n_layers"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.d_model % self.n_heads:
            raise ValueError(
                f"n_heads={self.n_heads} must divide d_model={self.d_model}; "
                f"try n_heads in {[h for h in range(1, self.d_model + 1) if self.d_model % h == 0]}"
            )
        if self.pos not in ("learned", "rope"):
            raise ValueError(f"pos must be 'learned' or 'rope', got {self.pos!r}")
        if self.expansion < 0:
            raise ValueError(f"expansion must be >= 0, got {self.expansion}")

    @property
    def d_ff(self) -> int:
        return int(round(self.expansion * self.d_model))


def scale_residual_init(model: nn.Module, n_layers: int) -> None:
    """GPT-2's rule: the projections that write into the residual stream (attention's `proj`, the
    MLP's `down`) start at std 0.02 / sqrt(2 * n_layers), so the stream's variance stays flat
    however many layers add to it."""
    for name, p in model.named_parameters():
        if name.endswith(("proj.weight", "down.weight")):
            nn.init.normal_(p, std=0.02 / math.sqrt(2 * n_layers))


class Block(nn.Module):
    """x + attn(norm(x)), then x + mlp(norm(x)): pre-LN residual updates. (B, T, D) -> (B, T, D)."""

    def __init__(self, cfg: TransformerConfig):
        super().__init__()
        self.norm1 = nn.LayerNorm(cfg.d_model, bias=cfg.bias)
        self.attn = MultiHeadAttention(
            cfg.d_model,
            cfg.n_heads,
            cfg.dropout,
            cfg.bias,
            rope=cfg.pos == "rope",
            causal=cfg.causal,
        )
        self.drop = nn.Dropout(cfg.dropout)
        self.norm2 = nn.LayerNorm(cfg.d_model, bias=cfg.bias) if cfg.expansion else None
        self.mlp = MLP(cfg.d_model, cfg.expansion, cfg.dropout, cfg.bias) if cfg.expansion else None

    def forward(
        self, x: Tensor, mask: Tensor | None = None, cache: KVCache | None = None
    ) -> Tensor:
        x = x + self.drop(self.attn(self.norm1(x), mask, cache))
        if self.mlp is not None:
            x = x + self.mlp(self.norm2(x))
        return x


class TransformerLM(nn.Module):
    """forward(idx (B, T)) -> logits (B, T, V), with T <= context.

    forward(idx, cache=model.new_cache()) reads the tokens after those already in the cache (at
    positions cached, ..., cached + T - 1) and adds their keys and values to it: incremental
    decoding, the same logits as a pass over the whole sequence.
    """

    def __init__(self, cfg: TransformerConfig):
        super().__init__()
        self.config = cfg
        self.context = cfg.context
        self.tok_emb = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.pos_emb = nn.Embedding(cfg.context, cfg.d_model) if cfg.pos == "learned" else None
        self.drop = nn.Dropout(cfg.dropout)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers))
        self.norm = nn.LayerNorm(cfg.d_model, bias=cfg.bias)
        self.head = nn.Linear(cfg.d_model, cfg.vocab_size, bias=False)
        self.head.weight = self.tok_emb.weight  # tied: one matrix reads tokens in and out
        self.apply(self._init)
        scale_residual_init(self, cfg.n_layers)

    @staticmethod
    def _init(m: nn.Module) -> None:
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)
        if isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)

    def forward(self, idx: Tensor, cache: list[KVCache] | None = None) -> Tensor:
        check_ids(idx, self.context if cache is None else None)
        T, n = idx.shape[1], len(self.blocks)
        start = 0 if cache is None else next_position(cache, n, T, self.context)
        x = self.tok_emb(idx)  # (B, T, D)
        if self.pos_emb is not None:
            x = x + self.pos_emb(torch.arange(start, start + T, device=idx.device))
        x = self.drop(x)
        for block, layer_cache in zip(self.blocks, cache or [None] * n):
            x = block(x, cache=layer_cache)
        return self.head(self.norm(x))  # (B, T, V)

    def new_cache(self) -> list[KVCache]:
        """An empty KV cache, one per block, for up to `context` positions (see forward)."""
        return new_cache(len(self.blocks), self.context)

    def flops_per_token(self, T: int | None = None) -> int:
        """Training FLOPs (forward + backward = 3 x forward) per token at sequence length T.

        Forward per token: 2 FLOPs per weight of every matmul (attention and MLP projections and
        the output head) plus 4 * T * D per layer for the scores q k^T and the weighted sum of v.
        Embedding lookups, norms, softmax and activations are left out (a few percent).
        """
        cfg, T = self.config, T or self.config.context
        per_layer = 4 * cfg.d_model**2 + 2 * cfg.d_model * cfg.d_ff * (cfg.expansion > 0)
        matmul_weights = cfg.n_layers * per_layer + cfg.d_model * cfg.vocab_size
        return 3 * (2 * matmul_weights + 4 * cfg.n_layers * T * cfg.d_model)

    def num_params(self, non_embedding: bool = False) -> int:
        """Every parameter once (the head ties to the token embedding); see lmlib.models.params."""
        return num_params(self, non_embedding)
