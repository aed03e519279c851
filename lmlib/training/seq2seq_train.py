"""Training and scoring a sequence-to-sequence model: teacher-forced loss, greedy decoding.

Works with any model whose ``forward(src (B, S), tgt_in (B, T)) -> logits (B, T, V)`` and that has
``flops_per_example(S, T)``, such as lmlib's EncoderDecoder. The schedule is `lmlib.train`'s:
AdamW, linear warmup then cosine, gradient clipping, from the same TrainConfig.

Dims: N examples, B batch, S input tokens, T target tokens, V vocabulary.
"""

from __future__ import annotations

import time

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm.auto import tqdm

from lmlib.data.seq2seq import BOS, Seq2SeqTask, decoder_input, exact_match, token_accuracy
from lmlib.training.flops import record
from lmlib.training.train import TrainConfig, lr_at


def seq2seq_loss(model: nn.Module, src: Tensor, tgt: Tensor) -> Tensor:
    """Mean cross-entropy per target token, the decoder reading <bos> + tgt shifted right."""
    logits = model(src, decoder_input(tgt))  # (B, T, V)
    return F.cross_entropy(logits.flatten(0, 1).float(), tgt.flatten())


@torch.no_grad()
def greedy_decode(model: nn.Module, src: Tensor, n_tokens: int) -> Tensor:
    """src (B, S) -> (B, n_tokens): each next token the argmax given the tokens so far.

    A model with ``start(src)`` and ``step(tokens, state)`` (lmlib's EncoderDecoder) reads the
    input once and then one new token per step from its KV cache; others rerun in full.
    """
    tgt_in = torch.full((src.shape[0], 1), BOS, dtype=torch.long, device=src.device)
    state = model.start(src) if hasattr(model, "start") else None
    for _ in range(n_tokens):
        if state is None:
            logits = model(src, tgt_in)[:, -1]
        else:
            logits = model.step(tgt_in[:, -1:], state)[:, -1]  # (B, V)
        tgt_in = torch.cat([tgt_in, logits.argmax(dim=-1, keepdim=True)], dim=1)
    return tgt_in[:, 1:]


@torch.no_grad()
def score(model: nn.Module, src: Tensor, tgt: Tensor, batch_size: int = 256) -> dict:
    """Held-out loss (nats per target token), exact match and token accuracy of greedy decoding."""
    was_training = model.training
    model.eval()
    losses, preds = [], []
    for i in range(0, src.shape[0], batch_size):
        s, t = src[i : i + batch_size], tgt[i : i + batch_size]
        losses.append(seq2seq_loss(model, s, t).item() * s.shape[0])
        preds.append(greedy_decode(model, s, t.shape[1]))
    model.train(was_training)
    pred = torch.cat(preds)
    return {
        "loss": sum(losses) / src.shape[0],
        "exact_match": exact_match(pred, tgt),
        "token_accuracy": token_accuracy(pred, tgt),
    }


def train_seq2seq(
    model: nn.Module, task: Seq2SeqTask, cfg: TrainConfig, eval_examples: int = 256
) -> dict:
    """Train on random batches of task's training set; score on the first eval_examples of its
    held-out set every cfg.eval_every steps, and on all of it at the end. Returns the history,
    the training time and FLOPs, and the final scores."""
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    rest = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": rest, "weight_decay": 0}],
        lr=cfg.lr,
        betas=(0.9, cfg.beta2),
    )
    test_src, test_tgt = task.test_src[:eval_examples], task.test_tgt[:eval_examples]
    history = {"step": [], "train_loss": [], "eval_step": [], "val_loss": [], "exact_match": []}
    start, train_time = time.perf_counter(), 0.0
    for step in tqdm(range(cfg.steps), disable=not cfg.progress, desc=task.name):
        for group in opt.param_groups:
            group["lr"] = lr_at(step, cfg)
        src, tgt = task.batch(cfg.batch_size, gen)
        loss = seq2seq_loss(model, src, tgt)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        opt.step()
        history["step"].append(step)
        history["train_loss"].append(loss.item())
        if (step + 1) % cfg.eval_every == 0 and step + 1 < cfg.steps:
            train_time += time.perf_counter() - start
            _log_eval(history, step + 1, score(model, test_src, test_tgt))
            start = time.perf_counter()
    train_time += time.perf_counter() - start
    final = score(model, task.test_src, task.test_tgt)  # the whole held-out set
    _log_eval(history, cfg.steps, final)
    per_example = model.flops_per_example(task.src_len, task.tgt_len)
    flops = per_example * cfg.steps * cfg.batch_size
    record(flops, cfg.steps * cfg.batch_size * (task.src_len + task.tgt_len))
    return {
        "history": history,
        "train_s": train_time,
        "train_flops": flops,
        **final,
    }


def _log_eval(history: dict, step: int, scores: dict) -> None:
    history["eval_step"].append(step)
    history["val_loss"].append(scores["loss"])
    history["exact_match"].append(scores["exact_match"])
