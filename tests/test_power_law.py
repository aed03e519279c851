import math

import pytest
import torch

from lmlib.analysis.power_law import fit_power_law, power_law


def test_recovers_known_exponent_and_floor():
    x = torch.logspace(6, 12, 8, dtype=torch.float64)
    fit = fit_power_law(x, power_law(x, 1.5, 40.0, 0.3))
    assert fit.alpha == pytest.approx(0.3, rel=0.02)
    assert fit.l_inf == pytest.approx(1.5, abs=0.02)
    assert fit.r2 > 0.9999


def test_noisy_data_gives_uncertainties_that_cover_the_truth():
    gen = torch.Generator().manual_seed(0)
    x = torch.logspace(3, 9, 12, dtype=torch.float64)
    y = power_law(x, 2.0, 30.0, 0.25) * (
        1 + 0.005 * torch.randn(12, generator=gen, dtype=torch.float64)
    )
    fit = fit_power_law(x, y)
    assert abs(fit.alpha - 0.25) < 3 * fit.alpha_err + 0.02
    assert 0 < fit.alpha_err < 0.2 and fit.r2 > 0.99
    assert float(fit.predict(1e9)) == pytest.approx(float(y[-1]), rel=0.02)


def test_pure_power_law_is_a_line_in_log_log():
    x = torch.tensor([1.0, 10.0, 100.0, 1000.0])
    fit = fit_power_law(x, 5 * x**-0.5, floor=False)
    assert fit.l_inf == 0 and fit.alpha == pytest.approx(0.5) and fit.a == pytest.approx(5)


def test_too_few_points_give_nan_errors_not_a_crash():
    fit = fit_power_law([1.0, 10.0, 100.0], [3.0, 2.0, 1.7])
    assert math.isnan(fit.alpha_err)


def test_bad_inputs():
    with pytest.raises(ValueError):
        fit_power_law([1.0, 2.0], [1.0, 0.5])  # 3 parameters need 3 points
    with pytest.raises(ValueError):
        fit_power_law([1.0, -2.0, 3.0], [1.0, 0.5, 0.3])
    with pytest.raises(ValueError):
        fit_power_law([2.0, 2.0, 2.0], [1.0, 0.5, 0.3])


def test_fit_given_floor_is_a_log_log_line():
    from lmlib.analysis.power_law import fit_given_floor

    x = torch.tensor([10.0, 100.0, 1000.0])
    a, alpha = fit_given_floor(x, 1.0 + 3 * x**-0.4, 1.0)
    assert a == pytest.approx(3) and alpha == pytest.approx(0.4)


def test_curve_shapes():
    from lmlib.analysis.power_law import curve_shape

    assert curve_shape([0.0, 0.02, 0.05, 0.03]) == "flat"
    assert curve_shape([0.0, 0.02, 0.9, 0.95]) == "jump"
    assert curve_shape([0.1, 0.3, 0.5, 0.7, 0.9]) == "smooth"
    assert curve_shape([0.4, 0.1, 0.9, 1.0]) == "U-shaped"
    # a dip from chance is inverse scaling then recovery, not a U: there is no left arm
    assert curve_shape([0.5, 0.2, 0.9, 1.0], chance=0.5) == "dip"
    assert curve_shape([0.9, 0.2, 0.9, 1.0], chance=0.5) == "U-shaped"
    assert curve_shape([0.45, 0.3, 0.9, 1.0]) == "dip"  # the fall is too small for an arm
    with pytest.raises(ValueError):
        curve_shape([0.5])


def test_shape_across_seeds_needs_a_majority():
    from lmlib.analysis.power_law import shape_across_seeds

    jump, smooth = [0.0, 0.02, 0.9, 0.95], [0.1, 0.3, 0.5, 0.7]
    assert shape_across_seeds([jump, jump, smooth]) == ("jump", ["jump", "jump", "smooth"])
    label, labels = shape_across_seeds([jump, smooth])
    assert label == "seed-dependent" and labels == ["jump", "smooth"]
    flat = [0.0, 0.0, 0.01, 0.0]
    assert shape_across_seeds([jump, smooth, flat])[0] == "seed-dependent"


def test_shapes_per_decade_and_non_monotone():
    from lmlib.analysis.power_law import curve_shape

    # a steady rise per decade on an uneven ladder: one wide rung looks like a jump per rung
    logc = [0.0, 0.1, 0.2, 1.0, 1.1]
    values = [0.1 + 0.5 * x for x in logc]
    assert curve_shape(values) == "jump"
    assert curve_shape(values, compute=[10**x for x in logc]) == "smooth"
    even = [0.15 * i for i in range(9)]
    logistic = [1 / (1 + math.exp(-12 * (x - 0.6))) for x in even]
    assert curve_shape(logistic, compute=[10**x for x in even]) == "jump"
    assert curve_shape([0.1, 0.5, 0.3, 0.9]) == "non-monotone"  # falls after it rose
    with pytest.raises(ValueError, match="ordered"):
        curve_shape([0.1, 0.5, 0.9], compute=[1e3, 1e2, 1e4])
