"""The references of lab 3.4 (lmlib/grading/labs/lab3_4.py): what its checks compare against."""

import os

import pytest
import torch

from lmlib.grading.labs import lab3_4
from lmlib.models.transformer import TransformerConfig, TransformerLM
from lmlib.training.flops import LEDGER_ENV


def test_tied_reference_sends_no_head_and_its_weights_still_give_its_logits():
    torch.manual_seed(0)
    ref = lab3_4.TiedLM(11, 6, 8, 2, 2).eval()
    state = ref.state_dict()
    assert "head.weight" not in state and "tok_emb.weight" in state
    tied = TransformerLM(TransformerConfig(11, 6, 8, 2, 2)).eval()
    tied.load_state_dict(state, strict=False)  # the head is the embedding: it comes along
    idx = torch.randint(11, (2, 6))
    with torch.no_grad():
        assert torch.equal(tied(idx), ref(idx))


def _train_case(seed: int):
    return lab3_4._train_cases(torch.Generator().manual_seed(seed))[0].args


def test_training_reference_repeats_itself_and_leaves_torch_as_it_was(tmp_path, monkeypatch):
    ledger = tmp_path / "ledger.jsonl"
    monkeypatch.setenv(LEDGER_ENV, str(ledger))
    args = _train_case(0)
    threads, rng = torch.get_num_threads(), torch.get_rng_state()
    train_losses, val_losses = lab3_4.train_gpt(*args)
    assert len(train_losses) == args[4]["steps"] == 20
    assert len(val_losses) == args[4]["steps"] // args[4]["eval_every"]
    assert (train_losses, val_losses) == lab3_4.train_gpt(*args)  # same seed, same numbers
    assert torch.get_num_threads() == threads and torch.equal(torch.get_rng_state(), rng)
    assert not ledger.exists(), "a check's training must not count as the lab's compute"
    assert os.environ[LEDGER_ENV] == str(ledger)


def test_training_reference_depends_on_the_seed():
    first, second = _train_case(0), _train_case(0)
    second[4]["seed"] = first[4]["seed"] + 1
    assert lab3_4.train_gpt(*first)[0] != lab3_4.train_gpt(*second)[0]


@pytest.mark.parametrize("step, expected", [(0, 0.25e-3), (3, 1e-3), (4, 1e-3), (8, 0.1e-3)])
def test_schedule_is_lmlib_warmup_and_cosine(step, expected):
    run = dict(steps=8, lr=1e-3, warmup_steps=4, min_lr_ratio=0.1)
    assert lab3_4.schedule(step, run) == pytest.approx(expected, rel=1e-9)


def test_sampling_reference_draws_the_same_tokens_from_the_same_seed():
    case = lab3_4._sample_cases(torch.Generator().manual_seed(0))[1]
    config, state, idx, new, temperature, top_k, seed = case.args
    out = lab3_4.sample_gpt(*case.args)
    assert out.shape == (idx.shape[0], idx.shape[1] + new)
    assert torch.equal(out[:, : idx.shape[1]], idx)
    assert torch.equal(out, lab3_4.sample_gpt(*case.args))
    assert not torch.equal(out, lab3_4.sample_gpt(config, state, idx, new, temperature, None, seed))
