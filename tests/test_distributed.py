import json
import os
import socket
import subprocess
import sys
import textwrap

import pytest
import torch

from lmlib import TrainConfig, TransformerConfig, TransformerLM, train
from lmlib.data.shakespeare import get_batch
from lmlib.training import distributed
from lmlib.training.distributed import Ranks, batch_rows, launched

# Run as a script: alone, or as every rank under torchrun. It trains the same model on the same
# data three ways (20 steps straight through; 9 steps then Ctrl-C; the rest resumed from the
# checkpoint) and each rank writes what it saw to rank<R>.json.
WORKER = textwrap.dedent(
    """
    import json, os, signal, sys
    import torch
    from lmlib import TrainConfig, TransformerConfig, TransformerLM, train

    out = sys.argv[1]
    rank = int(os.environ.get("RANK", 0))
    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(0)
    data = torch.where(torch.rand(3000, generator=g) < 0.05,
                       torch.randint(0, 5, (3000,), generator=g), torch.arange(3000) % 5)
    val = torch.arange(600) % 5
    cfg = TrainConfig(steps=20, batch_size=8, lr=3e-3, warmup_steps=4, eval_every=5,
                      eval_batches=2, progress=False, checkpoint_path=os.path.join(out, "run.pt"))

    def model():
        torch.manual_seed(0)
        return TransformerLM(TransformerConfig(vocab_size=5, context=8, d_model=16, n_heads=2,
                                               n_layers=1))

    full_model = model()
    full = train(full_model, data, val, cfg)
    saves = []

    def interrupt_at_9(step, loss):
        saves.append(step)
        if step == 9:
            os.kill(os.getpid(), signal.SIGINT)

    part = train(model(), data, val, cfg, on_step=interrupt_at_9)
    rest = train(model(), data, val, cfg, resume=True)
    with open(os.path.join(out, f"rank{rank}.json"), "w") as f:
        json.dump({"full": full.to_dict(), "part": part.to_dict(), "rest": rest.to_dict(),
                   "on_step_calls": len(saves),
                   "weights": [p.detach().double().sum().item() for p in full_model.parameters()]},
                  f)
    """
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run_worker(tmp_path, nproc: int) -> list[dict]:
    out = tmp_path / f"n{nproc}"
    out.mkdir()
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    env.update(OMP_NUM_THREADS="1", GLOO_SOCKET_IFNAME="lo", LMLIB_DEVICE="cpu")
    cmd = [sys.executable, str(script), str(out)]
    if nproc > 1:
        launcher = ["-m", "torch.distributed.run", f"--nproc_per_node={nproc}", "--nnodes=1"]
        launcher += ["--master_addr=127.0.0.1", f"--master_port={_free_port()}"]
        cmd = [sys.executable, *launcher, str(script), str(out)]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return [json.loads((out / f"rank{r}.json").read_text()) for r in range(nproc)]


@pytest.mark.slow  # starts three Python processes (about a minute on 2 busy cores)
def test_two_gloo_processes_take_the_steps_of_one(tmp_path):
    (one,) = _run_worker(tmp_path, 1)
    rank0, rank1 = _run_worker(tmp_path, 2)
    for key in ("train_loss", "val_loss"):
        assert one["full"][key] == pytest.approx(rank0["full"][key], abs=1e-5)
    assert len(one["full"]["train_loss"]) == 20 and one["full"]["eval_step"] == [5, 10, 15, 20]
    assert rank0["weights"] == pytest.approx(one["weights"], abs=1e-4)
    # every rank returns the same history; rank 0 alone calls on_step
    assert rank1["full"]["train_loss"] == rank0["full"]["train_loss"]
    assert rank1["full"]["val_loss"] == rank0["full"]["val_loss"]
    assert rank0["on_step_calls"] == 9 and rank1["on_step_calls"] == 0
    # Ctrl-C on rank 0 stops both ranks at the same step; resuming finishes the same run
    assert rank0["part"]["interrupted"] and rank1["part"]["interrupted"]
    assert rank0["part"]["step"] == rank1["part"]["step"] == list(range(1, 10))
    assert rank0["rest"]["train_loss"] == pytest.approx(one["full"]["train_loss"], abs=1e-5)
    assert rank0["rest"]["val_loss"] == pytest.approx(one["full"]["val_loss"], abs=1e-5)


def test_launcher_environment_is_read(monkeypatch):
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    assert launched() == Ranks(0, 1, 0) and not launched().parallel
    monkeypatch.setenv("RANK", "3")
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert launched() == Ranks(3, 4, 1) and launched().parallel and not launched().is_main
    assert distributed.backend_for(torch.device("cpu")) == "gloo"
    assert distributed.backend_for(torch.device("cuda", 0)) == "nccl"


def test_ranks_rows_make_up_the_batch():
    assert batch_rows(8, Ranks()) == slice(0, 8)
    assert [batch_rows(8, Ranks(r, 4)) for r in range(4)] == [
        slice(2 * r, 2 * r + 2) for r in range(4)
    ]
    data = torch.arange(500)
    whole, _ = get_batch(data, 8, 16, torch.Generator().manual_seed(1))
    parts = [
        get_batch(data, 8, 16, torch.Generator().manual_seed(1), rows=batch_rows(8, Ranks(r, 2)))[0]
        for r in range(2)
    ]
    assert parts[0].shape == (4, 16) and torch.equal(torch.cat(parts), whole)


def test_batch_that_does_not_divide_is_refused(monkeypatch):
    with pytest.raises(ValueError, match="batch_size=10 does not divide by the 4 processes"):
        batch_rows(10, Ranks(0, 4))
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "3")
    model = TransformerLM(TransformerConfig(vocab_size=5, context=8, d_model=16, n_heads=2))
    cfg = TrainConfig(steps=2, batch_size=8, warmup_steps=1, progress=False)
    with pytest.raises(ValueError, match="multiple of 3"):
        train(model, torch.arange(100) % 5, torch.arange(50) % 5, cfg)


def test_single_process_helpers_are_identities():
    one = Ranks()
    assert distributed.mean_over_ranks(2.5, one) == 2.5 and distributed.from_main(1.5, one) == 1.5
    assert distributed.any_rank(True, one) and not distributed.any_rank(False, one)
    model = torch.nn.Linear(2, 2)
    assert distributed.wrap(model, torch.device("cpu"), one) is model
    assert distributed.local_device(torch.device("cpu"), Ranks(1, 2, 1)) == torch.device("cpu")
