"""The bench's baselines keep the course's contract: idx (B, T) -> causal logits (B, T, V)."""

import pytest
import torch

from lmlib.models.transformer import TransformerConfig
from lmlib.tools.baselines import TorchEncoderLM, hf_gpt2

CFG = TransformerConfig(vocab_size=11, context=8, d_model=16, n_heads=2, n_layers=2)


def _builders():
    yield TorchEncoderLM
    try:
        import transformers  # noqa: F401
    except ImportError:
        return
    yield hf_gpt2


@pytest.mark.parametrize("build", list(_builders()), ids=lambda b: b.__name__)
def test_logits_are_causal_and_embeddings_tied(build):
    torch.manual_seed(0)
    model = build(CFG).eval()
    idx = torch.randint(0, CFG.vocab_size, (3, CFG.context))
    logits = model(idx)
    assert logits.shape == (3, CFG.context, CFG.vocab_size)
    changed = idx.clone()
    changed[:, 5:] = (changed[:, 5:] + 1) % CFG.vocab_size
    after = model(changed)
    torch.testing.assert_close(after[:, :5], logits[:, :5])  # the past ignores the future
    assert not torch.allclose(after[:, 5:], logits[:, 5:])
    head = next(
        m for m in model.modules() if isinstance(m, torch.nn.Linear) and m.out_features == 11
    )
    emb = next(m for m in model.modules() if isinstance(m, torch.nn.Embedding))
    assert head.weight is emb.weight
