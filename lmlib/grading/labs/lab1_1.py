"""Lab 1.1, next-token prediction: the loss, and turning logits into sampling probabilities.

Dims: B batch, T tokens, V vocabulary.
"""

from __future__ import annotations

import torch

from lmlib.grading.spec import Case, Exercise, draw
from lmlib.training.loss import next_token_loss
from lmlib.training.sampling import sampling_probs

LAB = "1_1_next_token_prediction"


def _randn(rng: torch.Generator, *shape: int, scale: float = 1.0) -> torch.Tensor:
    return torch.randn(*shape, generator=rng) * scale


def _loss_cases(rng: torch.Generator) -> list[Case]:
    cases = []
    for B, T, V, scale, shift in [
        (2, 5, 7, 1.0, 0.0),
        (1, 1, 3, 0.5, 0.0),
        (draw(rng, 2, 4), draw(rng, 9, 33), draw(rng, 2, 60), 4.0, 0.0),  # fresh sizes
        (1, draw(rng, 2, 17), draw(rng, 2, 9), 1.0, 0.0),
        (2, 3, 6, 30.0, 0.0),  # large logits: a naive log(sum(exp)) overflows
        (1, 4, 5, 2.0, 100.0),
    ]:
        targets = torch.randint(0, V, (B, T), generator=rng)
        cases.append(Case((_randn(rng, B, T, V, scale=scale) + shift, targets)))
    return cases


def _probs_cases(rng: torch.Generator) -> list[Case]:
    B, V = draw(rng, 2, 5), draw(rng, 9, 64)
    return [
        Case((_randn(rng, 3, 10, scale=2.0), 0.7, 3)),
        Case((_randn(rng, 2, 6), 1.5, None)),
        Case((_randn(rng, 4, 5), 1.0, 1)),
        Case((_randn(rng, 2, 8, scale=3.0), 2.0, 8)),
        Case((_randn(rng, 2, 7, scale=5.0) + 120.0, 0.7, None)),  # exp overflows unless shifted
        Case((_randn(rng, 3, 6, scale=40.0), 1.0, 4)),
        Case(
            (
                _randn(rng, B, V, scale=2.0),
                0.5 + float(torch.rand((), generator=rng)),
                draw(rng, 1, V),
            )
        ),  # fmt: skip
        Case((_randn(rng, 1, V), 1.0, None)),
        Case((_randn(rng, 1, 1), 0.8, 1)),
    ]


_NO_CE = "compute it from log_softmax (or softmax and log) and the target's entry"

EXERCISES = [
    Exercise(
        name="next_token_loss",
        cases=_loss_cases,
        reference=next_token_loss,
        forbidden={
            "torch.nn.functional.cross_entropy": _NO_CE,
            "torch.nn.functional.nll_loss": _NO_CE,
            "torch.nn.CrossEntropyLoss": _NO_CE,
            "torch.nn.NLLLoss": _NO_CE,
            "torch._C._nn.cross_entropy_loss": _NO_CE,
            "torch._C._nn.nll_loss_nd": _NO_CE,
            "torch._C._nn.nll_loss": _NO_CE,
            "torch._C._nn.nll_loss2d": _NO_CE,
            "torch.ops.aten.cross_entropy_loss": _NO_CE,
            "torch.nn.modules.loss.CrossEntropyLoss": _NO_CE,
        },
        forbidden_ops={"nll_loss_forward": _NO_CE, "nll_loss2d_forward": _NO_CE},
        grads=(0,),
        rules="Return a 0-dim tensor of the logits' dtype that backpropagates to the logits "
        "(its gradient is checked too). F.cross_entropy and F.nll_loss (and their nn classes) "
        "are not allowed; log_softmax, softmax, log and gather are.",
    ),
    Exercise(
        name="sampling_probs",
        cases=_probs_cases,
        reference=sampling_probs,
        rules="Return (B, V) probabilities of the logits' dtype; entries outside the top_k are "
        "exactly 0; ties at the k-th value are all kept.",
    ),
]
