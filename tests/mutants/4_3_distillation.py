"""Plausible wrong answers for lab 4.3; each must score zero. exercise -> {mutant: cell source}.

Several of them give the right value and the wrong gradient: only the backward-pass check sees
them (a teacher that is not detached, a loss rebuilt from a Python float)."""

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
