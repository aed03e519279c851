import contextlib
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


GPUS = {  # name: compute capability
    "Tesla T4": (7, 5),
    "NVIDIA A100-SXM4-40GB": (8, 0),
    "NVIDIA H100 80GB HBM3": (9, 0),
}


@contextlib.contextmanager
def fake_gpu(name: str):
    """CUDA reports one GPU of this name and compute capability (the tests run on a CPU)."""
    with (
        mock.patch.object(torch.cuda, "is_available", return_value=True),
        mock.patch.object(torch.cuda, "get_device_capability", return_value=GPUS[name]),
        mock.patch.object(torch.cuda, "get_device_name", return_value=name),
        mock.patch.object(torch.cuda, "is_bf16_supported", return_value=True),  # as on a T4
    ):
        yield


@pytest.mark.parametrize(
    "name, dtype, scaled",
    [
        ("Tesla T4", torch.float16, True),
        ("NVIDIA A100-SXM4-40GB", torch.bfloat16, False),
        ("NVIDIA H100 80GB HBM3", torch.bfloat16, False),
    ],
)
def test_precision_by_gpu_generation(name, dtype, scaled):
    cuda = torch.device("cuda")
    with fake_gpu(name):
        choice = dev.precision(cuda)
        assert choice.dtype is dtype and dev.amp_dtype(cuda) is dtype
        assert choice.scaler is scaled
        assert dev.make_grad_scaler(cuda).is_enabled() is scaled
    major, minor = GPUS[name]
    assert f"compute capability {major}.{minor}" in choice.reason
    assert choice.describe().startswith("fp16 with a grad scaler, because" if scaled else "bf16,")


def test_no_gpu_trains_in_fp32_without_a_scaler():
    for kind in ("cpu", "mps"):
        choice = dev.precision(torch.device(kind))
        assert choice.dtype is None and not choice.scaler and kind in choice.reason
        assert choice.describe().startswith("fp32, because")
    cpu = torch.device("cpu")
    assert dev.amp_dtype(cpu) is None and dev.make_grad_scaler(cpu).is_enabled() is False
    assert isinstance(dev.autocast(cpu), contextlib.nullcontext)


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
