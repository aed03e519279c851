"""IsoFLOP fits: parabola vertex, power laws, optimum and bootstrap, against known answers."""

import math

import pytest
import torch

from lmlib.analysis import isoflop as fit


def valley(log_n, x0=9.0, y0=2.0, c=0.3):
    return [y0 + c * (x - x0) ** 2 for x in log_n]


def test_parabola_minimum_finds_a_known_vertex():
    log_n = [7.0, 8.0, 8.5, 9.5, 11.0]
    x0, y0 = fit.parabola_minimum(log_n, valley(log_n, 9.3, 1.7, 0.2))
    assert x0 == pytest.approx(9.3, rel=1e-9) and y0 == pytest.approx(1.7, rel=1e-9)
    assert fit.parabola(log_n, valley(log_n, 9.3, 1.7, 0.2))[0] == pytest.approx(0.2, rel=1e-9)


def test_parabola_least_squares_matches_numpy_polyfit():
    np = pytest.importorskip("numpy")
    x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    y = [3.1, 2.2, 1.9, 2.05, 2.6, 3.4]
    c2, c1, _ = np.polyfit(x, y, 2)
    assert fit.parabola_minimum(x, y)[0] == pytest.approx(-c1 / (2 * c2), rel=1e-9)


def test_parabola_rejects_bad_input():
    with pytest.raises(ValueError, match="opens downwards"):
        fit.parabola_minimum([1, 2, 3], [1.0, 2.0, 1.0])
    with pytest.raises(ValueError, match=">= 3 different sizes"):
        fit.parabola_minimum([1, 1, 2], [1.0, 2.0, 1.0])
    with pytest.raises(ValueError, match="same length"):
        fit.parabola_minimum([1, 2, 3], [1.0, 2.0])
    with pytest.raises(ValueError, match="finite"):
        fit.parabola_minimum([1, 2, 3], [1.0, float("nan"), 1.0])


def test_steps_spend_the_budget():
    steps = fit.isoflop_steps(6e9, 10_000, 1000)
    assert steps == 100 and 6 * 10_000 * 1000 * steps == 6e9
    assert fit.isoflop_steps(1e3, 10_000, 1000) == 1  # at least one step
    sizes = torch.tensor([1000, 2000, 3000])
    got = fit.isoflop_steps(6e9, sizes, 1000)
    assert got.dtype == torch.int64 and got.tolist() == [1000, 500, 333]
    assert type(fit.isoflop_steps(6e9, 1000, 1000)) is int
    with pytest.raises(TypeError, match="whole parameter counts"):
        fit.isoflop_steps(6e9, torch.tensor([1000.0]), 1000)
    for bad in ((0, 10, 10), (1e9, 0, 10), (1e9, 10, 0)):
        with pytest.raises(ValueError, match="budget"):
            fit.isoflop_steps(*bad)


def test_tokens_per_parameter():
    # N = 1e6, D = 20e6 tokens: C = 6 N D = 1.2e14, twenty tokens a parameter
    assert fit.tokens_per_parameter(1.2e14, 1e6) == pytest.approx(20.0, rel=1e-12)
    with pytest.raises(ValueError, match="n_opt"):
        fit.tokens_per_parameter(1e9, 0)


def test_power_fit_recovers_exponent_and_rejects_bad_input():
    c = torch.logspace(10, 13, 4, dtype=torch.float64)
    p = fit.fit_power(c, 0.09 * c**0.62)
    assert p.exponent == pytest.approx(0.62, rel=1e-9)
    assert p.coefficient == pytest.approx(0.09, rel=1e-6)
    with pytest.raises(ValueError, match="positive"):
        fit.fit_power([1.0, 2.0], [1.0, -1.0])
    with pytest.raises(ValueError, match=">= 2 points"):
        fit.fit_power([1.0], [1.0])


def synthetic(a=0.6, budgets=(1e10, 1e11, 1e12), noise=0.0, repeats=3):
    """Valleys whose vertex follows N_opt = 0.5 C^a exactly; log N windows around each."""
    gen = torch.Generator().manual_seed(0)
    log_n, losses = [], []
    for c in budgets:
        x0 = math.log(0.5 * c**a)
        xs = [x0 + d for d in (-1.4, -0.6, 0.1, 0.7, 1.5)]
        clean = torch.tensor(valley(xs, x0, 2.0, 0.1), dtype=torch.float64)
        losses.append(clean + noise * torch.randn(repeats, 5, generator=gen, dtype=torch.float64))
        log_n.append(xs)
    return list(budgets), log_n, losses


def test_exponents_of_a_known_optimum_add_to_one():
    budgets, log_n, losses = synthetic(a=0.6)
    n_opt = fit.optimal_sizes(budgets, log_n, [t[0] for t in losses])
    assert n_opt[1] == pytest.approx(0.5 * 1e11**0.6, rel=1e-6)
    e = fit.scaling_exponents(budgets, n_opt)
    assert e["a"] == pytest.approx(0.6, rel=1e-6) and e["b"] == pytest.approx(0.4, rel=1e-6)


def test_bootstrap_interval_covers_the_truth_and_repeats_from_its_seed():
    budgets, log_n, losses = synthetic(a=0.6, noise=0.005)
    boot = fit.bootstrap_exponents(budgets, log_n, losses, draws=200, seed=3)
    lo, hi = boot["a"]
    assert lo < 0.6 < hi and hi - lo < 0.3
    assert boot["b"][0] == pytest.approx(1 - hi, rel=1e-9)  # b = 1 - a in every draw
    again = fit.bootstrap_exponents(budgets, log_n, losses, draws=200, seed=3)
    assert again["a"] == pytest.approx(boot["a"], rel=1e-9) and again["draws"] == boot["draws"]
    with pytest.raises(ValueError, match="repeats, sizes"):
        fit.bootstrap_exponents(budgets, log_n, [t[0] for t in losses], draws=10)


def test_bootstrap_of_valleys_outside_every_window_gives_no_interval():
    budgets, log_n, _ = synthetic(a=0.6)
    hills = [
        torch.tensor([[-((x - 9.0) ** 2) for x in xs]] * 2, dtype=torch.float64) for xs in log_n
    ]
    boot = fit.bootstrap_exponents(budgets, log_n, hills, draws=50, seed=0)
    assert boot["a"] is None and boot["b"] is None and boot["skipped"] == 50
