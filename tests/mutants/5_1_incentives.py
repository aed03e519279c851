"""Plausible wrong answers for lab 5.1; each must score zero. exercise -> {mutant: cell source}."""

import runpy
from pathlib import Path

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

# Wrong in one way each, by class (tests/test_grading_mutants.py KINDS).
_WRAP = runpy.run_path(str(Path(__file__).with_name("_kinds.py")))
LAB = "5_1_incentives"
_ROWS = """\
    correct, hedged_correct, abstain, hedged_wrong, wrong = table.values()  # in KEYS order
    right = torch.tensor([correct, hedged_correct, abstain])
    wrong = torch.tensor([wrong, hedged_wrong, abstain])
"""
MUTANTS["expected_rewards"] |= {
    "const_relies_on_dict_order": ER
    + _ROWS
    + "    return p[:, None] * right + (1 - p[:, None]) * wrong\n",
    "inplace_fills_in_the_table": ER
    + """\
    table.setdefault("hedge_abstain", table["abstain"])  # one more entry, for later
"""
    + _RIGHT
    + _WRONG
    + "    return p[:, None] * right + (1 - p[:, None]) * wrong\n",
    "edge_stack_of_no_rows": ER
    + _RIGHT
    + _WRONG
    + "    return torch.stack([q * right + (1 - q) * wrong for q in p])  # one row per question\n",
    "sizes_squeeze_one_question": ER
    + _RIGHT
    + _WRONG
    + "    q = p.squeeze()[..., None]\n"
    + "    return (q * right + (1 - q) * wrong).squeeze()\n",
    "stale_cache_by_shape": _WRAP["wrapped"](
        LAB,
        "expected_rewards",
        """\
_seen = {}


def expected_rewards(p, table):
    key = (p.shape, tuple(sorted(table.items())))
    if key not in _seen:  # one answer per table and batch size
        _seen[key] = _right(p, table)
    return _seen[key]
""",
    ),
    "nograd_rebuilt_from_floats": ER
    + _RIGHT
    + _WRONG
    + "    return torch.tensor([(q * right + (1 - q) * wrong).tolist() for q in p.tolist()])\n",
    "dtype_float64": _WRAP["cast"](LAB, "expected_rewards", "float64"),
}
MUTANTS["optimal_action"] |= {
    "const_relies_on_dict_order": OA.replace(_ER_OK, _ER_OK.replace(_RIGHT + _WRONG, _ROWS))
    + "    return expected_rewards(p, table).argmax(dim=-1)\n",
    "inplace_rounds_the_confidences": OA
    + """\
    with torch.no_grad():
        p.mul_(1000).round_().div_(1000)  # three decimals are plenty
    return expected_rewards(p, table).argmax(dim=-1)
""",
    "stale_cache_by_shape": _WRAP["wrapped"](
        OA + "    return expected_rewards(p, table).argmax(dim=-1)\n",
        "optimal_action",
        """\
_seen = {}


def optimal_action(p, table):
    key = (p.shape, tuple(sorted(table.items())))
    if key not in _seen:
        _seen[key] = _right(p, table)
    return _seen[key]
""",
    ),
    "dtype_int32": OA + "    return expected_rewards(p, table).argmax(dim=-1).int()\n",
    "sizes_squeeze_one_question": OA
    + "    return expected_rewards(p, table).argmax(dim=-1).squeeze()\n",
}
MUTANTS["policy_gradient_loss"] |= {
    "inplace_subtract_the_baseline": PG
    + _LOGP
    + """\
    rewards -= baseline  # advantages, in place
    return -(rewards * logp).mean()
""",
    "stale_cache_by_shape": _WRAP["stale"](LAB, "policy_gradient_loss"),
    "dtype_float64": _WRAP["cast"](LAB, "policy_gradient_loss", "float64"),
    "nograd_from_item": _WRAP["from_item"](LAB, "policy_gradient_loss"),
    "sizes_squeeze_one_question": PG
    + "    logp = logits.log_softmax(dim=-1).gather(-1, actions[:, None]).squeeze()\n"
    + "    return -((rewards - baseline) * logp).sum() / logp.shape[0]\n",
}

# Right answers written another way: each must score full marks.
MUST_PASS = {
    "expected_rewards": {
        "outer_products": ER
        + _RIGHT
        + _WRONG
        + "    return torch.outer(p, right - wrong) + wrong\n",
    },
    "optimal_action": {
        "ties_go_to_the_safer_action": OA
        + """\
    r = expected_rewards(p, table)
    return 2 - r.flip(-1).argmax(dim=-1)  # of equal rewards, the most cautious action
""",
        "ties_to_the_earlier_action": OA + "    return expected_rewards(p, table).argmax(dim=-1)\n",
    },
    "policy_gradient_loss": {
        "cross_entropy_weighted": PG
        + """\
    import torch.nn.functional as F

    nll = F.cross_entropy(logits, actions, reduction="none")  # -log pi(a)
    return ((rewards - baseline) * nll).mean()
""",
    },
}
