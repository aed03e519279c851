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


class Recorder(torch.nn.Module):
    """An objective that records the batches it reads and makes draws of its own."""

    def __init__(self, draws: int):
        super().__init__()
        self.encoder = torch.nn.Linear(1, 1)
        self.encoder.config = CFG
        self.draws, self.batches, self.devices = draws, [], []

    def forward(self, idx, generator):
        self.batches.append(idx.clone())
        self.devices.append(generator.device)
        torch.rand(self.draws, generator=generator)
        return {"loss": self.encoder(idx.float()[..., None]).mean()}

    def flops_per_token(self, T=None):
        return 1e3


def test_objectives_of_one_seed_read_the_same_batches_whatever_they_draw():
    cfg = PretrainConfig(1e3 * 4 * 8 * 5, 8, 4, seed=2)
    few, many = Recorder(1), Recorder(1000)
    pretrain(few, IDS, cfg, lambda enc: {})
    pretrain(many, IDS, cfg, lambda enc: {})
    assert len(few.batches) == 5 and all(
        torch.equal(a, b) for a, b in zip(few.batches, many.batches)
    )
    other = Recorder(1)
    pretrain(other, IDS, PretrainConfig(cfg.flops, 8, 4, seed=3), lambda enc: {})
    assert not torch.equal(other.batches[0], few.batches[0])


def test_device_argument_moves_the_objective_and_sets_precision(monkeypatch):
    """The device reaches every device-dependent piece (on a CPU: fp32, no scaler); the same
    run on "cpu" given explicitly is the run of the default."""
    from lmlib.training import pretrain as module

    seen = []
    real_autocast, real_scaler = module.autocast, module.make_grad_scaler
    monkeypatch.setattr(
        module, "autocast", lambda d: seen.append(("autocast", d)) or real_autocast(d)
    )
    monkeypatch.setattr(
        module, "make_grad_scaler", lambda d: seen.append(("scaler", d)) or real_scaler(d)
    )
    cfg = PretrainConfig(5e6, 8, 8, lr=1e-2, warmup_steps=2, seed=1)
    score = lambda enc: {"w": float(enc.tok_emb.weight.detach().sum())}  # noqa: E731
    torch.manual_seed(0)
    rec = Recorder(1)
    pretrain(rec, IDS, PretrainConfig(1e3 * 4 * 8 * 2, 8, 4), lambda enc: {}, device="cpu")
    assert rec.devices == [torch.device("cpu")] * 2
    assert {d for _, d in seen} == {torch.device("cpu")} and {k for k, _ in seen} == {
        "autocast",
        "scaler",
    }
    torch.manual_seed(0)
    a = pretrain(MaskedLM(CFG, 0), IDS, cfg, score)
    torch.manual_seed(0)
    b = pretrain(MaskedLM(CFG, 0), IDS, cfg, score, device=torch.device("cpu"))
    assert [p["w"] for p in a["points"]] == [p["w"] for p in b["points"]]
    with pytest.raises(RuntimeError):
        pretrain(MaskedLM(CFG, 0), IDS, cfg, score, device="no-such-device")


def test_a_grad_scaler_leaves_the_run_as_it_was():
    """fp16 on a T4 scales the loss and unscales the gradients before clipping: with a power-of-
    two scale the steps are those of the unscaled run (an active scaler, run on the CPU)."""
    from lmlib.training import pretrain as module

    cfg = PretrainConfig(5e6, 8, 8, lr=1e-2, warmup_steps=2, seed=1)
    score = lambda enc: {"w": float(enc.tok_emb.weight.detach().sum())}  # noqa: E731
    torch.manual_seed(0)
    plain = pretrain(MaskedLM(CFG, 0), IDS, cfg, score)
    scaled = torch.amp.GradScaler("cpu", init_scale=2.0**10, enabled=True)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(module, "make_grad_scaler", lambda d: scaled)
        torch.manual_seed(0)
        out = pretrain(MaskedLM(CFG, 0), IDS, cfg, score)
    assert scaled.get_scale() >= 2.0**10  # it was used, and never found an overflow
    for p, q in zip(plain["points"], out["points"]):
        assert q["w"] == pytest.approx(p["w"], rel=1e-5)
