import math
import os
import signal

import pytest
import torch

from lmlib import CheckpointError, TrainConfig, TransformerConfig, TransformerLM, lr_at, train
from lmlib.training.train import evaluate

MODEL = TransformerConfig(vocab_size=5, context=8, d_model=16, n_heads=2, n_layers=1)


def corpus(n=2000, seed=0):
    """A learnable sequence: mostly 0 1 2 3 4 0 1 2 ... with some noise."""
    g = torch.Generator().manual_seed(seed)
    ids = torch.arange(n) % 5
    noise = torch.rand(n, generator=g) < 0.05
    return torch.where(noise, torch.randint(0, 5, (n,), generator=g), ids)


def fresh_model():
    torch.manual_seed(0)
    return TransformerLM(MODEL)


def cfg(**kw):
    base = dict(steps=20, batch_size=8, lr=3e-3, warmup_steps=4, eval_every=5, eval_batches=2)
    return TrainConfig(**{**base, "progress": False, **kw})


def test_schedule_warms_up_then_decays():
    c = cfg(steps=100, warmup_steps=10, lr=1.0, min_lr_ratio=0.1)
    lrs = [lr_at(s, c) for s in range(100)]
    assert lrs[0] == pytest.approx(0.1) and lrs[9] == pytest.approx(1.0)
    assert all(a >= b for a, b in zip(lrs[9:], lrs[10:]))
    assert lr_at(100, c) == pytest.approx(0.1)
    assert lr_at(55, c) == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 0.5)))


def test_loss_falls_and_history_is_data():
    data = corpus()
    h = train(fresh_model(), data, corpus(500, 1), cfg(steps=60))
    assert h.step == list(range(1, 61)) and len(h.train_loss) == 60 and len(h.lr) == 60
    assert h.eval_step == [5 * i for i in range(1, 13)]
    assert h.val_loss[-1] < 0.6 * h.val_loss[0]
    assert all(t2 >= t1 for t1, t2 in zip(h.train_time, h.train_time[1:]))


def test_same_seed_same_numbers():
    a = train(fresh_model(), corpus(), corpus(500, 1), cfg())
    b = train(fresh_model(), corpus(), corpus(500, 1), cfg())
    assert a.train_loss == b.train_loss and a.val_loss == b.val_loss


def test_resume_after_interruption_reproduces_uninterrupted_run(tmp_path):
    data, val = corpus(), corpus(500, 1)
    full_model = fresh_model()
    full = train(full_model, data, val, cfg())

    ckpt = tmp_path / "run.pt"

    def interrupt_at_9(step, loss):
        if step == 9:
            os.kill(os.getpid(), signal.SIGINT)  # as if the user pressed Ctrl-C / stop

    part = train(fresh_model(), data, val, cfg(checkpoint_path=str(ckpt)), on_step=interrupt_at_9)
    assert part.interrupted and part.step[-1] == 9 and ckpt.exists()

    resumed_model = fresh_model()
    rest = train(resumed_model, data, val, cfg(checkpoint_path=str(ckpt)), resume=True)
    assert not rest.interrupted
    assert rest.train_loss == full.train_loss  # bit-for-bit on CPU
    assert rest.val_loss == full.val_loss and rest.eval_step == full.eval_step
    for p, q in zip(resumed_model.parameters(), full_model.parameters()):
        assert torch.equal(p, q)


def test_resume_restores_kept_data_as_it_was_at_the_checkpoint(tmp_path):
    """A run killed at step 12 (a disconnect: no save on the way out) resumes from its step-10
    checkpoint with the caller's `keep` as it was then, and on_step fills in the rest."""
    data, val, ckpt = corpus(), corpus(500, 1), tmp_path / "run.pt"
    run = cfg(checkpoint_path=str(ckpt), checkpoint_every=5)

    def snapshot(keep, step, die_at=None):
        if step == die_at:
            raise RuntimeError("runtime disconnected")
        keep["step"].append(step)
        keep["norm"].append(sum(p.detach().norm() for p in model.parameters()))

    model = fresh_model()
    whole = {"step": [], "norm": []}
    train(model, data, val, cfg(), on_step=lambda s, _: snapshot(whole, s), keep=whole)
    model, first = fresh_model(), {"step": [], "norm": []}
    with pytest.raises(RuntimeError, match="disconnected"):
        train(model, data, val, run, on_step=lambda s, _: snapshot(first, s, 12), keep=first)
    assert first["step"] == list(range(1, 12))
    model, again = fresh_model(), {"step": ["stale"], "norm": []}
    train(model, data, val, run, resume=True, on_step=lambda s, _: snapshot(again, s), keep=again)
    assert again["step"] == whole["step"] == list(range(1, 21))
    torch.testing.assert_close(again["norm"], whole["norm"], rtol=0, atol=0)


def test_resume_with_different_settings_is_refused(tmp_path):
    ckpt = str(tmp_path / "run.pt")
    train(fresh_model(), corpus(), corpus(500, 1), cfg(steps=5, checkpoint_path=ckpt))
    with pytest.raises(CheckpointError, match="lr: checkpoint has 0.003"):
        train(
            fresh_model(), corpus(), corpus(500, 1), cfg(lr=1e-3, checkpoint_path=ckpt), resume=True
        )
    other = TransformerLM(TransformerConfig(vocab_size=5, context=8, d_model=16, n_heads=4))
    with pytest.raises(CheckpointError, match="n_heads"):
        train(other, corpus(), corpus(500, 1), cfg(steps=5, checkpoint_path=ckpt), resume=True)


def test_truncated_checkpoint_on_resume(tmp_path):
    ckpt = tmp_path / "run.pt"
    train(fresh_model(), corpus(), corpus(500, 1), cfg(steps=5, checkpoint_path=str(ckpt)))
    ckpt.write_bytes(ckpt.read_bytes()[:200])
    with pytest.raises(CheckpointError, match="truncated"):
        train(fresh_model(), corpus(), corpus(500, 1), cfg(checkpoint_path=str(ckpt)), resume=True)


def test_compile_option_falls_back_to_eager(monkeypatch):
    def broken_compile(model, **kw):
        def fails(x):
            raise RuntimeError("no C compiler")

        return fails

    monkeypatch.setattr(torch, "compile", broken_compile)
    with pytest.warns(UserWarning, match="compile failed"):
        h = train(fresh_model(), corpus(), corpus(500, 1), cfg(steps=5, compile=True))
    assert len(h.train_loss) == 5


def test_evaluate_is_deterministic_and_leaves_mode():
    model = fresh_model()
    a = evaluate(model, corpus(500, 1), 4, 3)
    assert a == evaluate(model, corpus(500, 1), 4, 3)
    assert model.training


def test_bad_config():
    with pytest.raises(ValueError, match="steps"):
        TrainConfig(steps=0)
    with pytest.raises(ValueError):
        TrainConfig(lr=-1)


@pytest.mark.parametrize(
    "field, value",
    [("grad_clip", -1.0), ("grad_clip", 0.0), ("weight_decay", -0.1), ("lr", 0.0),
     ("min_lr_ratio", 1.5), ("warmup_steps", -1), ("beta2", 1.0), ("checkpoint_every", -2)],
)  # fmt: skip
def test_config_errors_name_the_field_and_its_value(field, value):
    with pytest.raises(ValueError, match=rf"TrainConfig\.{field} must be .*got {value}"):
        TrainConfig(**{field: value})


@pytest.mark.parametrize("cut", [60, -1])
def test_resume_refuses_any_damage_naming_the_file(tmp_path, cut):
    ckpt = tmp_path / "run.pt"
    train(fresh_model(), corpus(), corpus(500, 1), cfg(steps=5, checkpoint_path=str(ckpt)))
    data = ckpt.read_bytes()
    ckpt.write_bytes(data[:cut])
    with pytest.raises(CheckpointError, match=str(ckpt)):
        train(fresh_model(), corpus(), corpus(500, 1), cfg(checkpoint_path=str(ckpt)), resume=True)


def test_fp16_training_runs_through_an_active_grad_scaler(tmp_path, monkeypatch):
    """A T4 trains in fp16 with a grad scaler: the same loop, with fp16 autocast and the scaler on
    (here on the CPU), learns, and the checkpoint keeps the scaler's state for a resume."""
    from lmlib.runtime import device as dev
    from lmlib.training.checkpoint import load_checkpoint

    monkeypatch.setattr(dev, "precision", lambda device: dev.Precision(torch.float16, "as a T4"))
    ckpt = tmp_path / "run.pt"
    h = train(fresh_model(), corpus(), corpus(500, 1), cfg(steps=40, checkpoint_path=str(ckpt)))
    assert all(math.isfinite(x) for x in h.train_loss)
    assert h.val_loss[-1] < 0.7 * h.val_loss[0]
    scaler = load_checkpoint(ckpt)["scaler"]
    assert scaler["scale"] > 1  # {} when the scaler is off, as with bf16 or fp32
