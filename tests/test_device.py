from unittest import mock

import pytest
import torch

from lmlib.runtime import device as dev


def test_prefers_cuda_then_mps_then_cpu(monkeypatch):
    monkeypatch.delenv(dev.DEVICE_ENV, raising=False)
    with mock.patch.object(torch.cuda, "is_available", return_value=True):
        assert dev.pick_device().type == "cuda"
    with (
        mock.patch.object(torch.cuda, "is_available", return_value=False),
        mock.patch.object(dev, "_mps_available", return_value=True),
    ):
        assert dev.pick_device().type == "mps"
    with (
        mock.patch.object(torch.cuda, "is_available", return_value=False),
        mock.patch.object(dev, "_mps_available", return_value=False),
    ):
        assert dev.pick_device().type == "cpu"


def test_override_by_argument_and_environment(monkeypatch):
    with mock.patch.object(torch.cuda, "is_available", return_value=True):
        assert dev.pick_device("cpu").type == "cpu"
        monkeypatch.setenv(dev.DEVICE_ENV, "cpu")
        assert dev.pick_device().type == "cpu"


def test_unavailable_or_unknown_device_is_a_clear_error(monkeypatch):
    monkeypatch.delenv(dev.DEVICE_ENV, raising=False)
    with mock.patch.object(torch.cuda, "is_available", return_value=False):
        with pytest.raises(ValueError, match="CUDA is not available"):
            dev.pick_device("cuda")
    with pytest.raises((ValueError, RuntimeError)):
        dev.pick_device("tpu")


def test_amp_dtype_bf16_where_supported_else_fp16_and_none_on_cpu():
    cuda = torch.device("cuda")
    assert dev.amp_dtype(torch.device("cpu")) is None
    with mock.patch.object(torch.cuda, "is_bf16_supported", return_value=True):
        assert dev.amp_dtype(cuda) is torch.bfloat16
    with mock.patch.object(torch.cuda, "is_bf16_supported", return_value=False):
        assert dev.amp_dtype(cuda) is torch.float16  # a T4: fp16 with a grad scaler
        assert dev.make_grad_scaler(torch.device("cpu")).is_enabled() is False


def test_seed_everything_repeats_every_rng():
    import random

    import numpy as np

    def draw():
        g = dev.seed_everything(7)
        return random.random(), np.random.rand(), torch.rand(3), torch.rand(3, generator=g)

    a, b = draw(), draw()
    assert a[0] == b[0] and a[1] == b[1]
    assert torch.equal(a[2], b[2]) and torch.equal(a[3], b[3])
    with pytest.raises(TypeError):
        dev.seed_everything(1.5)


def test_synchronize_waits_only_for_cuda(monkeypatch):
    waited = []
    monkeypatch.setattr(torch.cuda, "synchronize", lambda d=None: waited.append(str(d)))
    dev.synchronize(torch.device("cpu"))
    assert waited == []  # CPU work is already done when the call returns
    dev.synchronize(torch.device("cuda", 0))
    assert waited == ["cuda:0"]


def test_matmul_flops_counts_two_flops_per_multiply_add(monkeypatch):
    clock = iter(range(0, 1000))  # every perf_counter call advances one "second"
    monkeypatch.setattr(dev.time, "perf_counter", lambda: float(next(clock)))
    assert dev.matmul_flops(torch.device("cpu"), n=8, iters=4) == 2 * 8**3 / (1 / 4)


def test_evaluating_switches_to_eval_and_restores_the_mode_even_on_error():
    import torch

    model = torch.nn.Dropout(0.5).train()
    with dev.evaluating(model):
        assert not model.training
    assert model.training
    model.eval()
    with dev.evaluating(model):
        pass
    assert not model.training
    model.train()
    try:
        with dev.evaluating(model):
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert model.training


def test_torch_threads_sets_and_restores_the_thread_count_even_on_error():
    from lmlib.runtime.device import torch_threads

    before = torch.get_num_threads()
    with torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with pytest.raises(RuntimeError), torch_threads(1):
        raise RuntimeError("boom")
    assert torch.get_num_threads() == before
    with torch_threads(None):
        assert torch.get_num_threads() == before
