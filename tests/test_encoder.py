import pytest
import torch

from lmlib.models.encoder import Encoder
from lmlib.models.transformer import TransformerConfig, TransformerLM

CFG = TransformerConfig(vocab_size=13, context=12, d_model=16, n_heads=2, n_layers=2)


def test_shapes_of_the_token_head_and_the_classifier():
    idx = torch.randint(0, 13, (3, 9))
    assert Encoder(CFG)(idx).shape == (3, 9, 13)
    assert Encoder(CFG, n_classes=4)(idx).shape == (3, 9, 4)
    assert Encoder(CFG).encode(idx).shape == (3, 9, 16)


def test_bidirectional_a_later_token_changes_earlier_states():
    enc = Encoder(CFG).eval()
    idx = torch.randint(0, 13, (2, 10))
    changed = idx.clone()
    changed[:, 8] = (changed[:, 8] + 1) % 13
    assert not torch.allclose(enc(idx)[:, :8], enc(changed)[:, :8])
    lm = TransformerLM(CFG).eval()  # the decoder-only model with the same blocks is causal
    torch.testing.assert_close(lm(idx)[:, :8], lm(changed)[:, :8])


def test_the_token_head_is_tied_and_shared_embeddings_are_one_tensor():
    disc = Encoder(CFG, n_classes=1)
    gen = Encoder(TransformerConfig(13, 12, d_model=4, n_heads=1, n_layers=1), tok_emb=disc.tok_emb)
    assert gen.tok_emb.weight is disc.tok_emb.weight
    h = gen.encode(torch.randint(0, 13, (1, 5)))
    expected = gen.proj_out(h) @ disc.tok_emb.weight.T
    torch.testing.assert_close(gen.head(h), expected)
    both = torch.nn.ModuleList([disc, gen])
    assert sum(p.numel() for p in both.parameters()) == disc.num_params() + gen.num_params() - (
        13 * 16
    )


def test_same_seed_same_logits():
    idx = torch.randint(0, 13, (2, 6))
    torch.manual_seed(3)
    a = Encoder(CFG)(idx)
    torch.manual_seed(3)
    torch.testing.assert_close(a, Encoder(CFG)(idx))


def test_flops_count_the_head_share():
    enc = Encoder(CFG)
    full, masked = enc.flops_per_token(12), enc.flops_per_token(12, head_share=0.15)
    assert full - masked == pytest.approx(3 * 2 * 0.85 * 16 * 13)
    assert Encoder(CFG, n_classes=1).flops_per_token(12) < masked


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match="n_classes"):
        Encoder(CFG, n_classes=0)
    with pytest.raises(ValueError, match="vocab"):
        Encoder(CFG, tok_emb=torch.nn.Embedding(7, 16))
    with pytest.raises(ValueError, match="context=12"):
        Encoder(CFG)(torch.zeros(1, 13, dtype=torch.long))
    with pytest.raises(TypeError):
        Encoder(CFG)(torch.zeros(1, 4))
