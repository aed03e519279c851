import pytest
import torch

from lmlib.models.transformer import TransformerConfig, TransformerLM
from lmlib.training.distill import Objective
from lmlib.training.students import Student, corrupt_targets, train_side_by_side
from lmlib.training.train import TrainConfig

V, CONTEXT = 13, 8
CFG = TrainConfig(steps=6, batch_size=4, lr=1e-2, warmup_steps=1, progress=False)


def _model(seed: int, d_model: int = 16) -> TransformerLM:
    torch.manual_seed(seed)
    return TransformerLM(TransformerConfig(V, CONTEXT, d_model, 2, 1))


def _ids(n: int = 400) -> torch.Tensor:
    return torch.arange(n) % V  # a text a model can learn in a few steps


def test_corrupt_targets_replaces_the_asked_fraction_and_repeats():
    ids = torch.randint(0, V, (5001,), generator=torch.Generator().manual_seed(0))
    assert torch.equal(corrupt_targets(ids, 0.0, V, seed=1), ids[1:])
    noisy = corrupt_targets(ids, 0.3, V, seed=1)
    changed = (noisy != ids[1:]).float().mean().item()
    assert changed == pytest.approx(0.3 * (1 - 1 / V), abs=0.02)  # a replacement may hit itself
    assert torch.equal(noisy, corrupt_targets(ids, 0.3, V, seed=1))
    assert not torch.equal(noisy, corrupt_targets(ids, 0.3, V, seed=2))
    with pytest.raises(ValueError, match=r"fraction must be in \[0, 1\]"):
        corrupt_targets(ids, 1.5, V, seed=1)


def test_each_student_trains_as_if_alone():
    # Same batches whatever else trains beside it: a gold student's weights do not depend on
    # its neighbours, and two identical students end identical.
    alone = Student("a", _model(0), Objective(), lr=1e-2)
    train_side_by_side([alone], {}, _ids(), CFG)
    teacher = _model(5, d_model=32)
    crowd = [
        Student("a", _model(0), Objective(), lr=1e-2),
        Student("b", _model(0), Objective(soft=1.0, gold=0.0, temperature=2.0), 1e-2, "t"),
        Student("c", _model(0), Objective(), lr=1e-2),
    ]
    train_side_by_side(crowd, {"t": teacher}, _ids(), CFG)
    for p, q, r in zip(
        alone.model.parameters(), crowd[0].model.parameters(), crowd[2].model.parameters()
    ):
        torch.testing.assert_close(p, q)
        torch.testing.assert_close(q, r)
    assert not torch.equal(crowd[0].model.head.weight, crowd[1].model.head.weight)
    assert len(crowd[1].losses) == CFG.steps


def test_gold_loss_falls_and_teacher_stays_frozen():
    gold = Student("gold", _model(1), Objective(), 1e-2)
    soft = Student("soft", _model(1), Objective(gold=0.0, soft=1.0, temperature=2.0), 1e-2, "t")
    teacher = _model(2)
    before = [p.clone() for p in teacher.parameters()]
    cfg = TrainConfig(steps=40, batch_size=8, lr=1e-2, warmup_steps=2, progress=False)
    train_side_by_side([gold, soft], {"t": teacher}, _ids(), cfg)
    assert sum(gold.losses[-5:]) / 5 < gold.losses[0] * 0.8
    assert sum(soft.losses[-5:]) / 5 < soft.losses[0]  # moves towards the teacher
    for p, q in zip(before, teacher.parameters()):
        assert torch.equal(p, q)


def test_cosine_student_gets_a_projection_to_the_teacher_width():
    student = Student("s", _model(1, d_model=16), Objective(gold=1.0, cosine=1.0), 1e-2, "t")
    train_side_by_side([student], {"t": _model(2, d_model=32)}, _ids(), CFG)
    assert student.projection is not None and student.projection.weight.shape == (32, 16)
    same = Student("s", _model(1, d_model=16), Objective(gold=1.0, cosine=1.0), 1e-2, "t")
    train_side_by_side([same], {"t": _model(2, d_model=16)}, _ids(), CFG)
    assert same.projection is None


def test_noisy_student_reads_the_noisy_targets():
    ids = _ids()
    noisy = corrupt_targets(ids, 1.0, V, seed=3)
    clean = Student("clean", _model(0), Objective(), 1e-2)
    dirty = Student("dirty", _model(0), Objective(), 1e-2, noisy=True)
    train_side_by_side([clean, dirty], {}, ids, CFG, noisy)
    assert not torch.equal(clean.model.head.weight, dirty.model.head.weight)


def test_side_by_side_errors():
    s = Student("s", _model(0), Objective(soft=1.0, gold=0.0), 1e-2, "big")
    with pytest.raises(ValueError, match="teacher 'big', which is not among"):
        train_side_by_side([s], {}, _ids(), CFG)
    twins = [Student("x", _model(0), Objective(), 1e-2), Student("x", _model(1), Objective(), 1e-2)]
    with pytest.raises(ValueError, match="names must be unique"):
        train_side_by_side(twins, {}, _ids(), CFG)
    noisy = Student("n", _model(0), Objective(), 1e-2, noisy=True)
    with pytest.raises(ValueError, match="needs noisy_targets"):
        train_side_by_side([noisy], {}, _ids(), CFG)


def test_students_train_on_the_device_the_config_names(monkeypatch):
    from dataclasses import replace
    from unittest import mock

    from lmlib.training.students import training_device

    with mock.patch.object(torch.cuda, "is_available", return_value=True):
        assert training_device(replace(CFG, device="auto")).type == "cuda"
        assert training_device(replace(CFG, device="cpu")).type == "cpu"
    monkeypatch.delenv("LMLIB_DEVICE", raising=False)
    with mock.patch.object(torch.cuda, "is_available", return_value=False):
        assert training_device(replace(CFG, device="auto")).type == "cpu"
        student = Student("a", _model(0), Objective(), lr=1e-2)
        before = [p.clone() for p in student.model.parameters()]
        with pytest.raises(ValueError, match="CUDA is not available"):
            train_side_by_side([student], {}, _ids(), replace(CFG, device="cuda"))
        assert all(torch.equal(p, q) for p, q in zip(before, student.model.parameters()))
        # on a machine without a GPU, "auto" trains exactly as "cpu" does
        runs = []
        for device in ("cpu", "auto"):
            st = Student("a", _model(0), Objective(), lr=1e-2)
            train_side_by_side([st], {}, _ids(), replace(CFG, device=device))
            runs.append(st)
    for p, q in zip(runs[0].model.parameters(), runs[1].model.parameters()):
        assert p.device.type == "cpu" and torch.equal(p, q)
