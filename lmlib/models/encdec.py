"""An encoder-decoder Transformer with four switches, one per difference from a decoder-only one.

The model maps an input (B, S) and the decoder's input (B, T) (``<bos>`` then the target shifted
right) to logits (B, T, V) for the target. It is built from lmlib's Block and MultiHeadAttention,
and each switch removes one structural difference between the two architectures:

- ``cross_attention``: a separate cross-attention sublayer (True), or one self-attention whose
  keys and values are the input's states followed by the target's (False);
- ``shared``: separate encoder and decoder stacks (False), or one stack for both (True);
- ``memory``: every decoder layer reads the encoder's ``"final"`` layer, or the input's states at
  the ``"same"`` layer;
- ``bidirectional``: input tokens see each other in both directions (True), or only earlier ones.

All four on the decoder-only side is lmlib's TransformerLM over the concatenation input + target
(the same parameters, by name); only ``bidirectional=True`` left is a prefix LM. Token and position
embeddings and the output head are shared by input and target in every configuration; positions
count over the concatenation (input at 0..S-1, target at S..S+T-1).

Dims: B batch, S input tokens, T target tokens, D model width, H heads, K = D // H, V vocabulary.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor, nn

from lmlib.models.attention import MultiHeadAttention, causal_mask, merge_heads, split_heads
from lmlib.models.kv_cache import KVCache, new_cache
from lmlib.models.params import num_params
from lmlib.models.transformer import Block, TransformerConfig, TransformerLM, scale_residual_init


@dataclass(frozen=True)
class EncDecConfig:
    vocab_size: int
    context: int = 64  # the most input + target tokens, S + T
    d_model: int = 64
    n_heads: int = 4
    n_layers: int = 2
    expansion: float = 4
    bias: bool = True
    cross_attention: bool = True
    shared: bool = False
    memory: str = "final"  # "final": the encoder's last layer; "same": the input at layer l
    bidirectional: bool = True

    def __post_init__(self):
        if self.memory not in ("final", "same"):
            raise ValueError(f"memory must be 'final' or 'same', got {self.memory!r}")
        self.block_config()  # checks the sizes

    def block_config(self) -> TransformerConfig:
        """The TransformerConfig of the blocks (and of the equivalent decoder-only model)."""
        return TransformerConfig(
            self.vocab_size,
            self.context,
            self.d_model,
            self.n_heads,
            self.n_layers,
            self.expansion,
            bias=self.bias,
        )

    @property
    def concatenated(self) -> bool:
        """True when input and target run as one sequence (shared stack, same-layer attention)."""
        return self.shared and self.memory == "same" and not self.cross_attention


@dataclass
class DecodingState:
    """What incremental decoding keeps between steps: the input's length, the memory each
    decoder layer reads (none when input and target are one sequence), one KV cache per layer."""

    src_len: int
    memory: list[Tensor]
    cache: list[KVCache]
    written: int = 0  # target tokens read so far


def prefix_lm_mask(S: int, T: int, device: torch.device | str | None = None) -> Tensor:
    """(S + T, S + T) bool, True where position i may attend to position j: the S input
    positions see one another in both directions, and every position sees all earlier ones."""
    i = torch.arange(S + T, device=device)
    return (i[None, :] <= i[:, None]) | (i[None, :] < S)


def attend(
    attn: MultiHeadAttention, x: Tensor, memory: Tensor, mask: Tensor | None = None
) -> Tensor:
    """Attention with queries from x (B, T, D), keys and values from memory (B, S, D) -> (B, T, D).

    Uses `attn`'s weights: the first D rows of its fused qkv make the queries, the other 2D the
    keys and values. mask (T, S) bool, True = may attend; None lets every query see all of memory.
    """
    w, b = attn.qkv.weight, attn.qkv.bias
    D = attn.d_model
    q = F.linear(x, w[:D], None if b is None else b[:D])  # (B, T, D)
    kv = F.linear(memory, w[D:], None if b is None else b[D:])  # (B, S, 2D)
    k, v = rearrange(kv, "b s (two h k) -> two b h s k", two=2, h=attn.n_heads)
    y = F.scaled_dot_product_attention(split_heads(q, attn.n_heads), k, v, attn_mask=mask)
    return attn.proj(merge_heads(y))  # (B, T, D)


class CrossAttention(MultiHeadAttention):
    """Queries from the target, keys and values from the input: the same parameter shapes as
    self-attention. forward(x (B, T, D), memory (B, S, D)) -> (B, T, D)."""

    def forward(self, x: Tensor, memory: Tensor, mask: Tensor | None = None) -> Tensor:  # type: ignore[override]
        return attend(self, x, memory, mask)


class EncoderDecoder(nn.Module):
    """forward(src (B, S), tgt_in (B, T)) -> logits (B, T, V), with S + T <= context."""

    def __init__(self, cfg: EncDecConfig):
        super().__init__()
        self.config = cfg
        self.context = cfg.context
        bc = cfg.block_config()
        self.tok_emb = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.pos_emb = nn.Embedding(cfg.context, cfg.d_model)
        self.blocks = nn.ModuleList(Block(bc) for _ in range(cfg.n_layers))  # the decoder
        self.enc_blocks = (
            None if cfg.shared else nn.ModuleList(Block(bc) for _ in range(self._enc_layers()))
        )
        if cfg.cross_attention:
            self.cross_norms = nn.ModuleList(_norms(cfg, 2) for _ in range(cfg.n_layers))
            self.cross = nn.ModuleList(
                CrossAttention(cfg.d_model, cfg.n_heads, bias=cfg.bias) for _ in range(cfg.n_layers)
            )
        self.norm = nn.LayerNorm(cfg.d_model, bias=cfg.bias)
        self.head = nn.Linear(cfg.d_model, cfg.vocab_size, bias=False)
        self.head.weight = self.tok_emb.weight
        self.apply(TransformerLM._init)  # the decoder-only model's initialisation
        scale_residual_init(self, cfg.n_layers)

    def _enc_layers(self) -> int:
        # reading the same layer, decoder layer l needs the input's states entering layer l
        return self.config.n_layers - (self.config.memory == "same")

    @property
    def encoder_blocks(self) -> nn.ModuleList:
        return self.blocks if self.enc_blocks is None else self.enc_blocks

    def _check(self, src: Tensor, tgt_in: Tensor) -> None:
        for name, t in (("src", src), ("tgt_in", tgt_in)):
            if t.dim() != 2:
                raise ValueError(f"{name} must be (B, length) token ids, got {tuple(t.shape)}")
            if t.dtype not in (torch.long, torch.int32):
                raise TypeError(f"{name} must hold integer token ids, got {t.dtype}")
        (B, S), (B2, T) = src.shape, tgt_in.shape
        if B != B2:
            raise ValueError(f"src and tgt_in have batch sizes {B} and {B2}; they must match")
        if S < 1 or T < 1:
            raise ValueError(f"need at least one input and one target token, got S={S}, T={T}")
        if S + T > self.context:
            raise ValueError(
                f"input ({S}) + target ({T}) = {S + T} tokens exceed context={self.context}; "
                f"build the model with context >= {S + T} or shorten the sequences"
            )

    def embed(self, idx: Tensor, start: int) -> Tensor:
        """idx (B, L) at positions start.. -> (B, L, D)."""
        pos = torch.arange(start, start + idx.shape[1], device=idx.device)
        return self.tok_emb(idx) + self.pos_emb(pos)

    def encode(self, src: Tensor) -> list[Tensor]:
        """src (B, S) -> the input's states entering each encoder layer and leaving the last:
        a list of (B, S, D), n_encoder_layers + 1 long."""
        S = src.shape[1]
        mask = causal_mask(S, src.device)
        if self.config.bidirectional:
            mask = torch.ones_like(mask)
        states = [self.embed(src, 0)]
        for block in list(self.encoder_blocks)[: self._enc_layers()]:
            states.append(block(states[-1], mask))
        return states

    def decode(self, states: list[Tensor], tgt_in: Tensor) -> Tensor:
        """The encoder's states (from `encode`) and tgt_in (B, T) -> logits (B, T, V)."""
        cfg, S, T = self.config, states[0].shape[1], tgt_in.shape[1]
        y = self.embed(tgt_in, S)
        causal = causal_mask(T, y.device)
        joint = torch.cat([torch.ones(T, S, dtype=torch.bool, device=y.device), causal], dim=1)
        for layer, block in enumerate(self.blocks):
            memory = states[-1] if cfg.memory == "final" else states[layer]  # (B, S, D)
            h = block.norm1(y)
            if cfg.cross_attention:
                y = y + block.attn(h, mask=causal)
                norm_q, norm_kv = self.cross_norms[layer]
                y = y + self.cross[layer](norm_q(y), norm_kv(memory))
            else:  # one attention over the input's states and the target's
                y = y + attend(block.attn, h, torch.cat([block.norm1(memory), h], dim=1), joint)
            if block.mlp is not None:
                y = y + block.mlp(block.norm2(y))
        return self.head(self.norm(y))  # (B, T, V)

    def forward(self, src: Tensor, tgt_in: Tensor) -> Tensor:
        self._check(src, tgt_in)
        if not self.config.concatenated:
            return self.decode(self.encode(src), tgt_in)
        S, T = src.shape[1], tgt_in.shape[1]
        x = self.embed(torch.cat([src, tgt_in], dim=1), 0)  # (B, S + T, D)
        if self.config.bidirectional:
            mask = prefix_lm_mask(S, T, x.device)
        else:
            mask = causal_mask(S + T, x.device)
        for block in self.blocks:
            x = block(x, mask)
        return self.head(self.norm(x[:, S:]))  # (B, T, V)

    @torch.no_grad()
    def start(self, src: Tensor) -> DecodingState:
        """Read src (B, S) once, for decoding with `step`: the encoder runs here and only here.

        With cross-attention the cache will hold the target's keys and values; with one
        attention over input and target it starts with the input's, as a decoder-only model's
        KV cache holds its prompt.
        """
        self._check(src, src[:, :1])
        cfg, S, L = self.config, src.shape[1], len(self.blocks)
        cache = new_cache(L, self.context)
        if cfg.concatenated:
            x = self.embed(src, 0)
            mask = causal_mask(S, src.device)
            mask = torch.ones_like(mask) if cfg.bidirectional else mask
            for block, layer_cache in zip(self.blocks, cache):
                x = block(x, mask, layer_cache)
            return DecodingState(S, [], cache)
        states = self.encode(src)
        memory = [states[-1] if cfg.memory == "final" else states[i] for i in range(L)]
        if not cfg.cross_attention:  # the memory's keys and values open each layer's cache
            for block, m, layer_cache in zip(self.blocks, memory, cache):
                w, b, D = block.attn.qkv.weight, block.attn.qkv.bias, cfg.d_model
                kv = F.linear(block.norm1(m), w[D:], None if b is None else b[D:])  # (B, S, 2D)
                k, v = rearrange(kv, "b s (two h k) -> two b h s k", two=2, h=cfg.n_heads)
                layer_cache.append(k, v)
        return DecodingState(S, memory, cache)

    @torch.no_grad()
    def step(self, tgt_new: Tensor, state: DecodingState) -> Tensor:
        """The next target tokens (B, T) -> their logits (B, T, V), reading only them: earlier
        tokens' keys and values come from state's cache, which grows by T."""
        T = tgt_new.shape[1]
        if state.src_len + state.written + T > self.context:
            raise ValueError(
                f"input ({state.src_len}) + target ({state.written + T}) tokens would exceed "
                f"context={self.context}; decode at most {self.context - state.src_len} tokens"
            )
        y = self.embed(tgt_new, state.src_len + state.written)
        for layer, (block, layer_cache) in enumerate(zip(self.blocks, state.cache)):
            y = y + block.attn(block.norm1(y), cache=layer_cache)  # causal over what is cached
            if self.config.cross_attention:
                norm_q, norm_kv = self.cross_norms[layer]
                y = y + self.cross[layer](norm_q(y), norm_kv(state.memory[layer]))
            if block.mlp is not None:
                y = y + block.mlp(block.norm2(y))
        state.written += T
        return self.head(self.norm(y))  # (B, T, V)

    def flops_per_example(self, S: int, T: int) -> int:
        """Training FLOPs (3 x forward) of one example with S input and T target tokens.

        Forward: 2 FLOPs per weight per token of every matmul; 4 * queries * keys * D per
        attention for the scores and the weighted sum of values (dense, as the kernels compute
        them, masked or not); the head over the T target positions only. A separate encoder
        reading the same layer runs n_layers - 1 layers. Cross-attention (or the joint attention
        of a separate stack) also projects the memory to keys and values in every decoder layer.
        """
        cfg = self.config
        D, L, F_ = cfg.d_model, cfg.n_layers, cfg.block_config().d_ff
        layer = 2 * (4 * D * D + 2 * D * F_)  # per token: qkv, proj, MLP
        head = 2 * D * cfg.vocab_size * T
        if cfg.concatenated:
            return 3 * (L * ((S + T) * layer + 4 * (S + T) ** 2 * D) + head)
        enc = self._enc_layers() * (S * layer + 4 * S * S * D)
        if cfg.cross_attention:  # self-attention over T, then q, kv(memory), proj, scores over S
            dec = T * layer + 4 * T * T * D + 2 * D * D * (2 * T + 2 * S) + 4 * T * S * D
        else:  # keys and values of the memory with this layer's weights, scores over S + T
            dec = T * layer + 2 * 2 * D * D * S + 4 * T * (S + T) * D
        return 3 * (enc + L * dec + head)

    def num_params(self, non_embedding: bool = False) -> int:
        """Every parameter once (the head ties to the token embedding); see lmlib.models.params."""
        return num_params(self, non_embedding)


def _norms(cfg: EncDecConfig, n: int) -> nn.ModuleList:
    return nn.ModuleList(nn.LayerNorm(cfg.d_model, bias=cfg.bias) for _ in range(n))
