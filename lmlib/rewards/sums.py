"""Sums with a checker: imitation (supervised fine-tuning) against reward (REINFORCE).

A sum is written word by word, every number least significant digit first, as in
`lmlib.data.multitask` (47 + 5 = 52 reads ``7 4 + 5 = 2 5 .``); the answer is the digits of the
sum and the end word ".". The checker is exact: an answer earns 1 if its words before the first
"." are the sum's digits, else 0. The same small GPT can then learn the task from worked
demonstrations (`sft_step`, cross-entropy on the answer) or from that reward alone on prompts
without answers (`rl_step`, REINFORCE with a leave-one-out baseline).

Dims: N problems, P prompt words, A answer words (padded with "."), V vocabulary, K samples.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from lmlib.data.tokenizer import WordTokenizer
from lmlib.models.transformer import TransformerLM

END = "."
WORDS = [END, *"0123456789", "+", "="]


def tokenizer() -> WordTokenizer:
    """The 13 words of sums: "." (id 0), the digits 0-9 (ids 1-10), "+" and "="."""
    return WordTokenizer(WORDS)


def problems(
    n: int, digits: int, gen: torch.Generator, digits_b: int | None = None
) -> tuple[Tensor, Tensor]:
    """n sums a + b (N,), (N,) of a `digits`-digit and a `digits_b`-digit number (default: as
    many digits; no leading zero, 1 digit allows 0)."""
    digits_b = digits if digits_b is None else digits_b
    if n < 0 or min(digits, digits_b) < 1:
        raise ValueError(f"need n >= 0 and digits >= 1, got n={n}, digits={digits}, {digits_b}")
    lo = lambda d: 0 if d == 1 else 10 ** (d - 1)  # noqa: E731
    a = torch.randint(lo(digits), 10**digits, (n,), generator=gen)
    return a, torch.randint(lo(digits_b), 10**digits_b, (n,), generator=gen)


def _reversed_digits(x: int) -> list[str]:
    return list(str(x)[::-1])


def prompts(a: Tensor, b: Tensor, tok: WordTokenizer) -> Tensor:
    """(N,), (N,) numbers of one length -> (N, P) ids of ``a + b =``, digits reversed."""
    rows = [tok.encode([*_reversed_digits(x), "+", *_reversed_digits(y), "="]) for x, y in
            zip(a.tolist(), b.tolist())]  # fmt: skip
    if len({len(r) for r in rows}) > 1:
        raise ValueError("prompts of one batch need numbers of one length (see problems)")
    return torch.tensor(rows, dtype=torch.long).reshape(len(rows), -1)


def answers(a: Tensor, b: Tensor, tok: WordTokenizer, width: int) -> Tensor:
    """(N,), (N,) -> (N, width) ids of the right answers: the sum's digits reversed, then "."
    up to `width` words."""
    rows = [_reversed_digits(x + y) + [END] for x, y in zip(a.tolist(), b.tolist())]
    if rows and max(map(len, rows)) > width:
        raise ValueError(f"width {width} is too short for answers of {max(map(len, rows))} words")
    return torch.tensor([tok.encode(r + [END] * (width - len(r))) for r in rows]).reshape(-1, width)


def answer_width(digits: int) -> int:
    """Words an answer to a `digits`-digit sum may need: digits + 1 (a carry out) and "."."""
    return digits + 2


def width_for(a: Tensor, b: Tensor) -> int:
    """The answer width for the sums a + b (N,): enough for the longest number's carry."""
    return answer_width(len(str(int(torch.maximum(a, b).max()))))


def answer_mask(answer_ids: Tensor, end_id: int = 0) -> Tensor:
    """(N, A) ids -> (N, A) bool: the words up to and including the first end word (what was
    said; the rest is padding)."""
    is_end = (answer_ids == end_id).long()
    return (is_end.cumsum(-1) - is_end) == 0  # no end word strictly before this one


def answer_logprobs(logits: Tensor, answer_ids: Tensor) -> Tensor:
    """logits (N, A, V) that predict each answer word, answer_ids (N, A) -> (N, A) the
    log-probability the model gave each of those words."""
    if logits.shape[:2] != answer_ids.shape:
        raise ValueError(
            f"logits {tuple(logits.shape)} must be (N, A, V) for answer_ids "
            f"{tuple(answer_ids.shape)}"
        )
    return F.log_softmax(logits.float(), dim=-1).gather(-1, answer_ids[..., None])[..., 0]


def rewards(answer_ids: Tensor, target_ids: Tensor, end_id: int = 0) -> Tensor:
    """(N, A), (N, A) -> (N,) float: 1 where every word up to the target's end word matches
    (an answer that stops early, runs on or errs in one digit earns 0)."""
    if answer_ids.shape != target_ids.shape:
        raise ValueError(f"answers {tuple(answer_ids.shape)} and targets {tuple(target_ids.shape)}")
    said = answer_mask(target_ids, end_id)
    return ((answer_ids == target_ids) | ~said).all(-1).float()


def sum_reward(prompt: str, answer: str) -> float:
    """The checker on words: prompt ``"7 4 + 5 ="``, answer ``"2 5 ."`` -> 1.0 (47 + 5 = 52);
    0.0 for any other answer, including one with no "." (what follows the first "." is ignored)."""
    words = prompt.split()
    if words.count("+") != 1 or words[-1:] != ["="]:
        raise ValueError(f"a prompt reads like '7 4 + 5 =', got {prompt!r}")
    plus = words.index("+")
    a, b = ("".join(w[::-1]) for w in (words[:plus], words[plus + 1 : -1]))
    if not (a.isdigit() and b.isdigit()):
        raise ValueError(f"a prompt's numbers are digits separated by spaces, got {prompt!r}")
    said = answer.split()
    if END not in said:
        return 0.0
    return float(said[: said.index(END)] == _reversed_digits(int(a) + int(b)))


@torch.no_grad()
def generate_answers(
    model: TransformerLM,
    prompt_ids: Tensor,
    width: int,
    temperature: float = 0.0,
    gen: torch.Generator | None = None,
) -> Tensor:
    """(N, P) prompts -> (N, width) answers, greedy (temperature 0) or sampled; after the first
    end word every word is the end word. Uses the model's KV cache."""
    was_training = model.training
    model.eval()
    cache, out = model.new_cache(), []
    logits = model(prompt_ids, cache=cache)[:, -1]  # (N, V)
    done = torch.zeros(len(prompt_ids), dtype=torch.bool, device=prompt_ids.device)
    for _ in range(width):
        if temperature == 0:
            nxt = logits.argmax(-1)
        else:
            probs = (logits.float() / temperature).softmax(-1)
            nxt = torch.multinomial(probs.cpu(), 1, generator=gen)[:, 0].to(prompt_ids.device)
        nxt = torch.where(done, 0, nxt)
        done |= nxt == 0
        out.append(nxt)
        if len(out) < width:
            logits = model(nxt[:, None], cache=cache)[:, -1]
    model.train(was_training)
    return torch.stack(out, 1)


def sequence_logprob(model: TransformerLM, prompt_ids: Tensor, answer_ids: Tensor) -> Tensor:
    """(N, P), (N, A) -> (N,) log-probability of each answer given its prompt (words after the
    first end word do not count)."""
    P = prompt_ids.shape[1]
    logits = model(torch.cat([prompt_ids, answer_ids], 1)[:, :-1])[:, P - 1 :]  # (N, A, V)
    return (answer_logprobs(logits, answer_ids) * answer_mask(answer_ids)).sum(-1)


def sft_step(model: TransformerLM, opt, prompt_ids: Tensor, answer_ids: Tensor) -> float:
    """One step of supervised fine-tuning: mean cross-entropy of the demonstrated answers' words
    (up to their end word). Returns the loss."""
    P = prompt_ids.shape[1]
    logits = model(torch.cat([prompt_ids, answer_ids], 1)[:, :-1])[:, P - 1 :]  # (N, A, V)
    mask = answer_mask(answer_ids)
    loss = -(answer_logprobs(logits, answer_ids) * mask).sum() / mask.sum()
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return loss.item()


def pg_loss(logp: Tensor, reward: Tensor, samples: int) -> Tensor:
    """REINFORCE with a leave-one-out baseline: logp, reward (N * K,) in groups of K = `samples`
    answers to one prompt -> -mean((r - b) log pi(answer)), b the mean reward of the group's
    other answers."""
    if samples < 2 or len(reward) % samples:
        raise ValueError(f"need samples >= 2 dividing {len(reward)} answers, got {samples}")
    r = reward.reshape(-1, samples)
    baseline = (r.sum(1, keepdim=True) - r) / (samples - 1)  # (N, K)
    return -((r - baseline).flatten().detach() * logp).mean()


def rl_step(
    model: TransformerLM, opt, a: Tensor, b: Tensor, tok: WordTokenizer, samples: int, gen
) -> float:
    """One REINFORCE step on the problems a, b (N,): `samples` sampled answers each, scored by
    the checker, on the model's device. Returns the mean reward of the samples."""
    width, dev = width_for(a, b), next(model.parameters()).device
    p = prompts(a, b, tok).repeat_interleave(samples, 0).to(dev)  # (N * K, P)
    target = answers(a, b, tok, width).repeat_interleave(samples, 0).to(dev)
    said = generate_answers(model, p, width, temperature=1.0, gen=gen)
    r = rewards(said, target)
    if r.std() > 0:  # all equal: every advantage is zero, nothing to learn
        loss = pg_loss(sequence_logprob(model, p, said), r, samples)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return float(r.mean())


@torch.no_grad()
def accuracy(model: TransformerLM, a: Tensor, b: Tensor, tok: WordTokenizer) -> float:
    """Share of the sums a + b (N,) the model answers exactly right, greedily (on the model's
    device)."""
    width, dev = width_for(a, b), next(model.parameters()).device
    said = generate_answers(model, prompts(a, b, tok).to(dev), width)
    return float(rewards(said, answers(a, b, tok, width).to(dev)).mean())
