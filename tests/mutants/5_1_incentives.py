"""Plausible wrong answers for lab 5.1; each must score zero. exercise -> {mutant: cell source}."""

_H = "# EXERCISE: {}\nimport torch\n\n"
ER = _H.format("expected_rewards") + "def expected_rewards(p, table):\n"
_RIGHT = '    right = torch.tensor([table["correct"], table["hedged_correct"], table["abstain"]])\n'
_WRONG = '    wrong = torch.tensor([table["wrong"], table["hedged_wrong"], table["abstain"]])\n'
_ER_OK = (
    "def expected_rewards(p, table):\n"
    + _RIGHT
    + _WRONG
    + "    return p[:, None] * right + (1 - p[:, None]) * wrong\n\n\n"
)
OA = _H.format("optimal_action") + _ER_OK + "def optimal_action(p, table):\n"
PG = (
    _H.format("policy_gradient_loss")
    + "def policy_gradient_loss(logits, actions, rewards, baseline):\n"
)
_LOGP = "    logp = logits.log_softmax(dim=-1).gather(-1, actions[:, None])[:, 0]\n"

MUTANTS = {
    "expected_rewards": {
        "p_and_one_minus_p_swapped": ER
        + _RIGHT
        + _WRONG
        + "    return (1 - p[:, None]) * right + p[:, None] * wrong\n",
        "hedge_wrong_uses_unhedged_penalty": ER
        + _RIGHT
        + '    wrong = torch.tensor([table["wrong"], table["wrong"], table["abstain"]])\n'
        + "    return p[:, None] * right + (1 - p[:, None]) * wrong\n",
        "abstain_always_zero": ER
        + '    right = torch.tensor([table["correct"], table["hedged_correct"], 0.0])\n'
        + '    wrong = torch.tensor([table["wrong"], table["hedged_wrong"], 0.0])\n'
        + "    return p[:, None] * right + (1 - p[:, None]) * wrong\n",
        "columns_in_another_order": ER
        + '    right = torch.tensor([table["abstain"], table["hedged_correct"],'
        + ' table["correct"]])\n'
        + '    wrong = torch.tensor([table["abstain"], table["hedged_wrong"], table["wrong"]])\n'
        + "    return p[:, None] * right + (1 - p[:, None]) * wrong\n",
        "transposed": ER
        + _RIGHT
        + _WRONG
        + "    return (p[:, None] * right + (1 - p[:, None]) * wrong).T\n",
        "ignores_wrong_answers": ER + _RIGHT + "    return p[:, None] * right\n",
    },
    "optimal_action": {
        "argmin": OA + "    return expected_rewards(p, table).argmin(dim=-1)\n",
        "hard_coded_threshold": OA + "    return torch.where(p > 0.8, 0, 2)\n",
        "never_hedges": OA
        + "    r = expected_rewards(p, table)\n"
        + "    return torch.where(r[:, 0] > r[:, 2], 0, 2)\n",
        "float_indices": OA + "    return expected_rewards(p, table).argmax(dim=-1).float()\n",
        "names_not_indices": OA
        + '    names = ["answer", "hedge", "abstain"]\n'
        + "    return [names[i] for i in expected_rewards(p, table).argmax(dim=-1).tolist()]\n",
        "best_reward_not_action": OA + "    return expected_rewards(p, table).max(dim=-1).values\n",
    },
    "policy_gradient_loss": {
        "no_minus_sign": PG + _LOGP + "    return ((rewards - baseline) * logp).mean()\n",
        "ignores_baseline": PG + _LOGP + "    return -(rewards * logp).mean()\n",
        "probability_not_log": PG
        + "    prob = logits.softmax(dim=-1).gather(-1, actions[:, None])[:, 0]\n"
        + "    return -((rewards - baseline) * prob).mean()\n",
        "sum_not_mean": PG + _LOGP + "    return -((rewards - baseline) * logp).sum()\n",
        "softmax_over_batch": PG
        + "    logp = logits.log_softmax(dim=0).gather(-1, actions[:, None])[:, 0]\n"
        + "    return -((rewards - baseline) * logp).mean()\n",
        "greedy_action_not_taken_one": PG
        + "    best = logits.argmax(dim=-1)\n"
        + "    logp = logits.log_softmax(dim=-1).gather(-1, best[:, None])[:, 0]\n"
        + "    return -((rewards - baseline) * logp).mean()\n",
        "raw_logits_not_log_softmax": PG
        + "    logp = logits.gather(-1, actions[:, None])[:, 0]\n"
        + "    return -((rewards - baseline) * logp).mean()\n",
    },
}

# The right value with a detached log-prob: no gradient reaches the policy.
MUTANTS["policy_gradient_loss"] |= {
    "detached_log_prob": PG + _LOGP + "    return -((rewards - baseline) * logp.detach()).mean()\n",
}
