import pytest
import torch

from lmlib.models.transformer import TransformerConfig
from lmlib.training.electra import Electra, ElectraConfig
from lmlib.training.masking import MaskedLM
from lmlib.training.pretrain import PretrainConfig, pretrain, steps_for, windows

CFG = TransformerConfig(20, context=8, d_model=16, n_heads=2, n_layers=1, causal=False)
IDS = torch.arange(1, 20).repeat(100)  # a pattern an MLM can learn


def test_equal_budgets_buy_fewer_electra_steps():
    budget = PretrainConfig(flops=5e7, context=8, batch_size=4)
    mlm, electra = MaskedLM(CFG, 0), Electra(ElectraConfig(CFG, gen_width=1.0, mask_id=0))
    assert steps_for(electra, budget) < steps_for(mlm, budget)
    per = mlm.flops_per_token(8) * 4 * 8
    assert steps_for(mlm, budget) == int(5e7 // per)


def test_scores_before_and_at_each_checkpoint_and_same_seed_same_run():
    torch.set_num_threads(1)
    cfg = PretrainConfig(2e8, 8, 8, lr=1e-2, warmup_steps=2, checkpoints=(0.5, 1.0), seed=3)
    seen = []

    def score(enc):
        seen.append(enc)
        return {"score": float(enc.tok_emb.weight.detach().sum())}

    torch.manual_seed(0)
    a = pretrain(MaskedLM(CFG, 0), IDS, cfg, score)
    assert [p["step"] for p in a["points"]] == [0, a["steps"] // 2, a["steps"]]
    assert a["points"][-1]["flops"] == a["steps"] * a["flops_per_step"] <= 2e8
    torch.manual_seed(0)
    b = pretrain(MaskedLM(CFG, 0), IDS, cfg, score)
    assert a["points"] == [{**p, "train_s": q["train_s"]} for p, q in zip(b["points"], a["points"])]
    assert a["loss"][-1] < a["loss"][0]


def test_windows_and_errors():
    x = windows(torch.arange(100), 5, 8, torch.Generator().manual_seed(0))
    assert x.shape == (5, 8) and (x.diff(dim=1) == 1).all()
    with pytest.raises(ValueError, match="context"):
        windows(torch.arange(5), 2, 8, torch.Generator())
    with pytest.raises(ValueError, match="flops"):
        PretrainConfig(flops=0)
    with pytest.raises(ValueError, match="checkpoints"):
        PretrainConfig(flops=1.0, checkpoints=(1.5,))
