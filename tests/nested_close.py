"""Compare nested JSON-like values (dicts, lists, numbers, strings) with a relative tolerance on
floats and exact equality on everything else.

A number recomputed on this machine from committed inputs may differ from the committed one in its
last digits: BLAS, numpy's SIMD kernels and the order of a reduction vary between CPU models. Keys,
lengths, strings, booleans and integers must still match exactly.
"""

from __future__ import annotations

import math


def mismatches(actual, expected, rel: float, abs_tol: float = 0.0, path: str = "") -> list[str]:
    """Every place where actual and expected differ, as 'path: actual != expected'."""
    here = path or "(top)"
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{here}: {type(actual).__name__} != dict"]
        if set(actual) != set(expected):
            return [f"{here}: keys {sorted(map(str, actual))} != {sorted(map(str, expected))}"]
        return [
            m
            for key in expected
            for m in mismatches(
                actual[key], expected[key], rel, abs_tol, f"{path}/{key}".lstrip("/")
            )
        ]
    if isinstance(expected, (list, tuple)):
        if not isinstance(actual, (list, tuple)) or len(actual) != len(expected):
            return [f"{here}: {actual!r} != {expected!r}"]
        return [
            m
            for i, (a, e) in enumerate(zip(actual, expected))
            for m in mismatches(a, e, rel, abs_tol, f"{path}[{i}]")
        ]
    floats = isinstance(expected, float) or isinstance(actual, float)
    numbers = all(type(x) in (int, float) for x in (actual, expected))  # bool is not a number here
    if floats and numbers:
        if math.isnan(expected) and math.isnan(actual):
            return []
        if math.isclose(actual, expected, rel_tol=rel, abs_tol=abs_tol):
            return []
    elif type(actual) is type(expected) and actual == expected:
        return []
    return [f"{here}: {actual!r} != {expected!r}"]


def assert_nested_close(actual, expected, rel: float, abs_tol: float = 0.0) -> None:
    """Fail with the first few differing paths unless actual matches expected (see mismatches)."""
    if rel <= 0 and abs_tol <= 0:
        raise ValueError("give a tolerance: rel > 0 (or abs_tol > 0); for exact equality use ==")
    found = mismatches(actual, expected, rel, abs_tol)
    assert not found, f"{len(found)} difference(s), first: " + "; ".join(found[:5])
