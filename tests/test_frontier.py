import math

import pytest
import torch

from lmlib.analysis.frontier import (
    Curve,
    fit_frontier,
    frontier,
    log_r2,
    one_seed,
    predict_ahead,
    predict_largest,
)
from lmlib.analysis.power_law import power_law

MEETS = 1e5 * 1000 * 400  # where the smallest size's curve reaches the ideal line


def synthetic_curves(noise: float = 0.0, seeds: int = 3) -> list[Curve]:
    """Sizes whose curves lie on L = 1 + 30 C^-0.2 over their last half decade of compute and
    above it before (a size is inefficient early); sizes half a decade apart."""
    gen = torch.Generator().manual_seed(0)
    curves = []
    for i, fpt in enumerate([1e5, 3.16e5, 1e6, 3.16e6, 1e7]):
        steps = torch.logspace(1, 3, 12, dtype=torch.float64)
        c = fpt * 1000 * steps
        ideal = power_law(c, 1.0, 30.0, 0.2)
        late = 1 + 0.5 * (1 - 3.2 * steps / steps[-1]).clamp(min=0) ** 2
        rows = []
        for _ in range(seeds):
            jitter = 1 + noise * torch.randn(len(c), generator=gen, dtype=torch.float64)
            rows.append(tuple((ideal * late * jitter).tolist()))
        curves.append(Curve(f"s{i}", tuple(c.tolist()), tuple(rows)))
    return curves


def test_frontier_is_the_lower_envelope_sorted_by_compute():
    pts = [(3.0, 2.0), (1.0, 3.0), (2.0, 3.5), (4.0, 1.0), (5.0, 1.5)]
    assert frontier(pts) == [(1.0, 3.0), (3.0, 2.0), (4.0, 1.0)]


def test_fit_recovers_the_envelope_exponent_and_spans_the_compute():
    ff = fit_frontier(synthetic_curves(), min_compute=MEETS, n_boot=10)
    assert ff.fit.alpha == pytest.approx(0.2, abs=0.05)
    assert ff.r2_log > 0.99
    assert ff.span_decades == pytest.approx(math.log10(ff.points[-1][0] / ff.points[0][0]))
    lo, hi = ff.alpha_interval
    assert lo <= ff.fit.alpha <= hi


def test_bootstrap_interval_widens_with_seed_noise_and_same_seed_same_interval():
    quiet = fit_frontier(synthetic_curves(0.001), MEETS, n_boot=20).alpha_interval
    noisy = fit_frontier(synthetic_curves(0.03), MEETS, n_boot=20).alpha_interval
    assert noisy[1] - noisy[0] > quiet[1] - quiet[0]
    assert fit_frontier(synthetic_curves(0.03), MEETS, n_boot=20).alpha_interval == noisy


def test_held_out_prediction_of_the_largest_size():
    h = predict_largest(synthetic_curves(), MEETS)
    assert h.size == "s4"
    assert h.measured == pytest.approx(power_law(torch.tensor(h.compute), 1.0, 30.0, 0.2).item())
    assert h.error < 0.01 < h.naive_error
    assert h.error == pytest.approx(abs(h.predicted - h.measured) / h.measured)


def test_medians_are_per_evaluation_over_seeds():
    c = Curve("a", (1.0, 2.0), ((3.0, 1.0), (1.0, 5.0), (2.0, 2.0)))
    assert c.median() == [2.0, 2.0] and c.final() == 2.0
    assert c.median([0, 0, 1]) == [3.0, 1.0]


def test_log_r2_is_one_on_the_fit_itself():
    from lmlib.analysis.power_law import fit_power_law

    x = torch.logspace(8, 12, 6, dtype=torch.float64)
    y = power_law(x, 1.2, 50.0, 0.3)
    fit = fit_power_law(x, y)
    assert log_r2(fit, list(zip(x.tolist(), y.tolist()))) == pytest.approx(1.0, abs=1e-6)


def test_bad_input():
    with pytest.raises(ValueError, match="frontier has"):
        fit_frontier(synthetic_curves()[:1], min_compute=1e30)
    with pytest.raises(ValueError, match=">= 3 sizes"):
        predict_largest(synthetic_curves()[:2])


def test_prediction_ahead_fits_only_sizes_with_a_quarter_of_the_compute():
    curves = synthetic_curves()
    h = predict_ahead(curves, factor=4.0, min_compute=MEETS)
    assert h.size == "s4" and h.ahead >= 4.0
    assert h.ahead == pytest.approx(10.0)  # s2 is the last size with <= 1/4 of s4's compute
    assert h.error < 0.01 and h.naive_error > 5 * h.error
    assert h.naive == pytest.approx(curves[2].final())
    assert predict_ahead(one_seed(curves, 1), 4.0, MEETS).error < 0.01
    with pytest.raises(ValueError, match="sizes"):
        predict_ahead(curves[3:], factor=4.0)
