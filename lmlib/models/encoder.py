"""A bidirectional Transformer encoder (BERT-style) with a per-token head.

Dims: B batch, T tokens, D model width, E token-embedding width, V vocabulary, C classes.

The blocks are the decoder-only Transformer's, built with ``causal=False``: every token attends
to every other, so position t sees the tokens after it too. The head reads each position:
- ``n_classes=None``: a masked-LM head, tied to the token embeddings -> (B, T, V);
- ``n_classes=C``: a per-token classifier -> (B, T, C) (ELECTRA's discriminator has C = 1).

Token embeddings may be borrowed from another model (``tok_emb=``): ELECTRA's generator reads
and writes tokens through the discriminator's embedding matrix. When their width E differs from
D, a linear map takes E to D on the way in and D back to E before the tied head.
"""

from __future__ import annotations

from dataclasses import replace

import torch
from torch import Tensor, nn

from lmlib.data.tokenizer import check_ids
from lmlib.models.params import num_params
from lmlib.models.transformer import Block, TransformerConfig, scale_residual_init


class Encoder(nn.Module):
    """forward(idx (B, T)) -> (B, T, V) token logits, or (B, T, C) with n_classes=C."""

    def __init__(
        self,
        cfg: TransformerConfig,
        n_classes: int | None = None,
        tok_emb: nn.Embedding | None = None,
    ):
        super().__init__()
        if n_classes is not None and n_classes < 1:
            raise ValueError(f"n_classes must be >= 1 (or None for a token head), got {n_classes}")
        if tok_emb is not None and tok_emb.num_embeddings != cfg.vocab_size:
            raise ValueError(
                f"the shared embedding has {tok_emb.num_embeddings} rows but vocab_size is "
                f"{cfg.vocab_size}; build both models with the same vocabulary"
            )
        cfg = replace(cfg, causal=False)
        self.config, self.context, self.n_classes = cfg, cfg.context, n_classes
        self.owns_embedding = tok_emb is None
        self.tok_emb = tok_emb if tok_emb is not None else nn.Embedding(cfg.vocab_size, cfg.d_model)
        E, D = self.tok_emb.embedding_dim, cfg.d_model
        self.proj_in = nn.Linear(E, D, bias=False) if E != D else None
        self.pos_emb = nn.Embedding(cfg.context, D) if cfg.pos == "learned" else None
        self.drop = nn.Dropout(cfg.dropout)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers))
        self.norm = nn.LayerNorm(D, bias=cfg.bias)
        if n_classes is None:
            self.proj_out = nn.Linear(D, E, bias=False) if E != D else None
            self.classifier = None
        else:
            self.proj_out = None
            self.classifier = nn.Linear(D, n_classes)
        for name, m in self.named_modules():
            if name != "tok_emb" or self.owns_embedding:
                self._init(m)
        scale_residual_init(self, cfg.n_layers)  # as TransformerLM: a flat residual stream

    @staticmethod
    def _init(m: nn.Module) -> None:
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)
        if isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)

    def encode(self, idx: Tensor) -> Tensor:
        """(B, T) -> (B, T, D): the final layer's normalised states, each seeing all T tokens."""
        check_ids(idx, self.context)
        T = idx.shape[1]
        x = self.tok_emb(idx)  # (B, T, E)
        if self.proj_in is not None:
            x = self.proj_in(x)  # (B, T, D)
        if self.pos_emb is not None:
            x = x + self.pos_emb(torch.arange(T, device=idx.device))
        x = self.drop(x)
        for block in self.blocks:
            x = block(x)
        return self.norm(x)

    def head(self, h: Tensor) -> Tensor:
        """(..., D) -> (..., V) tied token logits, or (..., C) class logits."""
        if self.classifier is not None:
            return self.classifier(h)
        if self.proj_out is not None:
            h = self.proj_out(h)  # (..., E)
        return h @ self.tok_emb.weight.T

    def forward(self, idx: Tensor) -> Tensor:
        return self.head(self.encode(idx))

    def flops_per_token(self, T: int | None = None, head_share: float = 1.0) -> float:
        """Training FLOPs (forward + backward = 3 x forward) per token at sequence length T,
        with the head evaluated at a share ``head_share`` of the positions (an MLM head only
        at the masked ones). Counted as TransformerLM.flops_per_token: 2 per matmul weight
        plus 4 T D per layer for the attention scores and the weighted sum."""
        cfg, T = self.config, T or self.config.context
        E, D = self.tok_emb.embedding_dim, cfg.d_model
        per_layer = 4 * D**2 + 2 * D * cfg.d_ff * (cfg.expansion > 0)
        body = cfg.n_layers * per_layer + (E * D if self.proj_in is not None else 0)
        if self.classifier is not None:
            head = D * self.n_classes
        else:
            head = (D * E if self.proj_out is not None else 0) + E * cfg.vocab_size
        forward = 2 * (body + head_share * head) + 4 * cfg.n_layers * T * D
        return 3 * forward

    def num_params(self, non_embedding: bool = False) -> int:
        """Every parameter once (a borrowed embedding too); see lmlib.models.params."""
        return num_params(self, non_embedding)
