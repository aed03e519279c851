"""Reward tables for question answering, and a policy that learns from rewards when to answer.

A model that is asked a question can answer, answer with a hedge ("I think it is ..."), or say
"I don't know". A reward table scores each choice by whether the answer was right. With the model's
confidence p (its probability that its best answer is right) the expected reward of every action is
linear in p, so the best action is decided by thresholds on p that can be derived by hand.
A `ThresholdPolicy` learns such thresholds from sampled rewards alone (REINFORCE).

Dims: N questions, A = 3 actions (answer, hedge, abstain), in that order.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import Tensor, nn

ACTIONS = ("answer", "hedge", "abstain")
ANSWER, HEDGE, ABSTAIN = 0, 1, 2
KEYS = ("correct", "hedged_correct", "abstain", "hedged_wrong", "wrong")

# The table of the "Don't teach. Incentivize." slides (after John Schulman).
PENALTY = {
    "correct": 1.0,
    "hedged_correct": 0.5,
    "abstain": 0.0,
    "hedged_wrong": -2.0,
    "wrong": -4.0,
}
# Accuracy only: a right answer scores 1 (hedged or not), everything else 0.
ACCURACY = {
    "correct": 1.0,
    "hedged_correct": 1.0,
    "abstain": 0.0,
    "hedged_wrong": 0.0,
    "wrong": 0.0,
}
TABLES = {"penalty": PENALTY, "accuracy": ACCURACY}


def reward_rows(table: Mapping[str, float]) -> tuple[Tensor, Tensor]:
    """The rewards of (answer, hedge, abstain) when the answer is right, and when it is wrong."""
    missing = [k for k in KEYS if k not in table]
    if missing:
        raise ValueError(f"reward table lacks {missing}; it needs the keys {KEYS}")
    right = torch.tensor([table["correct"], table["hedged_correct"], table["abstain"]])
    wrong = torch.tensor([table["wrong"], table["hedged_wrong"], table["abstain"]])
    return right.double(), wrong.double()


def expected_rewards(p: Tensor, table: Mapping[str, float]) -> Tensor:
    """Confidence p (N,) -> (N, 3) expected reward of answer, hedge, abstain."""
    right, wrong = reward_rows(table)
    p = p.double()[:, None]  # (N, 1)
    return (p * right + (1 - p) * wrong).to(torch.get_default_dtype())


def optimal_action(p: Tensor, table: Mapping[str, float]) -> Tensor:
    """(N,) -> (N,) int64: the action of highest expected reward (ties: the earlier action)."""
    return expected_rewards(p, table).argmax(dim=-1)


def reward(actions: Tensor, correct: Tensor, table: Mapping[str, float]) -> Tensor:
    """The reward each question earned: actions (N,) int, correct (N,) bool -> (N,) float."""
    right, wrong = reward_rows(table)
    return torch.where(correct, right[actions], wrong[actions]).float()


def crossover(table: Mapping[str, float], a: int, b: int) -> float | None:
    """The confidence p at which actions a and b have the same expected reward (None: parallel).

    E[r_a](p) = w_a + p (c_a - w_a), so they meet at p = (w_b - w_a) / ((c_a - w_a) - (c_b - w_b)).
    """
    right, wrong = reward_rows(table)
    slope = (right[a] - wrong[a]) - (right[b] - wrong[b])
    if abs(float(slope)) < 1e-12:
        return None
    return float((wrong[b] - wrong[a]) / slope)


def decision_regions(table: Mapping[str, float]) -> list[tuple[float, float, str]]:
    """The intervals of p in [0, 1] on which each action is optimal: [(lo, hi, action), ...]."""
    cuts = {0.0, 1.0}
    for a in range(3):
        for b in range(a + 1, 3):
            p = crossover(table, a, b)
            if p is not None and 0 < p < 1:
                cuts.add(round(p, 12))
    cuts = sorted(cuts)
    mids = torch.tensor([(lo + hi) / 2 for lo, hi in zip(cuts, cuts[1:])])
    best = optimal_action(mids, table).tolist()
    regions: list[tuple[float, float, str]] = []
    for (lo, hi), act in zip(zip(cuts, cuts[1:]), best):
        if regions and regions[-1][2] == ACTIONS[act]:
            regions[-1] = (regions[-1][0], hi, ACTIONS[act])
        else:
            regions.append((lo, hi, ACTIONS[act]))
    return regions


def thresholds(table: Mapping[str, float]) -> dict[str, float | None]:
    """For each action, the lowest confidence at which it is optimal (None: it never is)."""
    lows = {act: lo for lo, _, act in reversed(decision_regions(table))}
    return {act: lows.get(act) for act in ACTIONS}


def speak_threshold(table: Mapping[str, float]) -> float:
    """The lowest confidence at which answering or hedging beats "I don't know" (1.0: never)."""
    return next((lo for lo, _, act in decision_regions(table) if act != "abstain"), 1.0)


def best_threshold(
    p: Tensor, correct: Tensor, table: Mapping[str, float], grid: int = 201
) -> float:
    """The cut t of "answer when p > t, else abstain" that earns the most reward on these
    questions: what the hand derivation gives when p is not calibrated."""
    cuts = torch.linspace(0, 1, grid)
    right, wrong = reward_rows(table)
    r_answer = torch.where(correct, right[ANSWER], wrong[ANSWER])  # (N,)
    totals = torch.stack([torch.where(p > t, r_answer, right[ABSTAIN]).sum() for t in cuts])
    return float(cuts[totals.argmax()])


def policy_gradient_loss(
    logits: Tensor, actions: Tensor, rewards: Tensor, baseline: float | Tensor = 0.0
) -> Tensor:
    """REINFORCE: logits (N, A), actions (N,), rewards (N,) -> -mean((r - b) log pi(a)), 0-dim.

    Its gradient raises the log-probability of actions that did better than the baseline.
    """
    logp = F.log_softmax(logits, dim=-1).gather(-1, actions[:, None])[:, 0]  # (N,)
    return -((rewards - baseline) * logp).mean()


class ThresholdPolicy(nn.Module):
    """A softmax policy over (answer, hedge, abstain) whose logits are linear in the confidence.

    Linear logits mean each action wins on one interval of p: exactly the shape of the
    hand-derived rule, but the policy has to find the intervals from rewards.
    """

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(1, len(ACTIONS))
        nn.init.zeros_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)

    def forward(self, p: Tensor) -> Tensor:
        """(N,) -> (N, 3) logits."""
        return self.linear(4 * (p[:, None].float() - 0.5))  # centred and scaled for Adam

    @torch.no_grad()
    def greedy(self, p: Tensor) -> Tensor:
        """(N,) -> (N,) the most probable action."""
        return self(p).argmax(dim=-1)

    def speak_threshold(self, grid: int = 1001) -> float:
        """The lowest p on a grid over [0, 1] where the greedy choice is not to abstain."""
        ps = torch.linspace(0, 1, grid)
        speaks = (self.greedy(ps) != ABSTAIN).nonzero()
        return float(ps[speaks[0, 0]]) if len(speaks) else 1.0

    def learned_thresholds(self, grid: int = 1001) -> dict[str, float | None]:
        """For each action, the lowest p on a grid over [0, 1] where it is the greedy choice."""
        ps = torch.linspace(0, 1, grid)
        acts = self.greedy(ps)
        out: dict[str, float | None] = {}
        for i, name in enumerate(ACTIONS):
            hits = (acts == i).nonzero()
            out[name] = float(ps[hits[0, 0]]) if len(hits) else None
        return out


def train_policy(
    policy: ThresholdPolicy,
    p: Tensor,
    correct: Tensor,
    table: Mapping[str, float],
    steps: int = 1000,
    batch_size: int = 256,
    lr: float = 0.05,
    seed: int = 0,
) -> list[float]:
    """REINFORCE on questions (p (N,), correct (N,) bool): the only feedback is the reward.

    Each step draws a batch of questions, samples actions from the policy, scores them with
    `table` and follows the policy gradient with the batch's mean reward as the baseline.
    Returns the mean reward of each step's sampled actions.
    """
    if p.shape != correct.shape or p.dim() != 1:
        raise ValueError(f"p and correct must both be (N,); got {p.shape} and {correct.shape}")
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(policy.parameters(), lr=lr)
    curve = []
    for _ in range(steps):
        idx = torch.randint(len(p), (batch_size,), generator=gen)
        logits = policy(p[idx])  # (batch, 3)
        with torch.no_grad():
            acts = torch.multinomial(logits.softmax(-1), 1, generator=gen)[:, 0]
        r = reward(acts, correct[idx], table)
        loss = policy_gradient_loss(logits, acts, r, r.mean())
        opt.zero_grad()
        loss.backward()
        opt.step()
        curve.append(float(r.mean()))
    return curve


def by_bucket(
    actions: Tensor, correct: Tensor, bucket: Tensor, table: Mapping[str, float], names: list[str]
) -> list[dict]:
    """Per bucket: questions, mean reward, and the shares answered, hedged, abstained and wrong.

    "error" counts every answer given (hedged or not) that was wrong, out of all questions.
    """
    r = reward(actions, correct, table)
    rows = []
    for i, name in enumerate(names):
        m = bucket == i
        n = int(m.sum())

        def share(x: Tensor, m: Tensor = m) -> float:
            return float(x[m].float().mean()) if m.any() else float("nan")

        rows.append(
            {
                "bucket": name,
                "n": n,
                "reward": share(r),
                "answer": share(actions == ANSWER),
                "hedge": share(actions == HEDGE),
                "abstain": share(actions == ABSTAIN),
                "error": share((actions != ABSTAIN) & ~correct),
                "model_accuracy": share(correct),
            }
        )
    return rows
