"""What a user would train instead of lmlib's Transformer, at the same sizes, for `lmlib bench`.

Both follow the course's contract forward(idx (B, T)) -> logits (B, T, V) with tied embeddings.
"""

from __future__ import annotations

import torch
from torch import nn

from lmlib.models.transformer import TransformerConfig


class TorchEncoderLM(nn.Module):
    """The plain-PyTorch way: nn.TransformerEncoder (pre-LN, GELU) with a causal mask."""

    def __init__(self, cfg: TransformerConfig):
        super().__init__()
        self.tok_emb = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.pos_emb = nn.Embedding(cfg.context, cfg.d_model)
        layer = nn.TransformerEncoderLayer(
            cfg.d_model,
            cfg.n_heads,
            cfg.d_ff,
            dropout=0.0,
            activation="gelu",
            batch_first=True,
            norm_first=True,
        )
        self.encoder = nn.TransformerEncoder(layer, cfg.n_layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(cfg.d_model)
        self.head = nn.Linear(cfg.d_model, cfg.vocab_size, bias=False)
        self.head.weight = self.tok_emb.weight

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        T = idx.shape[1]
        mask = nn.Transformer.generate_square_subsequent_mask(T, device=idx.device)
        x = self.tok_emb(idx) + self.pos_emb(torch.arange(T, device=idx.device))
        return self.head(self.norm(self.encoder(x, mask=mask, is_causal=True)))


def hf_gpt2_model(cfg: TransformerConfig) -> nn.Module:
    """Hugging Face's GPT2LMHeadModel at cfg's sizes: random init, SDPA attention, no dropout."""
    from transformers import GPT2Config, GPT2LMHeadModel

    gpt2 = GPT2Config(
        vocab_size=cfg.vocab_size,
        n_positions=cfg.context,
        n_embd=cfg.d_model,
        n_layer=cfg.n_layers,
        n_head=cfg.n_heads,
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
        bos_token_id=None,
        eos_token_id=None,
    )
    return GPT2LMHeadModel._from_config(gpt2, attn_implementation="sdpa")


def hf_gpt2(cfg: TransformerConfig) -> nn.Module:
    """`hf_gpt2_model` behind the course's forward(idx) -> logits contract."""
    model = hf_gpt2_model(cfg)

    class Logits(nn.Module):  # same forward(idx) -> logits contract as the others
        def __init__(self):
            super().__init__()
            self.inner = model

        def forward(self, idx):
            return self.inner(input_ids=idx, use_cache=False).logits

    return Logits()
