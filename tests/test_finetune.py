import pytest
import torch

from lmlib.models.encoder import Encoder
from lmlib.models.transformer import TransformerConfig
from lmlib.training import finetune as module
from lmlib.training.finetune import FinetuneConfig, Split, Task, evaluate, finetune, read_at

CFG = TransformerConfig(12, context=8, d_model=16, n_heads=2, n_layers=1, causal=False)


def copy_task(n: int, seed: int) -> list[tuple[list[int], int, int]]:
    """Is the token two places before the read position odd? Sentences of two lengths."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for i in range(n):
        ids = torch.randint(0, 12, (5 + i % 2,), generator=g).tolist()
        out.append((ids, len(ids) - 1, ids[-3] % 2))
    return out


TASK = Task("copy", Split.from_examples(copy_task(256, 0)), Split.from_examples(copy_task(128, 1)))


def test_split_groups_by_length_and_checks_examples():
    s = Split.from_examples([([1, 2, 3], 0, 1), ([4, 5], 1, 0), ([6, 7, 8], 2, 0)])
    assert [tuple(x.shape) for x in s.x] == [(1, 2), (2, 3)] and len(s) == 3
    assert s.y[1].tolist() == [1, 0] and s.pos[1].tolist() == [0, 2]
    with pytest.raises(ValueError, match="position 3 of 3"):
        Split.from_examples([([1, 2, 3], 3, 1)])
    with pytest.raises(ValueError, match="label 2"):
        Split.from_examples([([1, 2, 3], 0, 2)])
    with pytest.raises(ValueError, match="at least one"):
        Split.from_examples([])
    with pytest.raises(ValueError, match="epochs"):
        FinetuneConfig(epochs=0)
    with pytest.raises(ValueError, match="restarts"):
        FinetuneConfig(restarts=0)


def test_read_at_picks_each_examples_position():
    states = torch.arange(2 * 3 * 4.0).reshape(2, 3, 4)
    assert torch.equal(read_at(states, torch.tensor([2, 0])), states[[0, 1], [2, 0]])


def test_finetuning_learns_leaves_the_encoder_alone_and_repeats_with_a_seed():
    torch.manual_seed(0)
    enc = Encoder(CFG)
    before = {k: v.clone() for k, v in enc.state_dict().items()}
    cfg = FinetuneConfig(epochs=8, batch_size=16, lr=3e-3, seed=3)
    acc = finetune(enc, TASK, cfg)
    assert acc > 0.8  # the encoder reads across positions once fine-tuned
    assert all(torch.equal(before[k], v) for k, v in enc.state_dict().items())
    assert finetune(enc, TASK, cfg) == acc
    scores = evaluate(enc, {"a": TASK, "b": TASK}, FinetuneConfig(epochs=1, seed=3))
    assert scores["score"] == pytest.approx((scores["a"] + scores["b"]) / 2, rel=1e-12)


def test_the_median_of_the_restarts_is_kept(monkeypatch):
    """Restarts differ in their seeds only; one failed fine-tuning does not move the median."""
    seeds = []
    fake = {5: 0.5, 1005: 0.9, 2005: 0.8}  # a collapse to chance, and two that learned
    monkeypatch.setattr(
        module, "finetune", lambda enc, task, cfg: seeds.append(cfg.seed) or fake[cfg.seed]
    )
    scores = evaluate(None, {"t": TASK}, FinetuneConfig(restarts=3, seed=5))
    assert seeds == [5, 1005, 2005] and scores == {"t": 0.8, "score": 0.8}
    fake[3005] = 0.6
    assert evaluate(None, {"t": TASK}, FinetuneConfig(restarts=4, seed=5))["t"] == pytest.approx(
        0.7
    )
