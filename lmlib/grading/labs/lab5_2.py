"""Lab 5.2, post-training: per-word log-probabilities of an answer, what was said, the checker,
the policy-gradient loss with a leave-one-out baseline.

Dims: N answers, A answer words (padded with the end word "." = id 0), V vocabulary, K samples
per prompt. Sums are written least significant digit first (47 + 5 = 52: "7 4 + 5 =" -> "2 5 .").
"""

from __future__ import annotations

import torch

from lmlib.grading.spec import Case, Exercise, draw
from lmlib.rewards.sums import answer_logprobs, answer_mask, pg_loss, sum_reward

LAB = "5_2_post_training"
V = 13  # the words of sums: ".", the ten digits, "+", "="


def _logprob_cases(rng: torch.Generator) -> list[Case]:
    cases = []
    for n, a in [(3, 4), (5, 6), (draw(rng, 1, 20), draw(rng, 1, 7)), (1, 1), (4, 3)]:
        logits = torch.randn(n, a, V, generator=rng) * 3
        cases.append(Case((logits, torch.randint(0, V, (n, a), generator=rng))))
    return cases


def _ids_with_ends(rng: torch.Generator, n: int, a: int) -> torch.Tensor:
    """Answers of digits (ids 1-10) that end at a random place, or never (then no 0)."""
    ids = torch.randint(1, 11, (n, a), generator=rng)
    stop = torch.randint(0, a + 1, (n,), generator=rng)  # a: this answer never ends
    for i, s in enumerate(stop.tolist()):
        if s < a:
            ids[i, s] = 0
            tail = torch.randint(0, 13, (a - s - 1,), generator=rng)  # after it: anything
            ids[i, s + 1 :] = tail
    return ids


def _mask_cases(rng: torch.Generator) -> list[Case]:
    fixed = torch.tensor([[3, 6, 0, 0], [0, 5, 0, 2], [1, 2, 3, 4], [8, 0, 9, 0]])
    cases = [Case((fixed,))]
    for n, a in [(6, 5), (draw(rng, 1, 20), draw(rng, 1, 8)), (1, 1), (3, 7)]:
        cases.append(Case((_ids_with_ends(rng, n, a),)))
    return cases


def _mask_twin(case: Case, rng: torch.Generator) -> Case:
    """New answers of the same shape (ids are integers, which the default twin leaves alone)."""
    return Case((_ids_with_ends(rng, *case.args[0].shape),))


def _words(n: int) -> str:
    return " ".join(str(n)[::-1])


def _reward_cases(rng: torch.Generator) -> list[Case]:
    cases = [
        Case(("7 4 + 5 =", "2 5 .")),
        Case(("7 4 + 5 =", "2 5 . 9 9")),  # after "." nothing counts
        Case(("7 4 + 5 =", "5 2 .")),  # most significant digit first: wrong here
        Case(("7 4 + 5 =", "2 5")),  # never ends
        Case(("7 4 + 5 =", "2 5 0 .")),  # a trailing zero is another number's spelling
        Case(("9 9 9 + 1 =", "0 0 0 1 .")),
        Case(("0 + 0 =", "0 .")),
        Case(("3 + 4 =", ". 7")),
    ]
    for _ in range(6):
        a, b = (int(torch.randint(0, 10 ** draw(rng, 1, 4), (), generator=rng)) for _ in "ab")
        right = a + b
        said = right if bool(torch.rand((), generator=rng) < 0.5) else right + draw(rng, 1, 20)
        cases.append(Case((f"{_words(a)} + {_words(b)} =", f"{_words(said)} .")))
    return cases


def _pg_cases(rng: torch.Generator) -> list[Case]:
    cases = []
    for n, k in [(2, 4), (3, 2), (draw(rng, 1, 8), draw(rng, 2, 6)), (1, 8), (4, 3)]:
        logp = -torch.rand(n * k, generator=rng) * 5
        reward = (torch.rand(n * k, generator=rng) < 0.4).float()
        cases.append(Case((logp, reward, k)))
    return cases


EXERCISES = [
    Exercise(
        name="answer_logprobs",
        cases=_logprob_cases,
        reference=answer_logprobs,
        grads=(0,),
        rules="Return an (N, A) float tensor: the log-softmax of each position's logits over the "
        "vocabulary, read at the answer word's id.",
    ),
    Exercise(
        name="answer_mask",
        cases=_mask_cases,
        reference=answer_mask,
        twin=_mask_twin,
        rules="Return an (N, A) bool tensor: True up to and including the first end word (id 0), "
        "False after it; all True for an answer with no end word.",
    ),
    Exercise(
        name="sum_reward",
        cases=_reward_cases,
        reference=sum_reward,
        rules="Return a Python float: 1.0 if the words before the first '.' of the answer are the "
        "sum's digits, least significant first; 0.0 otherwise (also when there is no '.').",
    ),
    Exercise(
        name="pg_loss",
        cases=_pg_cases,
        reference=pg_loss,
        grads=(0,),
        rules="Return a 0-dim tensor: -mean((r - b) log pi) over all N * K answers, where b is the "
        "mean reward of the other K - 1 answers to the same prompt (consecutive groups of K); "
        "the baseline carries no gradient.",
    ),
]
