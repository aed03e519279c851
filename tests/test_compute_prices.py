"""The shipped price-performance table: schema, units, sourced rows, arithmetic that adds up."""

import csv
import math
from importlib import resources
from pathlib import Path

import pytest

from lmlib.data import compute_prices as cp

COLUMNS = ["year", "machine", "ops_per_s", "ops_unit", "flop_per_op", "flops", "basis",
           "price_usd_nominal", "cpi_u_year", "price_usd_2025", "flops_per_usd_2025", "source",
           "note"]  # fmt: skip


@pytest.fixture(scope="module")
def rows():
    return cp.price_performance_table()


def test_file_ships_as_package_data_with_the_documented_columns():
    text = resources.files("lmlib.data").joinpath(cp.FILE).read_text(encoding="utf-8")
    header = next(csv.reader(text.splitlines()))
    assert header == COLUMNS


def test_size_and_span(rows):
    assert len(rows) >= 40
    assert rows[0].year <= 1949 and rows[-1].year - rows[0].year >= 80
    assert len({r.machine for r in rows}) == len(rows)


def test_years_are_monotone_and_plausible(rows):
    years = [r.year for r in rows]
    assert years == sorted(years)
    assert all(1940 <= y <= 2026 for y in years)


def test_units_and_conversion(rows):
    for r in rows:
        assert r.ops_unit in cp.UNITS, r.machine
        assert r.basis in cp.BASES, r.machine
        assert r.flop_per_op == 1.0, r.machine
        assert r.flops == pytest.approx(r.ops_per_s * r.flop_per_op, rel=1e-5), r.machine
        if r.basis == "per_gflops":
            assert r.flops == 1e9 and r.ops_unit == "FLOP/s", r.machine
        assert r.ops_per_s > 0 and r.price_usd_nominal > 0, r.machine


def test_every_row_names_a_source(rows):
    for r in rows:
        assert len(r.source) > 20, r.machine
        assert "http" in r.source or "Epoch AI" in r.source, r.machine


def test_cpi_adjustment_and_price_performance_add_up(rows):
    for r in rows:
        assert 9 < r.cpi_u_year <= cp.CPI_BASE, r.machine
        assert r.price_usd_2025 == pytest.approx(
            r.price_usd_nominal * cp.CPI_BASE / r.cpi_u_year, rel=1e-5
        ), r.machine
        assert r.flops_per_usd_2025 == pytest.approx(r.flops / r.price_usd_2025, rel=1e-5)


def test_cpi_values_match_the_bls_series_at_known_years(rows):
    by_year = {r.year: r.cpi_u_year for r in rows}
    assert by_year[1946] == 19.5 and by_year[2000] == 172.2  # published annual averages


def test_years_and_values_are_the_columns(rows):
    years, values = cp.years_and_values(rows)
    assert years == [r.year for r in rows]
    assert all(math.isfinite(v) and v > 0 for v in values)


def test_pyproject_ships_the_table_with_the_package():
    text = (Path(__file__).parents[1] / "pyproject.toml").read_text()
    section = text.split("[tool.setuptools.package-data]", 1)[1].split("\n[", 1)[0]
    assert '"lmlib.data" = ["*.csv"]' in section
