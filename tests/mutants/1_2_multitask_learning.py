"""Plausible wrong answers for lab 1.2; each must score zero. exercise -> {mutant: cell source}."""

_H = "# EXERCISE: {}\nimport torch\n\n"
SPLIT = _H.format("shares_and_losses") + "def shares_and_losses(losses, labels, n_tasks):\n"
EXACT = _H.format("exact_match") + "def exact_match(logits, targets, answer):\n"
_FLAT = "    losses, labels = losses.flatten().double(), labels.flatten()\n"

MUTANTS = {
    "shares_and_losses": {
        "counts_not_shares": SPLIT
        + _FLAT
        + """\
    counts = torch.bincount(labels, minlength=n_tasks).double()
    sums = torch.bincount(labels, weights=losses, minlength=n_tasks)
    return counts, sums / counts.clamp(min=1)
""",
        "sums_not_means": SPLIT
        + _FLAT
        + """\
    counts = torch.bincount(labels, minlength=n_tasks).double()
    sums = torch.bincount(labels, weights=losses, minlength=n_tasks)
    return counts / labels.numel(), sums
""",
        "divides_by_all_tokens": SPLIT
        + _FLAT
        + """\
    counts = torch.bincount(labels, minlength=n_tasks).double()
    sums = torch.bincount(labels, weights=losses, minlength=n_tasks)
    return counts / labels.numel(), sums / labels.numel()
""",
        "uniform_shares": SPLIT
        + _FLAT
        + """\
    counts = torch.bincount(labels, minlength=n_tasks).double()
    sums = torch.bincount(labels, weights=losses, minlength=n_tasks)
    return torch.full((n_tasks,), 1 / n_tasks, dtype=torch.float64), sums / counts.clamp(min=1)
""",
        "overall_mean_for_every_task": SPLIT
        + _FLAT
        + """\
    counts = torch.bincount(labels, minlength=n_tasks).double()
    means = torch.full((n_tasks,), losses.mean().item(), dtype=torch.float64)
    return counts / labels.numel(), means
""",
        "off_by_one_labels": SPLIT
        + _FLAT
        + """\
    labels = (labels + 1) % n_tasks
    counts = torch.bincount(labels, minlength=n_tasks).double()
    sums = torch.bincount(labels, weights=losses, minlength=n_tasks)
    return counts / labels.numel(), sums / counts.clamp(min=1)
""",
    },
    "exact_match": {
        "any_not_all": EXACT
        + """\
    correct = logits.argmax(dim=-1) == targets
    return (correct & answer).any(dim=1)
""",
        "ignores_answer_mask": EXACT
        + """\
    return (logits.argmax(dim=-1) == targets).all(dim=1)
""",
        "fraction_not_bool": EXACT
        + """\
    correct = (logits.argmax(dim=-1) == targets) & answer
    return correct.sum(dim=1) / answer.sum(dim=1)
""",
        "argmax_over_time": EXACT
        + """\
    correct = logits.argmax(dim=1, keepdim=True) == targets[:, :1]
    return (correct.expand_as(targets) | ~answer).all(dim=1)
""",
        "last_token_only": EXACT
        + """\
    return logits[:, -1].argmax(dim=-1) == targets[:, -1]
""",
        "mean_over_items": EXACT
        + """\
    correct = logits.argmax(dim=-1) == targets
    return (correct | ~answer).all(dim=1).float().mean()
""",
    },
}
