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
import torch.nn.functional as F
from torch import Tensor

from lmlib.data.knowledge import KnowledgeBase
from lmlib.data.tokenizer import WordTokenizer
from lmlib.models.transformer import TransformerLM

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


def init_idk(model: TransformerLM, tok: WordTokenizer, kb: KnowledgeBase) -> None:
    """Set IDK's (tied) embedding to the mean of the answer words' embeddings.

    Its logit then starts at the mean of the candidates' logits: never the greedy choice, but
    sampled often enough to be tried, and more often where the model's answers are flat.
    """
    answers = tok.encode([a for r in kb.relations.values() for a in r])
    with torch.no_grad():
        emb = model.tok_emb.weight
        emb[tok.stoi[IDK]] = emb[answers].mean(0)


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
    batch_size: int = 256,
    lr: float = 1e-3,
    seed: int = 0,
) -> list[float]:
    """REINFORCE with a baseline on the questions q, in place: each step samples one choice per
    question of a batch from the model, scores it with `table`, and raises the log-probability of
    choices that beat the batch's mean reward. Returns each step's mean sampled reward."""
    if steps < 0 or batch_size < 1:
        raise ValueError(f"steps must be >= 0 and batch_size >= 1; got {steps}, {batch_size}")
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    n_choices, curve = q["choices"].shape[1], []
    model.train()
    for _ in range(steps):
        rows = torch.randint(len(q["idx"]), (batch_size,), generator=gen)
        batch = {k: v[rows] for k, v in q.items()}
        logp = F.log_softmax(choice_logits(model, batch), dim=-1)  # (B, C + 1)
        with torch.no_grad():
            choice = torch.multinomial(logp.exp(), 1, generator=gen)[:, 0]
            r = choice_rewards(choice, batch["target"], table, n_choices)
        loss = -((r - r.mean()) * logp.gather(-1, choice[:, None])[:, 0]).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        curve.append(float(r.mean()))
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
