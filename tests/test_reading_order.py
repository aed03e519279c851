"""The book in reading order: file numbers follow `_toc.yml`, chapter N.M pairs with lab N.M and
each links to the other, cross-references are rendered (never a hand-written "chapter 3"), and the
book speaks about language models, not about how its results were produced."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from lmlib.grading.labs import RENAMED, get_lab, lab_ids

ROOT = Path(__file__).resolve().parents[1]
NUMBERED = re.compile(r"^(lectures|labs)/(\d)_(\d)_([a-z0-9_]+)$")


def _toc_files() -> list[tuple[str, list[str]]]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    return [(part["caption"], [c["file"] for c in part["chapters"]]) for part in toc["parts"]]


def _numbered_entries() -> list[tuple[str, str, str]]:
    """(kind, "N.M", file) of every chapter and lab in _toc.yml order."""
    out = []
    for _, files in _toc_files():
        for f in files:
            m = NUMBERED.match(f)
            if m:
                out.append((m[1], f"{m[2]}.{m[3]}", f))
    return out


def _markdown_of(path: Path) -> str:
    if path.suffix == ".ipynb":
        nb = json.loads(path.read_text(encoding="utf-8"))
        return "\n\n".join(
            "".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown"
        )
    return path.read_text(encoding="utf-8")


def _h1(path: Path) -> str:
    for line in _markdown_of(path).splitlines():
        if line.startswith("# "):
            return line[2:]
    raise AssertionError(f"{path} has no H1 title")


def test_every_chapter_and_lab_is_in_the_toc_and_nothing_else_is_numbered():
    listed = {f for _, f2 in _toc_files() for f in f2}
    on_disk = {f"lectures/{p.stem}" for p in (ROOT / "lectures").glob("*.md")} | {
        f"labs/{p.stem}" for p in (ROOT / "labs").glob("*.ipynb")
    }
    assert on_disk <= listed, f"not in _toc.yml: {sorted(on_disk - listed)}"
    for f in on_disk:
        assert NUMBERED.match(f), f"{f}: chapter and lab files are named N_M_name"


def test_toc_order_is_file_number_order_and_chapter_n_is_followed_by_lab_n():
    entries = _numbered_entries()
    numbers = [tuple(map(int, n.split("."))) for _, n, _ in entries]
    assert numbers == sorted(numbers), "files in _toc.yml must go up in number"
    chapters = [(n, f) for kind, n, f in entries if kind == "lectures"]
    labs = [(n, f) for kind, n, f in entries if kind == "labs"]
    assert [n for n, _ in chapters] == [n for n, _ in labs], "every chapter N.M has one lab N.M"
    for i, (kind, n, f) in enumerate(entries):
        if kind == "labs":
            assert entries[i - 1][:2] == ("lectures", n), f"{f} does not follow chapter {n}"
    # within a part the positions run 1, 2, 3, ... and parts run 1, 2, 3, ...
    parts = sorted({int(n.split(".")[0]) for n, _ in chapters})
    assert parts == list(range(1, len(parts) + 1))
    for part in parts:
        pos = [int(n.split(".")[1]) for n, _ in chapters if int(n.split(".")[0]) == part]
        assert pos == list(range(1, len(pos) + 1)), f"part {part} skips a position: {pos}"


def test_every_part_has_a_caption_and_the_numbered_chapters_of_one_part():
    for caption, files in _toc_files()[1:]:
        numbers = {NUMBERED.match(f)[2] for f in files}
        assert len(numbers) == 1, f"part {caption!r} mixes parts {sorted(numbers)}"
        assert caption.startswith(f"Part {numbers.pop()}: ")


def test_titles_carry_the_file_number():
    for kind, n, f in _numbered_entries():
        suffix = ".md" if kind == "lectures" else ".ipynb"
        title = _h1(ROOT / (f + suffix))
        want = f"Lab {n} — " if kind == "labs" else f"{n} "
        assert title.startswith(want), f"{f}: H1 {title!r} should start with {want!r}"
        if kind == "labs":
            sol = _h1(ROOT / "labs" / "solutions" / (Path(f).name + suffix))
            assert sol == title, f"{f}: student and solution titles differ"


def test_chapter_links_to_its_lab_and_the_lab_back_to_its_chapter():
    entries = _numbered_entries()
    chapter_of = {n: f for kind, n, f in entries if kind == "lectures"}
    for kind, n, f in entries:
        if kind != "labs":
            continue
        lab, chapter = Path(f).name, Path(chapter_of[n]).name
        text = _markdown_of(ROOT / "lectures" / f"{chapter}.md")
        assert re.search(rf"\{{doc\}}`(?:[^`<]*<)?(?:\.\.)?/labs/{lab}>?`", text), (
            f"chapter {chapter} has no {{doc}} link to its lab {lab}"
        )
        first = _markdown_of(ROOT / "labs" / "solutions" / f"{lab}.ipynb")[:1200]
        assert f"](../lectures/{chapter}.md)" in first, f"lab {lab} does not link to {chapter}"


# "chapter 3", "lab 4", "labs 2 and 6", "Chapter 1.2": a number typed by hand goes stale when the
# book is reordered; a {doc} reference renders the target's current title instead.
HAND_NUMBERED = re.compile(r"\b(?:chapters?|labs?)\s+\d+(?:\.\d+)?\b", re.IGNORECASE)
# How the book was made is not the reader's business; what they can run is.
MAKING_OF = re.compile(
    r"committed (?:run|sweep|result|seed|`cpu`|cpu)|busy (?:machine|core)|cores? (?:were|was) busy|"
    r"busy with other|quiet (?:machine|core)|our (?:2|two)-core machine|loaded shared machine|"
    r"idle cores|this session|other jobs were running|no GPU was at hand|re-?measured",
    re.IGNORECASE,
)


def _prose_files() -> list[Path]:
    return (
        sorted((ROOT / "lectures").glob("*.md"))
        + sorted((ROOT / "labs" / "solutions").glob("*.ipynb"))
        + sorted((ROOT / "book").glob("*.md"))
    )


def _prose_lines(path: Path):
    """(line, text) of prose: markdown outside code fences and below the H1 title (where the
    number is defined), with rendered roles and inline code removed."""
    fence = False
    for i, line in enumerate(_markdown_of(path).splitlines(), 1):
        if line.lstrip().startswith(("```", "~~~")):
            fence = not fence
            continue
        if fence or line.startswith("# "):
            continue
        line = re.sub(r"\{(?:doc|ref|numref|cite)\}`[^`]*`", "", line)
        yield i, re.sub(r"`[^`]*`", "", line)


def test_no_hand_numbered_cross_references_in_prose():
    bad = [
        f"{p.relative_to(ROOT)}:{i}: {m[0]!r}"
        for p in _prose_files()
        for i, line in _prose_lines(p)
        for m in HAND_NUMBERED.finditer(line)
    ]
    assert not bad, "refer by {doc}`...` instead:\n" + "\n".join(bad)


def test_the_book_speaks_of_language_models_not_of_its_making():
    bad = [
        f"{p.relative_to(ROOT)}:{i}: {m[0]!r}"
        for p in _prose_files()
        for i, line in enumerate(_markdown_of(p).splitlines(), 1)
        for m in MAKING_OF.finditer(line)
    ]
    for p in sorted((ROOT / "lmlib").rglob("*.py")) + sorted((ROOT / "lectures").rglob("*.py")):
        for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
            bad += [f"{p.relative_to(ROOT)}:{i}: {m[0]!r}" for m in MAKING_OF.finditer(line)]
    assert not bad, "say what the reader can run instead:\n" + "\n".join(bad)


def test_the_patterns_catch_what_they_are_for():
    assert HAND_NUMBERED.search("as chapter 3 showed") and HAND_NUMBERED.search("Labs 1 and 7")
    assert HAND_NUMBERED.search("see lab 1.2") and not HAND_NUMBERED.search("the lab's 3 seeds")
    assert MAKING_OF.search("the committed run took") and MAKING_OF.search("busy cores")
    assert not MAKING_OF.search("the sweep in results/scaling/cpu/")


def test_lab_ids_are_the_notebook_stems_in_reading_order():
    labs = [Path(f).name for kind, _, f in _numbered_entries() if kind == "labs"]
    assert lab_ids() == labs
    assert sorted(p.stem for p in (ROOT / "tests" / "mutants").glob("[0-9]*.py")) == labs


@pytest.mark.parametrize("old", sorted(RENAMED))
def test_an_old_lab_id_says_which_new_one_to_use(old):
    assert RENAMED[old] in lab_ids()
    with pytest.raises(ValueError, match=re.escape(f"is now '{RENAMED[old]}'")):
        get_lab(old)


def test_lmlib_grade_of_a_notebook_under_an_old_name_names_the_new_one(tmp_path, capsys):
    from lmlib.tools.cli import main

    nb = json.loads((ROOT / "labs" / "1_2_multitask_learning.ipynb").read_text(encoding="utf-8"))
    nb["metadata"]["lmlib"]["lab"] = "03_multitask_learning"
    path = tmp_path / "03_multitask_learning.ipynb"
    path.write_text(json.dumps(nb), encoding="utf-8")
    code = main(["grade", str(path), "--json", str(tmp_path / "grade.json")])
    err = capsys.readouterr()
    assert code != 0
    assert "1_2_multitask_learning" in err.out + err.err
