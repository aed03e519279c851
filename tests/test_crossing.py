"""Where two loss-against-compute curves cross."""

import math

import pytest

from lmlib.analysis.crossing import crossover_budget, seed_band

B = [1e9, 1e10, 1e11, 1e12]


def test_crossing_interpolates_in_log_compute():
    # a - b: +1 at 1e10, -1 at 1e11: halfway in log10 is 10**10.5
    c = crossover_budget(B, [3.0, 2.0, 1.0, 0.5], [2.5, 1.0, 2.0, 2.0])
    assert c == pytest.approx(10**10.5)
    c = crossover_budget(B, [3.0, 2.0, 1.0, 0.5], [2.5, 1.5, 1.75, 1.8])  # +0.5, -0.75
    assert math.log10(c) == pytest.approx(10 + 0.5 / 1.25)


def test_first_crossing_counts_and_touching_is_not_crossing():
    assert crossover_budget(B, [2, 1, 1, 3], [1, 2, 1, 2]) == pytest.approx(10**9.5)
    assert crossover_budget(B, [2, 1, 2, 0.5], [1, 1, 1, 1]) == pytest.approx(10 ** (11 + 1 / 1.5))


def test_never_below_and_below_from_the_start():
    assert crossover_budget(B, [3, 3, 3, 3], [1, 2, 2, 2]) is None
    assert crossover_budget(B, [1, 1, 1, 1], [2, 2, 2, 2]) == 1e9


def test_bad_input():
    with pytest.raises(ValueError, match="same nonzero length"):
        crossover_budget(B, [1, 2], [1, 2, 3, 4])
    with pytest.raises(ValueError, match="increasing"):
        crossover_budget([1e9, 1e9], [1, 2], [2, 1])


def test_seed_band():
    mean, lo, hi = seed_band([[1.0, 4.0], [3.0, 2.0]])
    assert (mean, lo, hi) == ([2.0, 3.0], [1.0, 2.0], [3.0, 4.0])
    with pytest.raises(ValueError):
        seed_band([[1.0], [1.0, 2.0]])
