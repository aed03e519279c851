"""Multi-head causal self-attention: one weight matrix, chunked into q, k, v and then into heads.

Dims: B batch, T tokens, D model width, H heads, K = D // H head width.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor, nn

from lmlib.models.kv_cache import KVCache


def split_heads(x: Tensor, n_heads: int) -> Tensor:
    """(B, T, D) -> (B, H, T, K): chunk each token's vector into H consecutive pieces."""
    return rearrange(x, "b t (h k) -> b h t k", h=n_heads)


def merge_heads(x: Tensor) -> Tensor:
    """(B, H, T, K) -> (B, T, D): put the heads' pieces back side by side."""
    return rearrange(x, "b h t k -> b t (h k)")


def causal_mask(T: int, device: torch.device | str | None = None) -> Tensor:
    """(T, T) bool, True where query t may look at key s, i.e. s <= t."""
    return torch.ones(T, T, dtype=torch.bool, device=device).tril()


def visible_keys(T: int, S: int, causal: bool, device: torch.device | str | None = None) -> Tensor:
    """(T, S) bool: the keys each of T queries may see when they are the last T of S tokens (the
    first S - T in a KV cache): key s <= S - T + t when causal, every key otherwise."""
    mask = torch.ones(T, S, dtype=torch.bool, device=device)
    return mask.tril(diagonal=S - T) if causal else mask


def attention_weights(q: Tensor, k: Tensor, mask: Tensor) -> Tensor:
    """q, k (B, H, T, K), mask (T, T) bool, True where query t may see key s -> (B, H, T, T).

    softmax over keys of q k^T / sqrt(K), disallowed pairs set to -inf first; rows sum to 1.
    """
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # (B, H, T, T)
    return scores.masked_fill(~mask, float("-inf")).softmax(dim=-1)


def attention(q: Tensor, k: Tensor, v: Tensor, mask: Tensor) -> Tensor:
    """q, k, v (B, H, T, K), mask (T, T) bool True=allowed -> (B, H, T, K)."""
    return attention_weights(q, k, mask) @ v


def causal_attention(q: Tensor, k: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
    """The plain math of causal attention, for reading and for inspecting weights.

    q, k, v (B, H, T, K) -> output (B, H, T, K) and weights (B, H, T, T), rows summing to 1.
    """
    weights = attention_weights(q, k, causal_mask(q.shape[-2], q.device))  # (B, H, T, T)
    return weights @ v, weights


def rotary(x: Tensor, base: float = 10000.0, offset: int = 0) -> Tensor:
    """Rotary position embedding (RoPE): (B, H, T, K) -> (B, H, T, K), K even.

    Rotates the pair of dimensions (i, i + K/2) of token t by the angle t * base^(-2i/K). A query
    at t and a key at s then score q.k through their rotations' difference only, so attention
    sees how far back a token is (t - s), not where it sits: what copying needs. The tokens sit
    at positions offset, ..., offset + T - 1 (offset: the tokens already in a KV cache).
    """
    T, K = x.shape[-2], x.shape[-1]
    if K % 2:
        raise ValueError(f"rotary needs an even head width, got K={K}")
    inv_freq = base ** (-torch.arange(K // 2, device=x.device, dtype=torch.float32) * 2 / K)
    pos = torch.arange(offset, offset + T, device=x.device, dtype=torch.float32)
    angle = pos[:, None] * inv_freq  # (T, K/2)
    cos, sin = angle.cos(), angle.sin()
    x1, x2 = x[..., : K // 2].float(), x[..., K // 2 :].float()
    return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1).to(x.dtype)


class MultiHeadAttention(nn.Module):
    """Self-attention with a single fused (D, 3D) projection chunked into heads.

    Causal by default; causal=False lets every token see every other (an encoder). A `mask`
    passed to forward replaces either. With rope=True, queries and keys are rotated by their
    position (see `rotary`). With a `cache` (lmlib.models.kv_cache), x holds the tokens after the
    cached ones, whose keys and values are appended and attended over.
    """

    def __init__(
        self,
        d_model: int,
        n_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        rope: bool = False,
        causal: bool = True,
    ):
        super().__init__()
        if n_heads < 1 or d_model % n_heads:
            raise ValueError(
                f"n_heads={n_heads} must divide d_model={d_model}: each head gets "
                f"d_model // n_heads dimensions; pick n_heads among the divisors of {d_model}"
            )
        self.d_model, self.n_heads, self.dropout, self.rope = d_model, n_heads, dropout, rope
        self.causal = causal
        if rope and (d_model // n_heads) % 2:
            raise ValueError(
                f"rope needs an even head width; d_model // n_heads = {d_model // n_heads}"
            )
        self.qkv = nn.Linear(d_model, 3 * d_model, bias=bias)  # one matrix: q, k, v for all heads
        self.proj = nn.Linear(d_model, d_model, bias=bias)
        self.keep_weights = False  # set True to record attention weights (uses the plain path)
        self.last_weights: Tensor | None = None

    def forward(
        self, x: Tensor, mask: Tensor | None = None, cache: KVCache | None = None
    ) -> Tensor:
        """(B, T, D) -> (B, T, D). Token t sees tokens <= t (causal) or all tokens; a bool `mask`
        of shape (T, S) or (B, 1, T, S), True where query t may see key s, replaces both. S = T,
        or with a cache S = cached + T."""
        if x.dim() != 3 or x.shape[-1] != self.d_model:
            raise ValueError(f"expected input (B, T, {self.d_model}), got {tuple(x.shape)}")
        T, start = x.shape[1], 0 if cache is None else cache.length
        S = start + T
        if mask is not None and (mask.dtype != torch.bool or mask.shape[-2:] != (T, S)):
            raise ValueError(
                f"mask must be bool of shape (T, S) or (B, 1, T, S) with T={T}, S={S}, "
                f"got {mask.dtype} {tuple(mask.shape)}"
            )
        q, k, v = rearrange(
            self.qkv(x), "b t (three h k) -> three b h t k", three=3, h=self.n_heads
        )
        if self.rope:
            q, k = rotary(q, offset=start), rotary(k, offset=start)
        if cache is not None:
            k, v = cache.append(k, v)  # (B, H, S, K): the cached tokens' and these
        if mask is None and (self.keep_weights or 1 < T < S):  # queries after cached keys
            mask = visible_keys(T, S, self.causal, x.device)
        if self.keep_weights:
            weights = attention_weights(q, k, mask)  # (B, H, T, S)
            y, self.last_weights = weights @ v, weights.detach()
        else:
            p = self.dropout if self.training else 0.0
            causal = self.causal and mask is None and T == S  # one new token sees every key
            y = F.scaled_dot_product_attention(q, k, v, mask, dropout_p=p, is_causal=causal)
        return self.proj(merge_heads(y))  # (B, H, T, K) -> (B, T, D)
