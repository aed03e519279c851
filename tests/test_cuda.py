"""The CUDA paths, on a GPU only (skipped elsewhere): mixed precision, the fp16 grad scaler,
fused AdamW, torch.compile, the KV cache, and GPU logits against CPU logits.

Run them with `python -m pytest -m cuda tests/test_cuda.py` (scripts/gpu_check.sh does).
"""

import warnings
from unittest import mock

import pytest
import torch

from lmlib import TrainConfig, TransformerConfig, TransformerLM, generate, train
from lmlib.runtime import device as dev
from lmlib.training.train import _optimizer

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
]

CUDA = torch.device("cuda")
MODEL = TransformerConfig(vocab_size=11, context=32, d_model=64, n_heads=4, n_layers=2)


def model(cfg: TransformerConfig = MODEL) -> TransformerLM:
    torch.manual_seed(0)
    return TransformerLM(cfg)


def corpus(n: int = 4000) -> torch.Tensor:
    return torch.arange(n) % MODEL.vocab_size  # a cycle the model learns in a few steps


def cfg(**kw) -> TrainConfig:
    base = dict(steps=30, batch_size=16, lr=3e-3, warmup_steps=3, eval_every=10, eval_batches=2)
    return TrainConfig(**{**base, "device": "cuda", "progress": False, **kw})


def test_bf16_autocast_training_step_learns():
    if dev.precision(CUDA).dtype != torch.bfloat16:
        pytest.skip(f"this GPU trains in fp16: {dev.precision(CUDA).reason}")
    assert dev.amp_dtype(CUDA) == torch.bfloat16 and not dev.make_grad_scaler(CUDA).is_enabled()
    m = model()
    h = train(m, corpus(), corpus(800), cfg())
    assert all(p.dtype == torch.float32 and p.device.type == "cuda" for p in m.parameters())
    assert torch.isfinite(torch.tensor(h.train_loss)).all()
    assert h.val_loss[-1] < 0.5 * h.val_loss[0]


def test_fp16_with_grad_scaler_learns():
    as_t4 = dev.Precision(torch.float16, "as on a T4")
    with mock.patch.object(dev, "precision", return_value=as_t4):
        assert dev.make_grad_scaler(CUDA).is_enabled()
        h = train(model(), corpus(), corpus(800), cfg())
    assert torch.isfinite(torch.tensor(h.train_loss)).all()
    assert h.val_loss[-1] < 0.5 * h.val_loss[0]


def test_fused_adamw_matches_the_reference_step():
    a, b = model().to(CUDA), model().to(CUDA)
    fused = _optimizer(a, cfg(), CUDA)
    assert fused.defaults["fused"]
    index = {id(p): i for i, p in enumerate(a.parameters())}
    twins = list(b.parameters())
    groups = [
        {"params": [twins[index[id(p)]] for p in g["params"]], "weight_decay": g["weight_decay"]}
        for g in fused.param_groups
    ]
    betas = fused.defaults["betas"]
    plain = torch.optim.AdamW(groups, lr=3e-3, betas=betas, fused=False, foreach=False)
    x = corpus()[: 4 * 33].view(4, 33).to(CUDA)
    for m, opt in ((a, fused), (b, plain)):
        for _ in range(3):
            loss = torch.nn.functional.cross_entropy(m(x[:, :-1]).flatten(0, 1), x[:, 1:].flatten())
            opt.zero_grad()
            loss.backward()
            opt.step()
    for pa, pb in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(pa, pb, rtol=1e-4, atol=1e-5)


def test_compiled_training_runs_without_falling_back():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a fallback to eager warns
        compiled = train(model(), corpus(), corpus(800), cfg(steps=10, compile=True))
    eager = train(model(), corpus(), corpus(800), cfg(steps=10))
    assert compiled.train_loss == pytest.approx(eager.train_loss, rel=2e-2, abs=2e-2)


def test_kv_cache_decodes_the_uncached_tokens_on_gpu():
    m = model().to(CUDA)
    prompt = torch.tensor([[1, 2, 3, 4]], device=CUDA)
    cached = generate(m, prompt, 20, temperature=0, cache=True)
    uncached = generate(m, prompt, 20, temperature=0, cache=False)
    assert cached.device.type == "cuda" and torch.equal(cached, uncached)


def test_gpu_logits_match_cpu_logits():
    cpu = model()
    gpu = model().to(CUDA)
    idx = torch.randint(
        0, MODEL.vocab_size, (4, MODEL.context), generator=torch.Generator().manual_seed(1)
    )
    want = cpu(idx)
    with mock.patch.object(torch.backends.cuda.matmul, "allow_tf32", False):
        got = gpu(idx.to(CUDA)).float().cpu()
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4)
    with dev.autocast(CUDA):  # bf16 (or fp16): a few parts in a hundred
        low = gpu(idx.to(CUDA)).float().cpu()
    torch.testing.assert_close(low, want, rtol=5e-2, atol=5e-2)


def test_fact_lm_trains_on_the_gpu_as_on_the_cpu():
    from lmlib.analysis import quiz
    from lmlib.data.knowledge import KnowledgeBase
    from lmlib.data.tokenizer import WordTokenizer

    kb = KnowledgeBase(40, seed=0)
    tok = WordTokenizer(kb.vocabulary())
    cfg = TransformerConfig(tok.vocab_size, context=8, d_model=32, n_heads=2, n_layers=1)
    cpu = quiz.train_fact_lm(kb, tok, cfg, steps=20, batch_size=16)
    gpu = quiz.train_fact_lm(kb, tok, cfg, steps=20, batch_size=16, device="cuda")
    assert torch.equal(cpu[1], gpu[1])  # the same batches
    # fp32 on both; TF32 or kernel order moves the losses by rounding only
    assert gpu[2] == pytest.approx(cpu[2], rel=1e-3)


def test_sums_pretrain_and_every_arm_run_on_the_gpu():
    from lmlib.experiments import sft_vs_rl
    from lmlib.rewards import sums

    s = sft_vs_rl.settings("ci")
    torch.manual_seed(0)
    model = TransformerLM(sft_vs_rl.model_config(s)).to(CUDA)
    gen = torch.Generator().manual_seed(0)
    losses = sft_vs_rl.pretrain(model, s["pre_mix"], 20, 16, 3e-3, gen)
    assert losses[-1] < losses[0]
    demos = sums.problems(16, sft_vs_rl.TRAIN_DIGITS, gen)
    for arm in sft_vs_rl.ARMS:
        tuned, log = sft_vs_rl.finetune(arm, model, demos, s, torch.Generator().manual_seed(1))
        assert next(tuned.parameters()).is_cuda and log["flops"] > 0
        assert 0 <= sums.accuracy(tuned, *demos, sums.tokenizer()) <= 1
