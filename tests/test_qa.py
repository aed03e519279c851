"""Reward tables, the hand-derived thresholds, the policy-gradient loss, and a trained policy."""

import pytest
import torch

from lmlib.rewards import qa as inc


def test_expected_rewards_by_hand():
    p = torch.tensor([0.0, 0.5, 1.0])
    got = inc.expected_rewards(p, inc.PENALTY)
    # answer: p - 4 (1 - p); hedge: 0.5 p - 2 (1 - p); abstain: 0
    want = torch.tensor([[-4.0, -2.0, 0.0], [-1.5, -0.75, 0.0], [1.0, 0.5, 0.0]])
    torch.testing.assert_close(got, want)
    torch.testing.assert_close(inc.expected_rewards(p, inc.ACCURACY)[:, 0], p)


def test_penalty_table_thresholds_match_the_hand_derivation():
    # answer = abstain at 5p - 4 = 0, hedge = abstain at 2.5p - 2 = 0, answer = hedge at 2.5p = 2:
    # all three lines meet at p = 4/5, so hedging is never strictly best under this table.
    for a, b in [(0, 2), (1, 2), (0, 1)]:
        assert inc.crossover(inc.PENALTY, a, b) == pytest.approx(0.8)
    assert inc.decision_regions(inc.PENALTY) == [(0.0, 0.8, "abstain"), (0.8, 1.0, "answer")]
    assert inc.thresholds(inc.PENALTY) == {"answer": 0.8, "hedge": None, "abstain": 0.0}
    assert inc.speak_threshold(inc.PENALTY) == pytest.approx(0.8)


def test_accuracy_table_always_answers():
    assert inc.decision_regions(inc.ACCURACY) == [(0.0, 1.0, "answer")]
    assert inc.thresholds(inc.ACCURACY)["abstain"] is None
    assert inc.speak_threshold(inc.ACCURACY) == 0.0
    assert inc.speak_threshold(dict(inc.PENALTY, correct=-1.0, hedged_correct=-1.0)) == 1.0


def test_a_milder_hedge_penalty_opens_a_hedging_band():
    # hedged wrong -1: hedge beats abstain above 2/3, answer beats hedge above 6/7
    regions = inc.decision_regions(dict(inc.PENALTY, hedged_wrong=-1.0))
    assert [r[2] for r in regions] == ["abstain", "hedge", "answer"]
    assert regions[1][0] == pytest.approx(2 / 3) and regions[1][1] == pytest.approx(6 / 7)


def test_optimal_action_and_reward():
    p = torch.tensor([0.1, 0.79, 0.81, 0.99])
    assert inc.optimal_action(p, inc.PENALTY).tolist() == [2, 2, 0, 0]
    assert inc.optimal_action(p, inc.ACCURACY).tolist() == [0, 0, 0, 0]
    acts = torch.tensor([0, 0, 1, 1, 2])
    correct = torch.tensor([True, False, True, False, False])
    assert inc.reward(acts, correct, inc.PENALTY).tolist() == [1.0, -4.0, 0.5, -2.0, 0.0]


def test_bad_table_is_refused():
    with pytest.raises(ValueError, match="hedged_wrong"):
        inc.expected_rewards(torch.rand(3), {"correct": 1, "wrong": 0, "abstain": 0})


def test_policy_gradient_loss_value_and_gradient():
    logits = torch.tensor([[0.0, 0.0, 0.0], [1.0, 0.0, -1.0]], requires_grad=True)
    acts, r = torch.tensor([0, 2]), torch.tensor([1.0, -1.0])
    loss = inc.policy_gradient_loss(logits, acts, r, baseline=0.5)
    logp = torch.log_softmax(logits.detach(), -1)
    want = -(0.5 * logp[0, 0] - 1.5 * logp[1, 2]) / 2
    assert loss.item() == pytest.approx(want.item(), rel=1e-6)
    loss.backward()
    assert logits.grad[0, 0] < 0 and logits.grad[1, 2] > 0  # descent raises a[0], lowers a[1]


def _questions(n=4000, seed=0):
    """Calibrated synthetic confidences: an answer with confidence p is right with chance p."""
    g = torch.Generator().manual_seed(seed)
    p = torch.rand(n, generator=g)
    return p, torch.rand(n, generator=g) < p


def test_trained_policy_learns_the_thresholds_from_rewards():
    p, correct = _questions()
    policy = inc.ThresholdPolicy()
    inc.train_policy(policy, p, correct, inc.PENALTY, steps=100, batch_size=256, seed=0)
    learned = policy.learned_thresholds()
    assert learned["answer"] == pytest.approx(0.8, abs=0.08)  # band for the ci-sized run
    assert policy.speak_threshold() == pytest.approx(0.8, abs=0.08)
    assert policy.greedy(torch.tensor([0.2, 0.5])).tolist() == [2, 2]
    acc = inc.ThresholdPolicy()
    inc.train_policy(acc, p, correct, inc.ACCURACY, steps=100, batch_size=256, seed=0)
    assert (acc.greedy(torch.linspace(0.05, 1, 20)) != inc.ABSTAIN).all()
    assert acc.speak_threshold() < 0.05


def test_train_policy_is_seeded():
    p, correct = _questions(500)
    runs = []
    for _ in range(2):
        policy = inc.ThresholdPolicy()
        runs.append(inc.train_policy(policy, p, correct, inc.PENALTY, steps=20, seed=3))
    assert runs[0] == runs[1]
    with pytest.raises(ValueError, match="both be"):
        inc.train_policy(policy, p, correct[:10], inc.PENALTY)


def test_by_bucket_counts_errors_and_abstentions():
    acts = torch.tensor([0, 0, 2, 1])
    correct = torch.tensor([True, False, False, False])
    rows = inc.by_bucket(acts, correct, torch.tensor([0, 0, 1, 1]), inc.PENALTY, ["head", "tail"])
    assert rows[0] | {"reward": 0} == rows[0] | {
        "bucket": "head",
        "n": 2,
        "reward": 0,
        "answer": 1.0,
        "hedge": 0.0,
        "abstain": 0.0,
        "error": 0.5,
        "model_accuracy": 0.5,
    }
    assert rows[0]["reward"] == pytest.approx(-1.5)
    assert rows[1]["abstain"] == 0.5 and rows[1]["error"] == 0.5 and rows[1]["reward"] == -1.0
