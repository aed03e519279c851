import math

import pytest
import torch

from lmlib.analysis.skills import CHAR_TASKS, char_task_labels, decompose_loss


def codes(text):
    return torch.tensor([ord(c) for c in text])


def test_char_labels():
    text = "ROMEO:\nO, she"
    prev, target = codes(text[:-1]), codes(text[1:])
    labels = [CHAR_TASKS[i] for i in char_task_labels(prev, target)]
    # R->O spelling, O->M, M->E, E->O spelling; O->: punct; :->\n punct; \n->O line start;
    # O->, punct; ,->space punct; space->s word choice; s->h, h->e spelling
    assert (
        labels
        == ["spelling"] * 4
        + ["punctuation and spacing"] * 2
        + ["line start"]
        + ["punctuation and spacing"] * 2
        + ["word choice"]
        + ["spelling"] * 2
    )


def test_share_weighted_sum_equals_overall_mean():
    g = torch.Generator().manual_seed(0)
    losses = torch.rand(6, 50, generator=g) * 4
    labels = torch.randint(0, 4, (6, 50), generator=g)
    parts = decompose_loss(losses, labels, CHAR_TASKS)
    assert sum(p.share for p in parts) == pytest.approx(1.0)
    assert sum(p.share * p.loss for p in parts) == pytest.approx(
        losses.double().mean().item(), rel=1e-12
    )
    assert sum(p.count for p in parts) == 300
    assert parts[2].loss == pytest.approx(losses[labels == 2].mean().item(), rel=1e-6)


def test_empty_task_and_bad_labels():
    parts = decompose_loss(torch.ones(3), torch.tensor([0, 0, 1]), ("a", "b", "c"))
    assert parts[2].count == 0 and parts[2].share == 0 and math.isnan(parts[2].loss)
    with pytest.raises(ValueError, match="labels"):
        decompose_loss(torch.ones(2), torch.tensor([0, 5]), ("a", "b"))
    with pytest.raises(ValueError):
        decompose_loss(torch.ones(2), torch.tensor([0]), ("a",))
