"""Trend fits, bootstrap intervals and placing a machine on the line."""

import math

import numpy as np
import pytest
import torch

from lmlib.analysis import price_performance as pp


def synthetic(doubling=2.0, noise=0.0, n=40, seed=0):
    rng = np.random.default_rng(seed)
    years = np.linspace(1950, 2020, n)
    values = 1e-3 * 2 ** ((years - 1950) / doubling) * 10 ** (noise * rng.standard_normal(n))
    return years, values


def test_fit_recovers_an_exact_exponential():
    years, values = synthetic(doubling=1.5)
    t = pp.fit_trend(years, values)
    assert t.doubling_years == pytest.approx(1.5, rel=1e-9)
    assert t.tenfold_years == pytest.approx(1.5 / math.log10(2), rel=1e-9)
    assert t.at(1950) == pytest.approx(1e-3, rel=1e-9)
    assert t.year_reaching(t.at(1987.5)) == pytest.approx(1987.5)
    assert (t.n, t.first_year, t.last_year) == (40, 1950, 2020)


def test_fit_matches_numpy_least_squares_in_log_space():
    years, values = synthetic(noise=0.3)
    slope = np.polyfit(years, np.log10(values), 1)[0]
    assert pp.fit_trend(years, values).slope == pytest.approx(slope, rel=1e-9)


def test_bootstrap_interval_covers_the_truth_and_is_reproducible():
    years, values = synthetic(doubling=2.0, noise=0.3)
    lo, hi = pp.bootstrap_doubling(years, values, n_boot=500, seed=1)
    assert lo < 2.0 < hi and hi - lo < 1.0
    assert (lo, hi) == pp.bootstrap_doubling(years, values, n_boot=500, seed=1)
    narrow = pp.bootstrap_doubling(years, values, n_boot=500, level=0.5, seed=1)
    assert lo < narrow[0] < narrow[1] < hi


def test_talk_comparison():
    assert pp.TALK_DOUBLING_YEARS == pytest.approx(1.505, abs=1e-3)
    t = pp.fit_trend(*synthetic(doubling=pp.TALK_DOUBLING_YEARS))
    c = pp.compare_with_talk(t)
    assert c["fit_tenfold_years"] == pytest.approx(5.0) and c["ratio_to_talk"] == pytest.approx(1)


def test_place_machine_and_hardware_cost():
    t = pp.fit_trend(*synthetic(doubling=2.0))
    on_line = t.at(2000)
    p = pp.place_machine(on_line * 1000 * 4, 1000, 2000, t)  # four times the line
    assert p["times_line"] == pytest.approx(4) and p["line_flops_per_usd"] == pytest.approx(on_line)
    assert p["year_line_reaches"] == pytest.approx(2004)
    assert pp.hardware_cost(on_line * 86_400 * 10, 2000, t) == pytest.approx(10)
    assert pp.hardware_cost(1e18, 2002, t) == pytest.approx(pp.hardware_cost(1e18, 2000, t) / 2)


@pytest.mark.parametrize(
    "years, values",
    [([2000, 2001], [1.0, 0.0]), ([2000, 2000], [1.0, 2.0]), ([2000], [1.0]), ([1, 2], [1.0])],
)
def test_bad_data_is_refused(years, values):
    with pytest.raises(ValueError):
        pp.fit_trend(years, values)


def test_bad_arguments_are_refused():
    t = pp.fit_trend(*synthetic())
    with pytest.raises(ValueError, match="positive"):
        pp.place_machine(1e9, 0, 2000, t)
    with pytest.raises(ValueError, match="positive"):
        pp.hardware_cost(-1, 2000, t)
    with pytest.raises(ValueError):
        pp.bootstrap_doubling(*synthetic(), level=1.5)


def test_fit_exponential_agrees_with_fit_trend():
    years, values = synthetic(doubling=2.5, noise=0.3)
    slope, doubling = pp.fit_exponential(torch.tensor(years), torch.tensor(values))
    t = pp.fit_trend(years, values)
    assert slope == pytest.approx(t.slope, rel=1e-9) and doubling == pytest.approx(t.doubling_years)
    assert isinstance(slope, float) and isinstance(doubling, float)


def test_the_shipped_table_fits_near_the_talk():
    from lmlib.data.compute_prices import years_and_values

    t = pp.fit_trend(*years_and_values())
    assert 1.0 < t.doubling_years < 2.0 and t.first_year == 1944
