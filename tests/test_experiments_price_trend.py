"""The price-performance experiment: fits, intervals, the sweep priced by year, the figure."""

import pytest

from lmlib.analysis.price_performance import TALK_DOUBLING_YEARS
from lmlib.experiments import price_trend


@pytest.fixture(scope="module")
def result():
    return price_trend.run("ci", seed=0)


def test_fits_and_intervals(result):
    assert result["n_machines"] >= 40
    assert set(result["fits"]) == {"all", "before_2008", "from_2008"}
    for f in result["fits"].values():
        lo, hi = f["doubling_years_95"]
        assert lo < f["doubling_years"] < hi
        assert f["talk_doubling_years"] == pytest.approx(TALK_DOUBLING_YEARS)
        assert f["tenfold_years"] == pytest.approx(f["doubling_years"] / 0.30103, rel=1e-4)
    assert result["fits"]["all"]["years"] == [1944, 2025]
    assert result["fits"]["from_2008"]["doubling_years"] > result["fits"]["all"]["doubling_years"]


def test_sweep_cost_falls_with_the_year(result):
    if result["sweep_flops"] is None:
        pytest.skip("no committed scaling sweep in this checkout")
    costs = [result["sweep_hardware_usd_one_day"][str(y)] for y in price_trend.COST_YEARS]
    assert costs == sorted(costs, reverse=True)


def test_sweep_flops_reads_the_runs(tmp_path):
    assert price_trend.sweep_flops(tmp_path) is None
    for i, c in enumerate((1e12, 2e12)):
        (tmp_path / f"s-seed{i}.json").write_text(f'{{"compute": {c}}}')
    assert price_trend.sweep_flops(tmp_path) == pytest.approx(3e12)


def test_figure(result, tmp_path):
    (path,) = price_trend.figures(result, tmp_path)
    assert path.name == "price_performance.png" and path.stat().st_size > 10_000
