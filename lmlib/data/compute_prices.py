"""A century of computing price-performance: FLOP/s per constant dollar, machine by machine.

The table (``price_performance.csv``, shipped with lmlib) has one row per machine or per
compiled cost-per-GFLOP/s figure, from the 1944 Harvard Mark I to 2025 GPUs. Every figure was
read in the source named on its row; nothing was interpolated.

Columns: year; machine; ops_per_s in ops_unit (FLOP/s, additions/s, multiplications/s,
operations/s or instructions/s); flop_per_op, the stated conversion (1: one arithmetic operation
or instruction counts as one FLOP); flops = ops_per_s * flop_per_op; basis ("machine": the
price of that machine, "per_gflops": a compilation's cost of 1 GFLOP/s of that hardware);
price_usd_nominal (dollars of its year); cpi_u_year; price_usd_2025; flops_per_usd_2025; source;
note. GPU rows (2008-2023) are Epoch AI's release prices and FP32 peak rates.

Prices are made constant with the U.S. CPI-U (BLS series CUUR0000SA0: all items, U.S. city
average, not seasonally adjusted), annual averages, 1982-84 = 100, base year 2025.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from importlib import resources

CPI_BASE_YEAR = 2025
CPI_BASE = 321.943  # CPI-U annual average 2025 (1982-84 = 100)
CPI_SOURCE = (
    "U.S. Bureau of Labor Statistics, CPI for All Urban Consumers (CPI-U), U.S. city average, "
    "all items, not seasonally adjusted, series CUUR0000SA0, annual averages (1982-84 = 100), "
    "as bundled in the Python package cpi 2.1.0"
)
UNITS = ("FLOP/s", "additions/s", "multiplications/s", "operations/s", "instructions/s")
BASES = ("machine", "per_gflops")
FILE = "price_performance.csv"


@dataclass(frozen=True)
class Machine:
    year: int
    machine: str
    ops_per_s: float
    ops_unit: str
    flop_per_op: float
    flops: float
    basis: str
    price_usd_nominal: float
    cpi_u_year: float
    price_usd_2025: float
    flops_per_usd_2025: float
    source: str
    note: str


TEXT_COLUMNS = ("machine", "ops_unit", "basis", "source", "note")


def price_performance_table() -> list[Machine]:
    """Every row of the shipped table, oldest first."""
    text = resources.files("lmlib.data").joinpath(FILE).read_text(encoding="utf-8")
    rows = []
    for row in csv.DictReader(io.StringIO(text)):
        values = {k: v if k in TEXT_COLUMNS else float(v) for k, v in row.items()}
        values["year"] = int(row["year"])
        rows.append(Machine(**values))
    return rows


def years_and_values(rows: list[Machine] | None = None) -> tuple[list[int], list[float]]:
    """(years, FLOP/s per 2025 dollar) of the table, ready for a trend fit."""
    rows = price_performance_table() if rows is None else rows
    return [r.year for r in rows], [r.flops_per_usd_2025 for r in rows]
