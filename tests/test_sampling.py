import pytest
import torch

from lmlib import TransformerConfig, TransformerLM, generate, sample_next


def test_greedy_and_top1_pick_the_argmax():
    logits = torch.tensor([[0.1, 3.0, 0.2], [2.0, 0.0, 1.0]])
    assert sample_next(logits, temperature=0).tolist() == [1, 0]
    assert sample_next(logits, temperature=1.0, top_k=1).tolist() == [1, 0]


def test_top_k_never_samples_outside_the_k_best():
    logits = torch.tensor([[5.0, 4.0, 0.0, -1.0]]).repeat(2000, 1)
    ids = sample_next(logits, temperature=5.0, top_k=2, generator=torch.Generator().manual_seed(0))
    assert set(ids.tolist()) == {0, 1}


def test_temperature_sharpens_and_flattens():
    logits = torch.tensor([[2.0, 0.0]]).repeat(4000, 1)

    def share_of_first(t):
        ids = sample_next(logits, temperature=t, generator=torch.Generator().manual_seed(1))
        return (ids == 0).float().mean().item()

    assert share_of_first(0.25) > share_of_first(1.0) > share_of_first(4.0) > 0.5


def test_bad_arguments():
    with pytest.raises(ValueError):
        sample_next(torch.zeros(3), 1.0)
    with pytest.raises(ValueError):
        sample_next(torch.zeros(1, 3), -1.0)
    with pytest.raises(ValueError):
        sample_next(torch.zeros(1, 3), 1.0, top_k=0)


def test_generate_extends_and_crops_to_context():
    model = TransformerLM(
        TransformerConfig(vocab_size=7, context=4, d_model=8, n_heads=2, n_layers=1)
    )
    start = torch.zeros(2, 3, dtype=torch.long)
    out = generate(model, start, 6, generator=torch.Generator().manual_seed(0))
    assert out.shape == (2, 9) and torch.equal(out[:, :3], start)
    again = generate(model, start, 6, generator=torch.Generator().manual_seed(0))
    assert torch.equal(out, again)
    assert model.training  # mode restored


@pytest.mark.parametrize("prompt", [3, 9])  # within the context, and longer than it
def test_generate_with_and_without_the_cache_samples_the_same_tokens(prompt):
    torch.manual_seed(0)
    model = TransformerLM(
        TransformerConfig(vocab_size=7, context=8, d_model=16, n_heads=2, n_layers=2, pos="rope")
    )
    start = torch.randint(0, 7, (2, prompt))
    runs = [  # 12 new tokens: the window slides past the context of 8
        generate(model, start, 12, generator=torch.Generator().manual_seed(1), cache=cache)
        for cache in (True, False)
    ]
    assert runs[0].shape == (2, prompt + 12) and torch.equal(runs[0], runs[1])
    with pytest.raises(ValueError, match="max_new_tokens"):
        generate(model, start, -1)
