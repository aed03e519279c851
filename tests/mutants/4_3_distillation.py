"""Plausible wrong answers for lab 4.3; each must score zero. exercise -> {mutant: cell source}.

Several of them give the right value and the wrong gradient: only the backward-pass check sees
them (a teacher that is not detached, a loss rebuilt from a Python float)."""

import runpy
from pathlib import Path

_H = "# EXERCISE: {}\nimport torch\nimport torch.nn.functional as F\n\n"
SC = (
    _H.format("soft_cross_entropy")
    + "def soft_cross_entropy(student_logits, teacher_logits, temperature):\n"
)
_P_T = "    p_t = (teacher_logits.detach() / temperature).softmax(dim=-1)\n"
_LOGP_S = "    logp_s = (student_logits / temperature).log_softmax(dim=-1)\n"
CS = (
    _H.format("cosine_state_loss")
    + "def cosine_state_loss(student_states, teacher_states, weight):\n"
)
_PROJ = "    h = student_states if weight is None else student_states @ weight.T\n"
SG = (
    _H.format("soft_and_gold_loss")
    + "def soft_and_gold_loss(student_logits, targets, teacher_logits, alpha, temperature):\n"
    + "    T = temperature\n"
)
_GOLD = "    gold = F.cross_entropy(student_logits.flatten(0, 1), targets.flatten())\n"
_SOFT = (
    "    p_t = (teacher_logits.detach() / T).softmax(dim=-1)\n"
    "    soft = -(p_t * (student_logits / T).log_softmax(dim=-1)).sum(-1).mean() * T**2\n"
)

MUTANTS = {
    "soft_cross_entropy": {
        "no_T_squared": SC + _P_T + _LOGP_S + "    return -(p_t * logp_s).sum(-1).mean()\n",
        "T_not_T_squared": SC
        + _P_T
        + _LOGP_S
        + "    return -(p_t * logp_s).sum(-1).mean() * temperature\n",
        "softens_only_the_student": SC
        + "    p_t = teacher_logits.detach().softmax(dim=-1)\n"
        + _LOGP_S
        + "    return -(p_t * logp_s).sum(-1).mean() * temperature**2\n",
        "softens_only_the_teacher": SC
        + _P_T
        + "    logp_s = student_logits.log_softmax(dim=-1)\n"
        + "    return -(p_t * logp_s).sum(-1).mean() * temperature**2\n",
        "teacher_not_detached": SC
        + "    p_t = (teacher_logits / temperature).softmax(dim=-1)\n"
        + _LOGP_S
        + "    return -(p_t * logp_s).sum(-1).mean() * temperature**2\n",
        "sum_over_positions": SC
        + _P_T
        + _LOGP_S
        + "    return -(p_t * logp_s).sum() * temperature**2\n",
        "roles_swapped": SC
        + "    p_s = (student_logits / temperature).softmax(dim=-1)\n"
        + "    logp_t = (teacher_logits.detach() / temperature).log_softmax(dim=-1)\n"
        + "    return -(p_s * logp_t).sum(-1).mean() * temperature**2\n",
        "loses_the_graph": SC
        + _P_T
        + _LOGP_S
        + "    return torch.tensor(-(p_t * logp_s).sum(-1).mean().item() * temperature**2)\n",
    },
    "cosine_state_loss": {
        "cosine_not_one_minus": CS
        + _PROJ
        + "    return F.cosine_similarity(h, teacher_states.detach(), dim=-1).mean()\n",
        "ignores_the_projection": CS
        + "    cos = F.cosine_similarity(student_states, teacher_states.detach(), dim=-1)\n"
        + "    return (1 - cos).mean()\n",
        "projection_transposed": CS
        + "    h = student_states if weight is None else student_states @ weight\n"
        + "    return (1 - F.cosine_similarity(h, teacher_states.detach(), dim=-1)).mean()\n",
        "cosine_over_time": CS
        + _PROJ
        + "    return (1 - F.cosine_similarity(h, teacher_states.detach(), dim=1)).mean()\n",
        "dot_not_cosine": CS
        + _PROJ
        + "    return (1 - (h * teacher_states.detach()).sum(-1)).mean()\n",
        "teacher_not_detached": CS
        + _PROJ
        + "    return (1 - F.cosine_similarity(h, teacher_states, dim=-1)).mean()\n",
        "loses_the_graph": CS
        + _PROJ
        + "    cos = F.cosine_similarity(h, teacher_states.detach(), dim=-1)\n"
        + "    return torch.tensor((1 - cos).mean().item())\n",
    },
    "soft_and_gold_loss": {
        "alpha_on_gold": SG + _GOLD + _SOFT + "    return (1 - alpha) * soft + alpha * gold\n",
        "no_T_squared": SG
        + _GOLD
        + "    p_t = (teacher_logits.detach() / T).softmax(dim=-1)\n"
        + "    soft = -(p_t * (student_logits / T).log_softmax(dim=-1)).sum(-1).mean()\n"
        + "    return alpha * soft + (1 - alpha) * gold\n",
        "gold_at_temperature": SG
        + "    gold = F.cross_entropy((student_logits / T).flatten(0, 1), targets.flatten())\n"
        + _SOFT
        + "    return alpha * soft + (1 - alpha) * gold\n",
        "teacher_not_detached": SG
        + _GOLD
        + "    p_t = (teacher_logits / T).softmax(dim=-1)\n"
        + "    soft = -(p_t * (student_logits / T).log_softmax(dim=-1)).sum(-1).mean() * T**2\n"
        + "    return alpha * soft + (1 - alpha) * gold\n",
        "plain_sum": SG + _GOLD + _SOFT + "    return soft + gold\n",
        "loses_the_graph": SG
        + _GOLD
        + _SOFT
        + "    return torch.tensor((alpha * soft + (1 - alpha) * gold).item())\n",
    },
}

# Wrong in one way each, by class (tests/test_grading_mutants.py KINDS).
_WRAP = runpy.run_path(str(Path(__file__).with_name("_kinds.py")))
LAB = "4_3_distillation"
MUTANTS["soft_cross_entropy"] |= {
    "sizes_first_eight_positions": SC
    + "    student_logits, teacher_logits = student_logits[:, :8], teacher_logits[:, :8]\n"
    + _P_T
    + _LOGP_S
    + "    return -(p_t * logp_s).sum(dim=-1).mean() * temperature**2\n",
    "inplace_soften_the_teacher": SC
    + """\
    with torch.no_grad():
        teacher_logits /= temperature  # soften in place
    p_t = teacher_logits.detach().softmax(dim=-1)
"""
    + _LOGP_S
    + "    return -(p_t * logp_s).sum(dim=-1).mean() * temperature**2\n",
    "stale_cache_by_shape": _WRAP["stale"](LAB, "soft_cross_entropy"),
    "dtype_float64": _WRAP["cast"](LAB, "soft_cross_entropy", "float64"),
    "nograd_under_no_grad": _WRAP["no_grad"](LAB, "soft_cross_entropy"),
}
MUTANTS["cosine_state_loss"] |= {
    "sizes_project_only_between_widths": CS
    + """\
    h = student_states
    if weight is not None and student_states.shape[-1] != teacher_states.shape[-1]:
        h = student_states @ weight.T  # equal widths need no projection
    return (1 - F.cosine_similarity(h, teacher_states.detach(), dim=-1)).mean()
""",
    "inplace_normalise_the_teacher": CS
    + _PROJ
    + """\
    with torch.no_grad():
        teacher_states /= teacher_states.norm(dim=-1, keepdim=True)  # unit vectors, in place
    return (1 - F.cosine_similarity(h, teacher_states.detach(), dim=-1)).mean()
""",
    "stale_cache_by_shape": _WRAP["stale"](LAB, "cosine_state_loss"),
    "dtype_float64": _WRAP["cast"](LAB, "cosine_state_loss", "float64"),
    "nograd_from_item": _WRAP["from_item"](LAB, "cosine_state_loss"),
}
MUTANTS["soft_and_gold_loss"] |= {
    "sizes_one_position_per_sequence": SG
    + _SOFT
    + "    gold = F.cross_entropy(student_logits[:, 0], targets[:, 0])  # the next token only\n"
    + "    return alpha * soft + (1 - alpha) * gold\n",
    "inplace_soften_the_teacher": SG
    + """\
    with torch.no_grad():
        teacher_logits /= T
    p_t = teacher_logits.detach().softmax(dim=-1)
    soft = -(p_t * (student_logits / T).log_softmax(dim=-1)).sum(dim=-1).mean() * T**2
"""
    + _GOLD
    + "    return alpha * soft + (1 - alpha) * gold\n",
    "stale_cache_by_shape": _WRAP["stale"](LAB, "soft_and_gold_loss"),
    "dtype_float64": _WRAP["cast"](LAB, "soft_and_gold_loss", "float64"),
    "nograd_under_no_grad": _WRAP["no_grad"](LAB, "soft_and_gold_loss"),
}

# Right answers written another way: each must score full marks.
MUST_PASS = {
    "soft_cross_entropy": {
        "kl_plus_teacher_entropy": SC
        + """\
    T = temperature
    logp_t = (teacher_logits.detach() / T).log_softmax(dim=-1)
    logp_s = (student_logits / T).log_softmax(dim=-1)
    kl = F.kl_div(logp_s, logp_t, log_target=True, reduction="none").sum(dim=-1)
    entropy = -(logp_t.exp() * logp_t).sum(dim=-1)
    return (kl + entropy).mean() * T * T
""",
    },
    "cosine_state_loss": {
        "normalise_then_dot": CS
        + _PROJ
        + """\
    t = teacher_states.detach()
    cos = (h * t).sum(-1) / (h.norm(dim=-1) * t.norm(dim=-1)).clamp(min=1e-8)
    return 1 - cos.mean()
""",
    },
    "soft_and_gold_loss": {
        "nll_of_log_softmax": SG
        + _SOFT
        + """\
    logp = student_logits.log_softmax(dim=-1)
    gold = -logp.gather(-1, targets[..., None]).mean()
    return alpha * soft + (1 - alpha) * gold
""",
    },
}
