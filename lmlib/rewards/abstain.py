"""A language model that learns to say "I don't know": its own weights, tuned by a reward table.

The fact LM of `lmlib.analysis.quiz` gets one more word, IDK ("I don't know"), that never occurs
in its training text. Asked a question, it chooses among the relation's C candidate answers and
IDK, with the probabilities its own next-word logits give them. REINFORCE with a baseline then
tunes every weight of the model from the reward of its sampled choices alone: the model is never
shown its confidence, the count of times it read a fact, or which answers are right.

Dims: N questions, L words per sentence (padded), C candidate answers per relation, C + 1 choices
(the candidates, then IDK last).
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor

from lmlib.data.knowledge import KnowledgeBase
from lmlib.data.tokenizer import WordTokenizer
from lmlib.models.transformer import TransformerLM
from lmlib.rewards.qa import policy_gradient_loss

IDK = "idk"  # the answer word for "I don't know"


def vocabulary(kb: KnowledgeBase) -> list[str]:
    """The knowledge base's words and IDK, last."""
    words = kb.vocabulary()
    if IDK in words:
        raise ValueError(f"the knowledge base already uses the word {IDK!r}")
    return [*words, IDK]


def questions(kb: KnowledgeBase, tok: WordTokenizer) -> dict[str, Tensor]:
    """Every fact as a question: prompt ids "idx" (N, L) (right-padded; the answer is read at
    "pos" - 1, so what follows never matters to a causal model), the ids of its choices
    "choices" (N, C + 1) and the index of the right one "target" (N,)."""
    if IDK not in tok.stoi:
        raise ValueError(f"the tokenizer lacks {IDK!r}; build it from abstain.vocabulary(kb)")
    prompts = [tok.encode(kb.prompt(f)) for f in kb.facts]
    L = max(map(len, prompts))
    pad = tok.encode(["."])[0]
    idx = torch.tensor([p + [pad] * (L - len(p)) for p in prompts])  # (N, L)
    cands = [kb.relations[f.relation] for f in kb.facts]
    choices = torch.tensor([tok.encode([*c, IDK]) for c in cands])  # (N, C + 1)
    target = torch.tensor([c.index(f.answer) for c, f in zip(cands, kb.facts)])
    pos = torch.tensor([len(p) for p in prompts])
    return {"idx": idx, "pos": pos, "choices": choices, "target": target}


def choice_logits(model: TransformerLM, q: Mapping[str, Tensor]) -> Tensor:
    """(N, C + 1) the model's logits of each question's choices, at the answer's position."""
    logits = model(q["idx"])  # (N, L, V)
    at = logits[torch.arange(len(q["idx"])), q["pos"] - 1]  # (N, V)
    return at.gather(-1, q["choices"])


@torch.no_grad()
def init_idk(model: TransformerLM, q: Mapping[str, Tensor], margin: float = 0.5) -> float:
    """Give IDK an embedding at which it is never the model's first choice on the questions q,
    but falls at most `margin` (in logits) short of it on the question where it comes closest.

    The embedding is the mean of the candidate answers' embeddings (its logit then follows the
    mean candidate logit) plus s times the mean final hidden state u, with the largest s that
    keeps the margin (where u lowers IDK's logit, it only moves further below). Unseen in
    training, IDK would otherwise start with a probability too small ever to be sampled.
    Returns s.
    """
    emb = model.tok_emb.weight  # tied: row i is also the output direction of word i
    idk = q["choices"][0, -1]
    emb[idk] = emb[q["choices"][:, :-1].unique()].mean(0)
    hidden = []
    hook = model.norm.register_forward_hook(lambda m, i, out: hidden.append(out))
    try:
        logits = choice_logits(model, q)  # (N, C + 1)
    finally:
        hook.remove()
    h = hidden[0][torch.arange(len(q["idx"])), q["pos"] - 1]  # (N, D)
    u = h.mean(0)
    lift = h @ u  # (N,) how much one unit of s raises IDK's logit (where it is > 0)
    gap = logits[:, :-1].max(-1).values - logits[:, -1] - margin  # (N,)
    up = lift > 0
    s = float((gap[up] / lift[up]).min().clamp(min=0)) if up.any() else 0.0
    emb[idk] += s * u
    return s


def choice_rewards(
    choice: Tensor, target: Tensor, table: Mapping[str, float], n_choices: int
) -> Tensor:
    """Reward of each choice (N,) given the right index (N,), out of n_choices = C + 1: IDK (the
    last index) earns table["abstain"], the right answer table["correct"], any other
    table["wrong"]."""
    if choice.shape != target.shape:
        raise ValueError(f"choice {tuple(choice.shape)} and target {tuple(target.shape)} differ")
    missing = [k for k in ("correct", "wrong", "abstain") if k not in table]
    if missing:
        raise ValueError(f"reward table lacks {missing}; it needs correct, wrong and abstain")
    right = torch.where(choice == target, table["correct"], table["wrong"])
    return torch.where(choice == n_choices - 1, table["abstain"], right).float()


def finetune(
    model: TransformerLM,
    q: Mapping[str, Tensor],
    table: Mapping[str, float],
    steps: int,
    batch_size: int = 64,
    samples: int = 8,
    lr: float = 1e-4,
    seed: int = 0,
    threads: int | None = 1,
) -> list[float]:
    """REINFORCE with a baseline on the questions q, in place. Each step draws `batch_size`
    questions, samples `samples` choices for each from the model, scores them with `table`, and
    raises the log-probability of the choices that beat the mean reward of the other samples of
    the same question (a leave-one-out baseline). Returns each step's mean sampled reward.
    Batches this small run fastest on one thread (`threads`; None keeps torch's setting)."""
    if steps < 0 or batch_size < 1 or samples < 2:
        raise ValueError(
            f"need steps >= 0, batch_size >= 1, samples >= 2; got {steps}, {batch_size}, {samples}"
        )
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    n_choices, curve, saved = q["choices"].shape[1], [], torch.get_num_threads()
    torch.set_num_threads(threads or saved)
    model.train()
    try:
        for _ in range(steps):
            rows = torch.randint(len(q["idx"]), (batch_size,), generator=gen)
            batch = {k: v[rows] for k, v in q.items()}
            logits = choice_logits(model, batch)  # (B, C + 1)
            with torch.no_grad():
                choice = torch.multinomial(logits.softmax(-1), samples, True, generator=gen)
                target = batch["target"][:, None].expand_as(choice)  # (B, samples)
                r = choice_rewards(choice, target, table, n_choices)
                baseline = (r.sum(1, keepdim=True) - r) / (samples - 1)  # the other samples
            loss = policy_gradient_loss(
                logits.repeat_interleave(samples, 0), choice.flatten(), r.flatten(),
                baseline.flatten(),
            )  # fmt: skip
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            curve.append(float(r.mean()))
    finally:
        torch.set_num_threads(saved)
        model.eval()
    return curve


@torch.no_grad()
def greedy(model: TransformerLM, q: Mapping[str, Tensor]) -> Tensor:
    """(N,) the most probable choice of each question (C means IDK)."""
    return choice_logits(model, q).argmax(-1)


def ranks(x: Tensor) -> Tensor:
    """(N,) -> (N,) ranks 1..N, tied values sharing their mean rank."""
    order = x.double().argsort()
    r = torch.empty(len(x), dtype=torch.float64)
    r[order] = torch.arange(1, len(x) + 1, dtype=torch.float64)
    values, inverse = torch.unique(x, return_inverse=True)
    sums = torch.zeros(len(values), dtype=torch.float64).index_add_(0, inverse, r)
    counts = torch.bincount(inverse, minlength=len(values)).double()
    return (sums / counts)[inverse]


def spearman(x: Tensor, y: Tensor) -> float:
    """Spearman's rank correlation of x (N,) and y (N,), ties at their mean rank (nan: constant)."""
    if x.shape != y.shape or x.dim() != 1 or len(x) < 2:
        raise ValueError(
            f"x and y must be (N,) with N >= 2; got {tuple(x.shape)}, {tuple(y.shape)}"
        )
    rx, ry = ranks(x), ranks(y)
    rx, ry = rx - rx.mean(), ry - ry.mean()
    denom = (rx.square().sum() * ry.square().sum()).sqrt()
    return float((rx * ry).sum() / denom) if denom > 0 else float("nan")
