"""The mirage's composites and the U test of lmlib.analysis.emergence, on scores whose answer is
known."""

import random

import pytest

from lmlib.analysis.emergence import bits, composites, standard_error, wei_u


def fact_bits(people: int, recall: list[float], correlated: bool, seed: int = 0) -> str:
    rng = random.Random(seed)
    out = []
    for _ in range(people):
        shared = rng.random()
        out += [(shared if correlated else rng.random()) < r for r in recall]
    return bits(out)


def test_independent_parts_compose_as_their_product():
    c = composites(fact_bits(3000, [0.9, 0.8, 0.7, 0.6], correlated=False), 4)
    assert c["product"] == pytest.approx(0.9 * 0.8 * 0.7 * 0.6, abs=0.03)
    assert abs(c["quiz"] - c["product"]) < 0.03 and abs(c["person"] - c["product"]) < 0.03
    assert c["recall"] == pytest.approx(0.75, abs=0.02)


def test_correlated_parts_make_the_person_composite_the_weakest_part():
    c = composites(fact_bits(3000, [0.9, 0.8, 0.7, 0.6], correlated=True), 4)
    assert c["person"] == pytest.approx(0.6, abs=0.03)  # known or not, person by person
    assert abs(c["quiz"] - c["product"]) < 0.03  # people drawn apart: independent again
    with pytest.raises(ValueError, match="relations"):
        composites("0101010", 4)


def test_wei_u_needs_three_standard_errors_both_ways():
    n = 512
    se = standard_error(0.5, n)
    deep = wei_u([0.5, 0.5 - 4 * se * 1.5, 0.5 + 5 * se * 1.5], n, chance=0.5)
    assert deep["u"] and not deep["left_arm_above_chance"] and deep["min_index"] == 1
    shallow = wei_u([0.5, 0.5 - 2 * se, 0.9], n, chance=0.5)
    assert not shallow["u"] and shallow["fall_se"] < 3
    assert not wei_u([0.9, 0.7, 0.6], n)["u"]  # no rise: inverse scaling, not a U
    assert wei_u([0.9, 0.2, 0.95], n, chance=0.5)["left_arm_above_chance"]
    assert bits([0.0, 1.0, 0.7, 0.2]) == "0110"
    with pytest.raises(ValueError):
        wei_u([0.5, 0.4], n)
