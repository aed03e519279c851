import torch
from torch import nn

from lmlib import TransformerConfig, TransformerLM
from lmlib.models.cnn import CNNLM, CNNConfig
from lmlib.models.params import num_params
from lmlib.models.rnn import RNNLM, RNNConfig


def test_tied_head_counts_once_and_position_vectors_count():
    cfg = TransformerConfig(vocab_size=13, context=8, d_model=16, n_heads=2, n_layers=1)
    model = TransformerLM(cfg)
    by_hand = sum(p.numel() for name, p in model.state_dict().items() if name != "head.weight")
    assert model.num_params() == num_params(model) == by_hand
    assert model.num_params(non_embedding=True) == by_hand - 13 * 16 - 8 * 16


def test_one_meaning_across_families():
    for model in (
        RNNLM(RNNConfig(vocab_size=13, context=8, d_model=16, n_layers=1)),
        CNNLM(CNNConfig(vocab_size=13, context=8, d_model=16, n_layers=1)),
    ):
        assert model.num_params() == sum(p.numel() for p in model.parameters())
        tables = sum(m.weight.numel() for m in model.modules() if isinstance(m, nn.Embedding))
        assert model.num_params(non_embedding=True) == model.num_params() - tables


def test_a_shared_embedding_is_subtracted_once():
    emb = nn.Embedding(5, 3)
    model = nn.ModuleDict({"a": emb, "b": emb, "lin": nn.Linear(3, 2)})
    assert num_params(model) == 15 + 8 and num_params(model, non_embedding=True) == 8
    assert torch.equal(model["a"].weight, model["b"].weight)
