"""scripts/site_check.py's verdicts, from page states made up here (no browser needed)."""

import importlib.util
from pathlib import Path

import pytest

spec = importlib.util.spec_from_file_location(
    "site_check", Path(__file__).parents[1] / "scripts" / "site_check.py"
)
site_check = importlib.util.module_from_spec(spec)
spec.loader.exec_module(site_check)

ORIGIN = "http://127.0.0.1:8000/"


def state(**kw):
    base = dict(
        mathjax="3.2.2",
        mathjaxSrc=[ORIGIN + "_static/vendor/mathjax/tex-chtml.js"],
        math=3,
        mathRendered=3,
        rawTex=[],
        widgets=1,
        widgetsRendered=1,
        progressBars=1,
        images=2,
        brokenImages=[],
        colab=["https://colab.research.google.com/github/o/r/blob/main/labs/01_x.ipynb"],
    )
    return base | kw


def test_a_good_lab_page_passes():
    row = site_check.judge(Path("labs/01_x.html"), state(), [ORIGIN + "a.js"], ORIGIN)
    assert (row["math"], row["widgets"], row["images"], row["colab"]) == (True, True, True, True)
    assert site_check.passed(row)


def test_each_failure_is_caught():
    rel = Path("labs/01_x.html")
    cases = {
        "math": state(mathRendered=2),
        "raw": state(rawTex=["\\(x\\)"]),
        "cdn": state(mathjaxSrc=["https://cdn.example/mathjax.js"]),
        "widgets": state(widgetsRendered=0),
        "images": state(brokenImages=[ORIGIN + "x.png"]),
        "colab": state(
            colab=["https://colab.research.google.com/github/o/r/blob/main/labs/02.ipynb"]
        ),
    }
    for name, s in cases.items():
        assert not site_check.passed(site_check.judge(rel, s, [], ORIGIN)), name
    outside = site_check.judge(rel, state(), ["https://example.com/a.png"], ORIGIN)
    assert outside["external_requests"] == ["https://example.com/a.png"]
    assert not site_check.passed(outside)


def test_checks_that_do_not_apply_are_not_failures():
    row = site_check.judge(
        Path("book/welcome.html"),
        state(math=0, mathRendered=0, widgets=0, widgetsRendered=0, images=0, colab=[]),
        ["data:image/png;base64,x"],
        ORIGIN,
    )
    assert (row["math"], row["widgets"], row["images"], row["colab"]) == (None, None, None, None)
    assert site_check.passed(row)


def test_redirect_stub_is_followed_to_a_page(tmp_path):
    (tmp_path / "book").mkdir()
    (tmp_path / "book" / "welcome.html").write_text("<html></html>")
    stub = tmp_path / "index.html"
    stub.write_text('<meta http-equiv="Refresh" content="0; url=book/welcome.html" />')
    target = site_check.redirect_target(stub)
    assert target == "book/welcome.html"
    assert site_check.passed(site_check.redirect_row(Path("index.html"), target, tmp_path))
    assert not site_check.passed(site_check.redirect_row(Path("index.html"), "gone.html", tmp_path))
    assert site_check.redirect_target(tmp_path / "book" / "welcome.html") is None


def violation(rule: str, impact: str | None, nodes: int = 1) -> dict:
    """One entry of axe.run()'s violations, as scripts/site_check.py's AXE_RUN returns it."""
    return {
        "id": rule,
        "impact": impact,
        "help": f"help for {rule}",
        "helpUrl": f"https://dequeuniversity.com/rules/axe/4.14/{rule}",
        "nodes": nodes,
        "targets": [f"#el{i}" for i in range(min(nodes, 5))],
    }


def test_serious_or_critical_accessibility_violations_fail_the_page():
    rel = Path("lectures/1_1_x.html")
    for impact in ("serious", "critical"):
        row = site_check.judge(rel, state(), [], ORIGIN, [violation("image-alt", impact)])
        assert row["a11y"] is False and not site_check.passed(row), impact
    mild = [violation("region", "moderate", 3), violation("heading-order", "minor")]
    row = site_check.judge(rel, state(), [], ORIGIN, mild)
    assert row["a11y"] is True and site_check.passed(row)
    assert row["a11y_violations"] == mild  # reported all the same
    clean = site_check.judge(rel, state(), [], ORIGIN, [])
    assert clean["a11y"] is True and site_check.passed(clean)
    unscanned = site_check.judge(rel, state(), [], ORIGIN)
    assert unscanned["a11y"] is None and site_check.passed(unscanned)


def test_blocking_picks_serious_and_critical_and_refuses_unknown_impacts():
    found = [
        violation("color-contrast", "serious", 12),
        violation("region", "moderate"),
        violation("button-name", "critical"),
        violation("list", None),  # axe leaves impact null on rules that passed a node
    ]
    assert [v["id"] for v in site_check.blocking(found)] == ["color-contrast", "button-name"]
    with pytest.raises(ValueError, match="unknown impact 'severe'"):
        site_check.blocking([violation("x", "severe")])


def test_the_table_and_the_failure_lines_name_the_rules():
    rel = Path("lectures/1_1_x.html")
    found = [violation("color-contrast", "serious", 12), violation("region", "moderate")]
    row = site_check.judge(rel, state(), [], ORIGIN, found)
    line = site_check.table([row]).splitlines()[-1]
    assert line.endswith("| FAIL (1), 1 minor or moderate |")
    text = site_check.describe(found[0])
    assert text.startswith("serious color-contrast: help for color-contrast (12 element(s):")
    assert "#el0, #el1, #el2)" in text
    stub = site_check.redirect_row(Path("index.html"), "book/welcome.html", Path("."))
    assert stub["a11y"] is None and stub["a11y_violations"] == []


def test_a_missing_axe_core_is_a_clear_error(tmp_path, capsys):
    (tmp_path / "index.html").write_text("<html></html>")
    code = site_check.main([str(tmp_path), "--axe", str(tmp_path / "axe.min.js")])
    assert code == 2 and "npm ci" in capsys.readouterr().err
