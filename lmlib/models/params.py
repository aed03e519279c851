"""Counting parameters, with one meaning for every model in lmlib.

``num_params(model)`` counts every parameter once: a tied output head shares the token embedding's
matrix and is not counted twice, and learned position embeddings are included.
``num_params(model, non_embedding=True)`` leaves out the embedding tables (token and position
embeddings), the count Kaplan et al. (2020) relate to loss, since a lookup costs no FLOPs.
"""

from __future__ import annotations

from torch import nn


def num_params(model: nn.Module, non_embedding: bool = False) -> int:
    """Parameters of `model`, each shared tensor once; without embedding tables if asked."""
    n = sum(p.numel() for p in model.parameters())  # parameters() yields a tied tensor once
    if non_embedding:
        tables = {
            id(m.weight): m.weight.numel() for m in model.modules() if isinstance(m, nn.Embedding)
        }
        n -= sum(tables.values())
    return n
