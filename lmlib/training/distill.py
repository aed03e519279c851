"""Distillation objectives: what a student can copy from a teacher, one loss per signal.

From the lightest signal to the heaviest (they combine):
- gold labels: cross-entropy against the data's next token (lmlib's next_token_loss);
- teacher labels: cross-entropy against the teacher's most likely token;
- soft targets: cross-entropy against the teacher's whole distribution, both sides softened by
  a temperature T and the loss scaled by T^2 (Hinton et al. 2015);
- output states: 1 - cosine between the student's and the teacher's final states, through a
  learned projection when their widths differ (DistilBERT's cosine term).

Dims: B batch, T tokens, V vocabulary, Ds student width, Dt teacher width.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lmlib.training.loss import next_token_loss


def _wide(x: Tensor) -> Tensor:
    """fp16 / bf16 (mixed precision) up to fp32 for the softmax; fp32 and fp64 stay."""
    return x.float() if x.dtype in (torch.float16, torch.bfloat16) else x


def _check_pair(student: Tensor, teacher: Tensor, what: str) -> None:
    if student.dim() != 3 or teacher.dim() != 3:
        raise ValueError(
            f"{what} must be (B, T, ...) tensors; got student {tuple(student.shape)} and "
            f"teacher {tuple(teacher.shape)}"
        )
    if student.shape[:2] != teacher.shape[:2]:
        raise ValueError(
            f"student and teacher {what} cover different positions: {tuple(student.shape[:2])} vs "
            f"{tuple(teacher.shape[:2])}; run both models on the same idx"
        )


def soft_cross_entropy(
    student_logits: Tensor, teacher_logits: Tensor, temperature: float = 1.0
) -> Tensor:
    """(B, T, V), (B, T, V) -> T^2 * mean over positions of -sum_v p_t(v) log p_s(v).

    p_t = softmax(teacher / T) and p_s = softmax(student / T). Its gradient with respect to the
    student's logits is T * (p_s - p_t) / (B * T); the T^2 keeps that size steady as T grows,
    where without it the gradient would shrink like 1 / T^2. The teacher gets no gradient.
    """
    _check_pair(student_logits, teacher_logits, "logits")
    if student_logits.shape[-1] != teacher_logits.shape[-1]:
        raise ValueError(
            f"student and teacher vocabularies differ: V={student_logits.shape[-1]} vs "
            f"V={teacher_logits.shape[-1]}; distil between models that share a tokenizer"
        )
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    target = (_wide(teacher_logits.detach()) / temperature).softmax(dim=-1)  # (B, T, V)
    logp = (_wide(student_logits) / temperature).log_softmax(dim=-1)  # (B, T, V)
    return -(target * logp).sum(dim=-1).mean() * temperature**2


def soft_and_gold_loss(
    student_logits: Tensor,
    targets: Tensor,
    teacher_logits: Tensor,
    alpha: float = 0.5,
    temperature: float = 2.0,
) -> Tensor:
    """(B, T, V), (B, T), (B, T, V) -> alpha * soft + (1 - alpha) * gold.

    Hinton et al.'s weighted average: the soft term at temperature T (with its T^2), the gold
    cross-entropy on the same logits at temperature 1.
    """
    if not 0 <= alpha <= 1:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    soft = soft_cross_entropy(student_logits, teacher_logits, temperature)
    return alpha * soft + (1 - alpha) * next_token_loss(student_logits, targets)


def teacher_label_loss(student_logits: Tensor, teacher_logits: Tensor) -> Tensor:
    """(B, T, V), (B, T, V) -> cross-entropy against the teacher's argmax token at each position."""
    _check_pair(student_logits, teacher_logits, "logits")
    if student_logits.shape[-1] != teacher_logits.shape[-1]:
        raise ValueError(
            f"student and teacher vocabularies differ: V={student_logits.shape[-1]} vs "
            f"V={teacher_logits.shape[-1]}; distil between models that share a tokenizer"
        )
    return next_token_loss(student_logits, teacher_logits.detach().argmax(dim=-1))


def cosine_state_loss(
    student_states: Tensor, teacher_states: Tensor, weight: Tensor | None = None
) -> Tensor:
    """(B, T, Ds), (B, T, Dt), weight (Dt, Ds) or None -> mean over positions of 1 - cos.

    The student's states are mapped by ``weight`` (a learned projection, see StateProjection)
    into the teacher's width first; without one the widths must match.
    """
    _check_pair(student_states, teacher_states, "states")
    if weight is not None:
        ds, dt = student_states.shape[-1], teacher_states.shape[-1]
        if weight.shape != (dt, ds):
            raise ValueError(
                f"the projection must be (Dt, Ds) = ({dt}, {ds}), got {tuple(weight.shape)}"
            )
        student_states = F.linear(student_states, weight)  # (B, T, Dt)
    elif student_states.shape[-1] != teacher_states.shape[-1]:
        raise ValueError(
            f"student width {student_states.shape[-1]} != teacher width "
            f"{teacher_states.shape[-1]}; pass weight=StateProjection(Ds, Dt).weight"
        )
    cos = F.cosine_similarity(_wide(student_states), _wide(teacher_states.detach()), dim=-1)
    return (1 - cos).mean()


class StateProjection(nn.Linear):
    """A learned map from the student's width to the teacher's, trained with the student."""

    def __init__(self, d_student: int, d_teacher: int):
        super().__init__(d_student, d_teacher, bias=False)


@dataclass(frozen=True)
class Objective:
    """Weights of each signal in the student's loss, and the soft targets' temperature."""

    gold: float = 1.0
    labels: float = 0.0
    soft: float = 0.0
    cosine: float = 0.0
    temperature: float = 1.0

    def __post_init__(self):
        weights = {k: getattr(self, k) for k in ("gold", "labels", "soft", "cosine")}
        if any(w < 0 for w in weights.values()) or sum(weights.values()) <= 0:
            raise ValueError(f"weights must be >= 0 with a positive sum, got {weights}")
        if not self.temperature > 0:
            raise ValueError(f"temperature must be > 0, got {self.temperature}")

    @property
    def needs_teacher(self) -> bool:
        return self.labels > 0 or self.soft > 0 or self.cosine > 0


def distillation_loss(
    objective: Objective,
    student_logits: Tensor,
    targets: Tensor,
    teacher_logits: Tensor | None = None,
    student_states: Tensor | None = None,
    teacher_states: Tensor | None = None,
    weight: Tensor | None = None,
) -> tuple[Tensor, dict[str, float]]:
    """The weighted sum of the objective's terms, and each term's value (for logging).

    (B, T, V) logits, (B, T) gold targets; teacher logits for the label and soft terms; states
    (B, T, Ds), (B, T, Dt) and an optional (Dt, Ds) projection for the cosine term.
    """
    if objective.needs_teacher and teacher_logits is None:
        raise ValueError(f"{objective} uses the teacher; pass teacher_logits")
    if objective.cosine > 0 and (student_states is None or teacher_states is None):
        raise ValueError("a cosine term needs student_states and teacher_states")
    terms: dict[str, Tensor] = {}
    if objective.gold > 0:
        terms["gold"] = next_token_loss(student_logits, targets)
    if objective.labels > 0:
        terms["labels"] = teacher_label_loss(student_logits, teacher_logits)
    if objective.soft > 0:
        terms["soft"] = soft_cross_entropy(student_logits, teacher_logits, objective.temperature)
    if objective.cosine > 0:
        terms["cosine"] = cosine_state_loss(student_states, teacher_states, weight)
    total = sum(getattr(objective, name) * value for name, value in terms.items())
    return total, {name: value.item() for name, value in terms.items()}


def logits_and_states(model: nn.Module, idx: Tensor) -> tuple[Tensor, Tensor]:
    """(B, T) -> logits (B, T, V) and the output states (B, T, D) the head reads.

    The states are caught with a hook on the model's final norm (``model.norm``).
    """
    norm = getattr(model, "norm", None)
    if not isinstance(norm, nn.Module):
        raise TypeError(
            f"{type(model).__name__} has no final `norm` module to read its output states from"
        )
    caught: list[Tensor] = []
    handle = norm.register_forward_hook(lambda m, args, out: caught.append(out))
    try:
        logits = model(idx)
    finally:
        handle.remove()
    return logits, caught[-1]
