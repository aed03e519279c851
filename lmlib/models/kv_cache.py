"""The KV cache: keep every layer's keys and values, so that decoding reads only the new tokens.

Without a cache, generating n tokens runs the model n times over the whole sequence so far. With
one, a step runs on the new token alone: its query attends over the keys and values stored for
every earlier position. Under causal attention those would come out the same if recomputed, since
no token sees a later one; that is what makes the cache exact.

Dims: B batch, H heads, T new tokens, S = cached + new tokens (S <= capacity), K head width.
"""

from __future__ import annotations

from torch import Tensor


class KVCache:
    """One attention layer's keys and values so far, (B, H, S, K), in buffers of `capacity`."""

    def __init__(self, capacity: int):
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1 position, got {capacity}")
        self.capacity = capacity
        self.length = 0  # positions filled: the position of the next token
        self.k: Tensor | None = None  # (B, H, capacity, K), allocated by the first append
        self.v: Tensor | None = None

    def append(self, k: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
        """Store k, v (B, H, T, K) at the next T positions -> all keys and values (B, H, S, K)."""
        check_room(self.length, k.shape[-2], self.capacity)
        if self.k is None:
            B, H, _, K = k.shape
            self.k, self.v = (
                k.new_empty(B, H, self.capacity, K),
                v.new_empty(B, H, self.capacity, K),
            )
        elif k.shape[:2] != self.k.shape[:2] or k.shape[-1] != self.k.shape[-1]:
            raise ValueError(
                f"keys of shape {tuple(k.shape)} do not fit a cache of (B, H, S, K) = "
                f"{tuple(self.k.shape)}; use one cache per batch of sequences"
            )
        end = self.length + k.shape[-2]
        self.k[:, :, self.length : end], self.v[:, :, self.length : end] = k, v
        self.length = end
        return self.k[:, :, :end], self.v[:, :, :end]


def check_room(length: int, new: int, capacity: int) -> None:
    """A clear error when `new` more tokens would not fit after `length` cached ones."""
    if length + new > capacity:
        raise ValueError(
            f"{length} cached + {new} new tokens exceed the context={capacity}; start a new "
            f"cache from the last {capacity} tokens at most (past the context, lmlib.generate "
            "slides its window and stops using the cache)"
        )


def new_cache(n_layers: int, capacity: int) -> list[KVCache]:
    """An empty cache per layer for one batch of sequences of at most `capacity` positions."""
    return [KVCache(capacity) for _ in range(n_layers)]


def next_position(cache: list[KVCache], n_layers: int, new: int, capacity: int) -> int:
    """Position of the first of `new` tokens that follow the cached ones; a clear error when the
    cache is not one per layer or the tokens would not fit."""
    if len(cache) != n_layers:
        raise ValueError(
            f"got a cache for {len(cache)} layers, the model has {n_layers}; "
            "make one with model.new_cache()"
        )
    check_room(cache[0].length, new, capacity)
    return cache[0].length
