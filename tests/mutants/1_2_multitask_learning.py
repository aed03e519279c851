"""Plausible wrong answers for lab 1.2; each must score zero. exercise -> {mutant: cell source}."""

import runpy
from pathlib import Path

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

# Wrong in one way each, by class (tests/test_grading_mutants.py KINDS).
_WRAP = runpy.run_path(str(Path(__file__).with_name("_kinds.py")))
LAB = "1_2_multitask_learning"
MUTANTS["shares_and_losses"] |= {
    "sizes_nine_tokens_at_most": SPLIT
    + "    losses, labels = losses[:, :9], labels[:, :9]  # the examples' sequences\n"
    + _FLAT
    + """\
    counts = torch.bincount(labels, minlength=n_tasks).double()
    sums = torch.bincount(labels, weights=losses, minlength=n_tasks)
    return counts / labels.numel(), sums / counts.clamp(min=1)
""",
    "edge_only_the_tasks_present": SPLIT
    + _FLAT
    + """    tasks, counts = labels.unique(return_counts=True)  # one entry per task that occurs
    sums = torch.zeros(len(tasks), dtype=torch.float64).index_add_(
        0, torch.searchsorted(tasks, labels), losses
    )
    return counts.double() / labels.numel(), sums / counts
""",
    "inplace_sort_to_group": SPLIT
    + """    flat_labels, flat_losses = labels.view(-1), losses.view(-1)
    order = flat_labels.argsort(stable=True)  # group tokens by task, in the caller's memory
    flat_labels.copy_(flat_labels[order].clone())
    flat_losses.copy_(flat_losses[order].clone())
    counts = torch.bincount(flat_labels, minlength=n_tasks).double()
    sums = torch.bincount(flat_labels, weights=flat_losses.double(), minlength=n_tasks)
    return counts / flat_labels.numel(), sums / counts.clamp(min=1)
""",
    "stale_cache_by_shape": _WRAP["stale"](LAB, "shares_and_losses"),
    "dtype_float32": _WRAP["cast"](LAB, "shares_and_losses", "float32", "[1]"),
}
MUTANTS["exact_match"] |= {
    "sizes_first_eight_tokens": EXACT
    + """    correct = logits[:, :8].argmax(dim=-1) == targets[:, :8]
    return (correct | ~answer[:, :8]).all(dim=1)
""",
    "inplace_reuse_the_mask": EXACT
    + """    wrong = logits.argmax(dim=-1) != targets
    answer &= wrong  # the answer tokens that are wrong, in the mask's own memory
    return ~answer.any(dim=1)
""",
    "stale_cache_by_shape": _WRAP["stale"](LAB, "exact_match"),
    "dtype_uint8": _WRAP["cast"](LAB, "exact_match", "uint8"),
    "dtype_float_share": EXACT
    + """    correct = logits.argmax(dim=-1) == targets
    return (correct | ~answer).float().prod(dim=1)  # 1.0 where all are right
""",
}

# Right answers written another way: each must score full marks.
MUST_PASS = {
    "shares_and_losses": {
        "a_loop_over_tasks": SPLIT
        + """    shares, means = [], []
    for task in range(n_tasks):
        mine = labels == task
        n = int(mine.sum())
        shares.append(n / labels.numel())
        means.append(float(losses[mine].double().sum()) / n if n else 0.0)
    return torch.tensor(shares, dtype=torch.float64), torch.tensor(means, dtype=torch.float64)
""",
        "one_hot_matmul": SPLIT
        + """    onehot = torch.nn.functional.one_hot(labels.flatten(), n_tasks).double()  # (N, K)
    counts = onehot.sum(dim=0)
    sums = losses.flatten().double() @ onehot
    return counts / counts.sum(), torch.where(counts > 0, sums / counts.clamp(min=1), 0.0)
""",
    },
    "exact_match": {
        "where_then_all": EXACT
        + """    right = logits.argmax(dim=-1).eq(targets)
    return torch.where(answer, right, torch.ones_like(right)).all(dim=-1)
""",
    },
}
