"""A small LM reads sentences of a knowledge base, then takes a quiz on every fact.

Training is plain next-token prediction on sentences sampled with the knowledge base's Zipf
weights, so head facts are read many times and tail facts rarely or never. The quiz reads the
model's next-word distribution after each fact's prompt, restricted to the relation's candidate
answers: its best candidate is the answer, the candidate's probability is the confidence p.

Dims: N facts, L words per sentence (padded), V vocabulary, C candidate answers per relation.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from lmlib.data.knowledge import KnowledgeBase
from lmlib.data.tokenizer import WordTokenizer
from lmlib.models.transformer import TransformerConfig, TransformerLM
from lmlib.runtime.device import pick_device
from lmlib.training.flops import record, work_flops

IGNORE = -100  # target id of padding positions (cross_entropy skips them)


def encode_facts(kb: KnowledgeBase, tok: WordTokenizer) -> tuple[Tensor, Tensor]:
    """Every fact's sentence as ids (N, L), right-padded with '.', and its answer position (N,)."""
    sentences = [tok.encode(kb.sentence(f)) for f in kb.facts]
    L = max(len(s) for s in sentences)
    pad = tok.encode(["."])[0]
    idx = torch.tensor([s + [pad] * (L - len(s)) for s in sentences])  # (N, L)
    lengths = torch.tensor([len(s) for s in sentences])
    targets = idx.clone()
    targets[torch.arange(L)[None, :] >= lengths[:, None]] = IGNORE
    answer_pos = torch.tensor([len(kb.prompt(f)) for f in kb.facts])
    return torch.stack([idx, targets]), answer_pos


def train_fact_lm(
    kb: KnowledgeBase,
    tok: WordTokenizer,
    cfg: TransformerConfig,
    steps: int,
    batch_size: int = 64,
    lr: float = 3e-3,
    seed: int = 0,
    threads: int | None = 1,
    device: str | torch.device = "cpu",
) -> tuple[TransformerLM, Tensor, list[float]]:
    """Train a TransformerLM on Zipf-sampled sentences; returns it (on the CPU), how many times
    each fact was read (N,), and the loss of every step. Batches this small run fastest on one
    thread (`threads`; None keeps torch's setting); the previous setting is restored afterwards.
    `device` ("cpu", "cuda", "auto": see `pick_device`) is where the steps run; the weights
    start the same and the batches are drawn on the CPU, so a device changes only rounding.

    This loop is not `lmlib.train`, which reads random windows of one token stream: here each
    batch is whole sentences drawn by the Zipf law (so the count of reads per fact is known), the
    loss skips the padding after each sentence, and the learning rate decays linearly to zero so
    that the last steps do not overwrite what the first ones stored.
    """
    if cfg.vocab_size != tok.vocab_size:
        raise ValueError(f"cfg.vocab_size={cfg.vocab_size} but the tokenizer has {tok.vocab_size}")
    (idx, targets), _ = encode_facts(kb, tok)
    if cfg.context < idx.shape[1] - 1:
        raise ValueError(f"context {cfg.context} is shorter than a sentence ({idx.shape[1]} words)")
    dev = pick_device(None if str(device) == "auto" else str(device))
    torch.manual_seed(seed)
    model = TransformerLM(cfg).to(dev)
    idx, targets = idx.to(dev), targets.to(dev)
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    weights, seen = kb.weights(), torch.zeros(len(kb.facts), dtype=torch.long)
    saved, losses = torch.get_num_threads(), []
    torch.set_num_threads(threads or saved)
    try:
        model.train()
        for step in range(steps):
            rows = torch.multinomial(weights, batch_size, replacement=True, generator=gen)
            seen += torch.bincount(rows, minlength=len(kb.facts))
            rows = rows.to(dev)
            logits = model(idx[rows, :-1])  # (B, L-1, V)
            loss = F.cross_entropy(
                logits.flatten(0, 1), targets[rows, 1:].flatten(), ignore_index=IGNORE
            )
            for group in opt.param_groups:  # linear decay: the last steps do not undo memory
                group["lr"] = lr * (1 - step / steps)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            losses.append(loss.item())
    finally:
        torch.set_num_threads(saved)
    T = idx.shape[1] - 1
    record(
        work_flops(model.flops_per_token(T), batch_size * T, steps, 0, 0), steps * batch_size * T
    )
    return model.cpu().eval(), seen, losses


@torch.no_grad()
def answer_confidence(
    model: TransformerLM,
    kb: KnowledgeBase,
    tok: WordTokenizer,
    device: str | torch.device | None = None,
    chunk: int = 4096,
) -> dict:
    """The quiz on every fact: {"p": (N,) confidence, "correct": (N,) bool, "answer": [words]}.

    `chunk` facts a forward pass (their (chunk, L, V) logits at a time), on `device` ("auto":
    see `pick_device`; None: where the model is); the model is back where it was afterwards."""
    (idx, _), pos = encode_facts(kb, tok)
    home = next(model.parameters()).device
    dev = home if device is None else pick_device(None if str(device) == "auto" else str(device))
    at = []  # (n, V) per chunk: the prediction of the answer word
    try:
        model.to(dev)
        for i in range(0, len(idx), chunk):
            logits = model(idx[i : i + chunk].to(dev))  # (n, L, V)
            at.append(logits[torch.arange(len(logits)), pos[i : i + chunk] - 1].float().cpu())
    finally:
        model.to(home)
    at = torch.cat(at)  # (N, V)
    p, correct, answers = [], [], []
    for i, fact in enumerate(kb.facts):
        cands = kb.relations[fact.relation]
        probs = at[i, tok.encode(cands)].softmax(-1)  # (C,) over the relation's answers
        best = int(probs.argmax())
        p.append(float(probs[best]))
        answers.append(cands[best])
        correct.append(cands[best] == fact.answer)
    return {"p": torch.tensor(p), "correct": torch.tensor(correct), "answer": answers}


def frequency_buckets(seen: Tensor, edges: list[int]) -> tuple[Tensor, list[str]]:
    """Bucket each fact by how often it was read: edges [1, 4] -> '0', '1-3', '4+'. Returns
    (N,) bucket ids and the bucket names."""
    if list(edges) != sorted(set(edges)) or not edges or edges[0] < 1:
        raise ValueError(f"edges must be increasing positive counts, got {edges}")
    bounds = [0, *edges]
    names = [
        str(lo) if hi - lo == 1 else f"{lo}-{hi - 1}" for lo, hi in zip(bounds, bounds[1:])
    ] + [f"{bounds[-1]}+"]
    return torch.bucketize(seen, torch.tensor(edges), right=True), names


def calibration(p: Tensor, correct: Tensor, bins: int = 10) -> list[dict]:
    """Reliability table: per confidence bin, the questions in it, mean p and accuracy."""
    which = (p * bins).long().clamp(max=bins - 1)
    rows = []
    for b in range(bins):
        m = which == b
        if m.any():
            rows.append(
                {
                    "lo": b / bins,
                    "n": int(m.sum()),
                    "mean_p": float(p[m].mean()),
                    "accuracy": float(correct[m].float().mean()),
                }
            )
    return rows
