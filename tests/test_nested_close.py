"""tests/nested_close.py: floats within a relative tolerance, everything else exactly."""

import pytest
from nested_close import assert_nested_close, mismatches

COMMITTED = {"a_err": 14925.91599251292, "sizes": ["xs", "s"], "n": 3, "ok": True, "x": [0.5, 2.0]}


def test_last_digit_differences_pass_and_real_ones_are_named():
    again = COMMITTED | {"a_err": 14925.915992503229}  # another CPU's BLAS, 6e-13 relative
    assert_nested_close(again, COMMITTED, rel=1e-9)
    off = COMMITTED | {"x": [0.5, 2.001]}
    assert mismatches(off, COMMITTED, rel=1e-9) == ["x[1]: 2.001 != 2.0"]
    with pytest.raises(AssertionError, match=r"x\[1\]"):
        assert_nested_close(off, COMMITTED, rel=1e-9)


def test_everything_but_floats_must_match_exactly():
    cases = {
        "key": {k: v for k, v in COMMITTED.items() if k != "n"},
        "string": COMMITTED | {"sizes": ["xs", "m"]},
        "length": COMMITTED | {"x": [0.5]},
        "int": COMMITTED | {"n": 4},
        "bool": COMMITTED | {"ok": False},
        "type": COMMITTED | {"n": "3"},
    }
    for name, changed in cases.items():
        assert mismatches(changed, COMMITTED, rel=0.5), name


def test_zero_needs_an_absolute_floor_and_a_tolerance_is_required():
    assert mismatches({"v": 1e-20}, {"v": 0.0}, rel=1e-9)
    assert not mismatches({"v": 1e-20}, {"v": 0.0}, rel=1e-9, abs_tol=1e-12)
    assert not mismatches([1, 2.0], [1.0, 2], rel=1e-9)  # JSON may write 2.0 as 2
    with pytest.raises(ValueError, match="tolerance"):
        assert_nested_close(COMMITTED, COMMITTED, rel=0)
