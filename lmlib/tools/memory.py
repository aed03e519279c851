"""GPU memory of a training run, worked out before it starts: will it fit on a Colab T4?

Dims: B batch, T context, D model width, H heads, L layers, V vocabulary, F = expansion * D.

Mixed-precision training with AdamW keeps, for every parameter, its fp32 weight, its fp32
gradient and AdamW's two fp32 moments: 16 bytes. The forward pass also keeps what the backward
pass reads. Per layer, in 16-bit values, Korthikanti et al. (2022, "Reducing Activation
Recomputation in Large Transformer Models", arXiv:2205.05198, section 4.1) count 34·BTD + 5·BHT²
bytes with the MLP four times as wide; their 19·BTD for the MLP is 3 + 4·F/D, so a general width
gives (18 + 4·F/D)·BTD. The T² term is the attention matrix a plain implementation stores; a fused
kernel does not, so the count is an upper bound. The output layer adds the logits: 16-bit, their
fp32 copy for the loss, and its fp32 gradient, 10 bytes each.
"""

from __future__ import annotations

from lmlib.models.transformer import TransformerConfig

GIB = 2**30
BYTES_PER_PARAM = 16  # fp32 weight, fp32 gradient, AdamW's two fp32 moments
LOGIT_BYTES = 10  # 16-bit logits (2), their fp32 copy for the loss (4), its gradient (4)
T4_USABLE_BYTES = 12 * GIB  # of a T4's 16 GB (15 GiB seen by Colab): room for the CUDA context


def transformer_params(cfg: TransformerConfig) -> int:
    """TransformerLM(cfg)'s parameter count, from its shape alone (the output matrix is tied)."""
    D, F = cfg.d_model, cfg.d_ff
    norm = 2 * D if cfg.bias else D
    bias = cfg.bias
    attention = 3 * D * D + D * D + (4 * D if bias else 0)
    mlp = (2 * D * F + (F + D if bias else 0) + norm) if cfg.expansion else 0
    block = norm + attention + mlp
    position = cfg.context * D if cfg.pos == "learned" else 0
    return cfg.vocab_size * D + position + cfg.n_layers * block + norm


def activation_bytes(cfg: TransformerConfig, batch_size: int, context: int | None = None) -> int:
    """Bytes the forward pass keeps for the backward pass, at (batch_size, context) tokens."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    B, T, D, H = batch_size, context or cfg.context, cfg.d_model, cfg.n_heads
    per_layer = (18 * D + 4 * cfg.d_ff) * B * T + 5 * H * B * T * T
    return cfg.n_layers * per_layer + LOGIT_BYTES * B * T * cfg.vocab_size


def training_bytes(n_params: int, activations: int) -> int:
    """Weights, gradients and AdamW state of n_params parameters, plus the activations."""
    if n_params < 0 or activations < 0:
        raise ValueError(f"counts must be >= 0, got n_params={n_params}, activations={activations}")
    return BYTES_PER_PARAM * n_params + activations


def transformer_training_bytes(
    cfg: TransformerConfig, batch_size: int, context: int | None = None
) -> int:
    """GPU memory to train TransformerLM(cfg) at batch_size sequences of context tokens."""
    return training_bytes(transformer_params(cfg), activation_bytes(cfg, batch_size, context))
