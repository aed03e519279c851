"""scripts/site_check.py's verdicts, from page states made up here (no browser needed)."""

import importlib.util
from pathlib import Path

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
