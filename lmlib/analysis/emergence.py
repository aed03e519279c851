"""Two tests of emergence claims on a ladder of models: the mirage and the U.

The mirage (Schaeffer et al. 2023): an all-or-nothing score over k independent parts, each right
with probability p, is right with probability p^k. When p rises steadily with scale, p^k stays
near zero and then climbs steeply: a jump made by the metric, not by the model. `composites`
builds two all-or-nothing scores from per-fact recall on the same models: a quiz of one fact per
relation about people drawn independently (the parts are independent, so it should equal the
product of the per-relation recalls), and all facts of one person (the parts share how often the
person was mentioned, so they are not independent).

The U (Wei et al. 2022, inverse scaling): a score that falls from the smallest size to a minimum,
then rises to the largest. `wei_u` calls it a U when both the fall and the rise exceed 3 standard
errors; whether the left arm starts above chance is reported apart.

Dims: F facts (person-major, R relations each), Q quizzes.
"""

from __future__ import annotations

import math
import random

QUIZZES = 4000  # random quizzes per model: the composite's sampling error is below 0.01


def bits(scores) -> str:
    """Per-item 0/1 scores as a compact string ("0110...") for a results file."""
    return "".join("1" if float(v) > 0.5 else "0" for v in scores)


def composites(fact_bits: str, n_relations: int, seed: int = 0) -> dict:
    """Per-fact recall by relation, their product, the quiz composite and the person composite.

    fact_bits: per-fact exact match, person-major (fact i is person i // R, relation i % R)."""
    if len(fact_bits) % n_relations or not fact_bits:
        raise ValueError(f"{len(fact_bits)} fact scores do not split into {n_relations} relations")
    right = [c == "1" for c in fact_bits]
    people = len(right) // n_relations
    by_rel = [right[r::n_relations] for r in range(n_relations)]  # (R, people)
    recall = [sum(col) / people for col in by_rel]
    rng = random.Random(f"quiz-{seed}")
    quiz = sum(all(col[rng.randrange(people)] for col in by_rel) for _ in range(QUIZZES))
    person = sum(all(right[p * n_relations : (p + 1) * n_relations]) for p in range(people))
    return {
        "recall": sum(right) / len(right),
        "recall_by_relation": recall,
        "product": math.prod(recall),
        "quiz": quiz / QUIZZES,
        "person": person / people,
    }


def standard_error(p: float, n: int) -> float:
    """Standard error of a mean of n 0/1 scores with mean p (at least that of one item in n)."""
    return math.sqrt(max(p * (1 - p), (1 - 1 / n) / n) / n)


def wei_u(values: list[float], n_items: int, chance: float | None = None, z: float = 3.0) -> dict:
    """Is the curve (smallest size first) a U as Wei et al. define it: a fall of more than z
    standard errors from the smallest size to the minimum, then a rise of more than z standard
    errors to the largest? Also: does the left arm start above chance by z standard errors?"""
    if len(values) < 3 or n_items < 1:
        raise ValueError(f"a U needs >= 3 sizes and >= 1 item, got {len(values)}, {n_items}")
    se = [standard_error(v, n_items) for v in values]
    i = min(range(len(values)), key=values.__getitem__)
    fall = (values[0] - values[i]) / math.hypot(se[0], se[i])
    rise = (values[-1] - values[i]) / math.hypot(se[-1], se[i])
    return {
        "min_index": i,
        "fall_se": fall,
        "rise_se": rise,
        "u": 0 < i < len(values) - 1 and fall > z and rise > z,
        "left_arm_above_chance": chance is not None and (values[0] - chance) / se[0] > z,
    }
