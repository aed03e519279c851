"""What the book shows can be read without sight and without full colour vision: every chapter
figure and every lab plot has alt text, and no figure relies on a red-green colour scale or on
red against green alone.

Lab plots are notebook outputs, so their alt text is cell metadata that MyST-NB copies onto the
image: ``{"mystnb": {"image": {"alt": "..."}}}``.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted([*(ROOT / "lectures").glob("*.md"), *(ROOT / "book").glob("*.md")])
SOLUTIONS = sorted((ROOT / "labs" / "solutions").glob("*.ipynb"))
NOTEBOOKS = SOLUTIONS + sorted((ROOT / "labs").glob("*.ipynb"))
CODE = sorted(
    [
        *(ROOT / "lmlib").rglob("*.py"),
        *(ROOT / "lectures").rglob("*.py"),
        *(ROOT / "scripts").glob("*.py"),
    ]
)

DIRECTIVE = re.compile(  # a fenced {figure} or {image} directive, its source and its body
    r"^(?P<fence>`{3,}|:{3,})\{(?P<kind>figure|image)\}[ \t]*(?P<src>\S*)[^\n]*\n"
    r"(?P<body>.*?)^(?P=fence)[ \t]*$",
    re.M | re.S,
)
MARKDOWN_IMAGE = re.compile(r"!\[(?P<alt>[^\]]*)\]\((?P<src>[^)\s]+)")
HTML_IMAGE = re.compile(r"<img\b[^>]*>", re.I)
# A code cell that draws: a matplotlib figure made or shown, or one of lmlib's *_figure helpers.
DRAWS = re.compile(r"\bplt\.(subplots|figure|show|imshow|plot)\(|\b\w+_figure\(")
MIN_ALT_WORDS = 5  # "plot" or "figure 1" says nothing; a sentence says what is shown

# Colour scales that put red against green, or whose lightness jumps (misread as edges).
FORBIDDEN_CMAPS = {"RdYlGn", "RdGn", "Spectral", "jet", "rainbow", "gist_rainbow", "hsv"}
FORBIDDEN_CMAPS |= {"nipy_spectral", "gist_ncar", "brg", "prism", "flag"}
COLOUR_KEYWORDS = {"color", "colors", "c", "facecolor", "facecolors", "edgecolor", "edgecolors"}
COLOUR_KEYWORDS |= {"mfc", "mec", "markerfacecolor", "markeredgecolor"}
PLOT_CALLS = {"plot", "loglog", "semilogx", "semilogy", "errorbar", "step"}
FORMAT = re.compile(r"^[-.:o*s^vD+x|_<>ph1-4]*[rgbcmykw][-.:o*s^vD+x|_<>ph1-4]*$")
RED = {"r", "red", "tab:red", "C3", "darkred", "crimson", "firebrick"}
GREEN = {"g", "green", "tab:green", "C2", "darkgreen", "lime", "forestgreen", "limegreen"}
# Never a data value: a string that can only name a colour counts wherever it appears.
UNAMBIGUOUS = {"tab:red", "tab:green", "C2", "C3"}


def directive_options(body: str) -> dict:
    """The options of a MyST directive: `:key: value` lines, or a `---` YAML block, at its top."""
    lines = body.split("\n")
    if lines and lines[0].strip() == "---":
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
        return yaml.safe_load("\n".join(lines[1:end])) or {}
    options = {}
    for line in lines:
        m = re.match(r"^:([\w-]+):[ \t]*(.*)$", line)
        if not m:
            break
        options[m.group(1)] = m.group(2)
    return options


def images_without_alt(text: str) -> list[str]:
    """Every image or figure in a MyST page whose alt text is missing or empty."""
    found = []
    for m in DIRECTIVE.finditer(text):
        if not str(directive_options(m.group("body")).get("alt") or "").strip():
            found.append(f"{{{m.group('kind')}}} {m.group('src')}")
    for m in MARKDOWN_IMAGE.finditer(text):
        if not m.group("alt").strip():
            found.append(f"![]({m.group('src')})")
    for tag in HTML_IMAGE.findall(text):
        if not re.search(r"\balt\s*=\s*[\"'][^\"']+[\"']", tag):
            found.append(tag)
    return found


def plot_cells_without_alt(nb: dict) -> list[int]:
    """Indices of code cells that draw a figure but carry no (or too short) alt text."""
    missing = []
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code" or not DRAWS.search("".join(cell["source"])):
            continue
        alt = cell.get("metadata", {}).get("mystnb", {}).get("image", {}).get("alt")
        if not isinstance(alt, str) or len(alt.split()) < MIN_ALT_WORDS:
            missing.append(i)
    return missing


def _python(source: str) -> ast.Module:
    # notebook cells may hold IPython magics and shell escapes, which are not Python
    kept = [line for line in source.split("\n") if not line.lstrip().startswith(("%", "!"))]
    return ast.parse("\n".join(kept))


def _units(tree: ast.Module) -> list[tuple[str, list[ast.AST]]]:
    """(name, nodes): each top-level function or class with what it contains, then the rest."""
    units, rest = [], []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            units.append((node.name, list(ast.walk(node))))
        else:
            rest.extend(ast.walk(node))
    return [*units, ("<module>", rest)]


def _text(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def colour_problems(source: str) -> list[str]:
    """Forbidden colour maps, and red used beside green in one function (or cell)."""
    problems = []
    for name, nodes in _units(_python(source)):
        colours = set()
        for node in nodes:
            if isinstance(node, ast.Call):
                func = node.func.attr if isinstance(node.func, ast.Attribute) else None
                for kw in node.keywords:
                    value = _text(kw.value)
                    if kw.arg in ("cmap", "colormap") and value:
                        colours.add(("cmap", value))
                    if kw.arg in COLOUR_KEYWORDS and value:
                        colours.add(("colour", value))
                if func == "get_cmap" and node.args and _text(node.args[0]):
                    colours.add(("cmap", _text(node.args[0])))
                if func in PLOT_CALLS:
                    for arg in node.args:
                        if _text(arg) and FORMAT.match(_text(arg)):
                            colours.add(("colour", re.sub(r"[^rgbcmykw]", "", _text(arg))))
            elif isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute):
                if node.value.attr == "colormaps" and _text(node.slice):
                    colours.add(("cmap", _text(node.slice)))
            elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute):
                if node.value.attr == "cm":
                    colours.add(("cmap", node.attr))
            elif _text(node) in UNAMBIGUOUS:
                colours.add(("colour", _text(node)))
        for kind, value in sorted(colours):
            if kind == "cmap" and value.removesuffix("_r") in FORBIDDEN_CMAPS:
                problems.append(f"{name}: colour map {value!r}")
        names = {value for kind, value in colours if kind == "colour"}
        if names & RED and names & GREEN:
            problems.append(
                f"{name}: red {sorted(names & RED)} beside green {sorted(names & GREEN)}"
            )
    return problems


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_figure_in_the_book_has_alt_text(page):
    missing = images_without_alt(page.read_text())
    assert not missing, f"{page.name}: add `:alt:` (what the figure shows) to {missing}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_lab_plot_has_alt_text(path):
    missing = plot_cells_without_alt(json.loads(path.read_text()))
    assert not missing, (
        f"{path.name}: cells {missing} draw a figure without alt text; add to the solution "
        'notebook\'s cell metadata {"mystnb": {"image": {"alt": "what the plot shows"}}} and run '
        "`lmlib student`"
    )


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_lab_plots_are_colorblind_safe(path):
    nb = json.loads(path.read_text())
    problems = [
        f"cell {i}: {p}"
        for i, cell in enumerate(nb["cells"])
        if cell["cell_type"] == "code"
        for p in colour_problems("".join(cell["source"]))
    ]
    assert not problems, f"{path.name}: {problems}"


def test_lmlib_figures_are_colorblind_safe():
    problems = [f"{p.relative_to(ROOT)}: {x}" for p in CODE for x in colour_problems(p.read_text())]
    assert not problems, problems


def test_the_checks_catch_what_they_look_for():
    page = "```{figure} a.png\n:name: fig-a\n:width: 50%\n\nCaption.\n```\n"
    assert images_without_alt(page) == ["{figure} a.png"]
    assert not images_without_alt(page.replace(":width: 50%", ":alt: A line rising."))
    yaml_options = ":::{figure} b.png\n---\nalt: Bars by size.\n---\nCaption.\n:::\n"
    assert not images_without_alt(yaml_options)
    assert images_without_alt(yaml_options.replace("alt: Bars by size.", "name: b"))
    assert images_without_alt("![](c.png) and <img src='d.png'>") == [
        "![](c.png)",
        "<img src='d.png'>",
    ]

    cell = {"cell_type": "code", "source": ["fig, ax = plt.subplots()\n", "plt.show()"]}
    nb = {"cells": [cell, {"cell_type": "code", "source": ["x = 1"], "metadata": {}}]}
    assert plot_cells_without_alt(nb) == [0]
    cell["metadata"] = {"mystnb": {"image": {"alt": "Loss falling over training steps."}}}
    assert plot_cells_without_alt(nb) == []

    assert colour_problems('ax.imshow(v, cmap="RdYlGn")') == ["<module>: colour map 'RdYlGn'"]
    assert colour_problems("im = plt.cm.jet(x)") == ["<module>: colour map 'jet'"]
    assert colour_problems('ax.imshow(v, cmap="cividis_r")') == []
    pair = 'def f(ax):\n    ax.plot(x, y, "r-")\n    ax.plot(x, z, color="tab:green")\n'
    assert colour_problems(pair) == ["f: red ['r'] beside green ['tab:green']"]
    assert colour_problems('COLORS = {"a": "C3", "b": "C2"}')  # a palette dict counts too
    assert (
        colour_problems(
            'def f(ax):\n    ax.plot(x, y, "r-")\ndef g(ax):\n    ax.plot(x, y, "g-")\n'
        )
        == []
    )
    assert colour_problems('words = ("red", "green")\nopen(p, "r")') == []  # data, not colours


def test_the_book_loads_its_accessibility_repairs():
    """_config.yml serves book/_static/a11y.js on every page (its repairs are what the site
    check's axe-core scan would otherwise fail on)."""
    sphinx = yaml.safe_load((ROOT / "_config.yml").read_text())["sphinx"]["config"]
    assert "book/_static" in sphinx["html_static_path"]
    for name in sphinx["html_js_files"]:
        assert (ROOT / "book" / "_static" / name).exists(), name
    script = (ROOT / "book" / "_static" / "a11y.js").read_text()
    for selector in (".search-button-field", ".theme-switch-button", ".citation-list", "slider"):
        assert selector in script, selector
