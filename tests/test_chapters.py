"""Numbers quoted in the chapters agree with the committed results they come from."""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def chapter(name: str) -> str:
    return (ROOT / "lectures" / f"{name}.md").read_text()


def test_next_token_chapter_quotes_the_committed_cpu_run():
    r = json.loads((ROOT / "results" / "next_token" / "cpu-seed0.json").read_text())
    text = chapter("1_1_next_token_prediction")
    quoted = [
        f"{r['final_val_loss']:.2f}",
        f"{r['tokens_seen']:,}",
        f"{r['params'] / 1e6:.2f}M",
        f"{r['history']['train_time'][-1]:.0f} s",
        f"{r['history']['step'][-1]} steps",
    ]
    quoted += [f"{v:.2f}" for k, v in r["baselines"].items()]
    for t in r["tasks_after"]:
        quoted += [f"{t['task']} | {t['share']:.0%}", f"{t['loss']:.2f}"]
    for t in r["tasks_before"]:
        quoted.append(f"{t['loss']:.2f}")
    missing = [q for q in quoted if q not in text]
    assert not missing, f"chapter 1.1 does not quote these committed results: {missing}"


FIGURES = sorted(
    {
        m
        for p in (ROOT / "lectures").glob("*.md")
        for m in re.findall(r"\{figure\} (\S+)", p.read_text())
    }
)


def test_chapter_figures_are_found():  # else the test below would check nothing
    assert "figures/next_token_loss_curve.png" in FIGURES


@pytest.mark.parametrize("figure", FIGURES)
def test_every_chapter_figure_is_a_committed_png(figure):
    path = ROOT / "lectures" / figure
    assert path.exists(), (
        f"{figure} is shown by a chapter but not committed; redraw it (`lmlib run NAME --figures`)"
    )
    assert path.stat().st_size > 10_000 and path.read_bytes()[:4] == b"\x89PNG"


def test_bibliography_parses_and_holds_every_cited_key():
    import re

    from pybtex.database import parse_file

    bib = parse_file(str(ROOT / "book" / "references.bib"))  # a syntax error fails the build too
    cited = set()
    for page in [*(ROOT / "lectures").glob("*.md"), *(ROOT / "book").glob("*.md")]:
        for keys in re.findall(r"\{cite[tp]?\}`([^`]+)`", page.read_text()):
            cited |= {k.strip() for k in keys.split(",")}
    assert cited and cited <= set(bib.entries), sorted(cited - set(bib.entries))
