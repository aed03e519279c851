"""Find a number in a chapter where it means something: in one sentence or one table cell,
beside the words that give it its meaning (not merely somewhere in the text).

A sentence is prose between sentence ends (". " followed by a capital, or a blank line); inline
markup ($, *, `) is ignored. A table cell counts with its row's first cell and its column's
header as its context. The number must stand as a whole token: "0.25" does not match "0.253"
or "10.25".
"""

from __future__ import annotations

import re

_CLEAN = re.compile(r"[$*`]")


def _token(value: str) -> re.Pattern:
    return re.compile(r"(?<![\w.])" + re.escape(value) + r"(?![\w]|\.\d)")


def sentences(text: str) -> list[str]:
    """Prose sentences of a markdown text (tables, code blocks and directives left out)."""
    out, in_code = [], False
    paragraphs, current = [], []
    for line in text.splitlines():
        if line.startswith("```"):
            in_code = not in_code
            continue
        if in_code or line.lstrip().startswith("|"):
            if current:
                paragraphs.append(" ".join(current))
                current = []
            continue
        if not line.strip():
            if current:
                paragraphs.append(" ".join(current))
                current = []
            continue
        current.append(line.strip())
    if current:
        paragraphs.append(" ".join(current))
    for p in paragraphs:
        out += re.split(r"(?<=[.!?;])\s+(?=[A-Z(])", _CLEAN.sub("", p))
    return out


def table_cells(text: str) -> list[tuple[str, str, str]]:
    """(row label, column header, cell) of every markdown table body cell."""
    cells, header = [], None
    for line in text.splitlines():
        s = line.strip()
        if not s.startswith("|"):
            header = None
            continue
        row = [_CLEAN.sub("", c).strip() for c in s.strip("|").split("|")]
        if header is None:
            header = row
        elif not all(set(c) <= set("-: ") for c in row):
            for j, c in enumerate(row[1:], start=1):
                cells.append((row[0], header[j] if j < len(header) else "", c))
    return cells


def _has(text: str, word: str) -> bool:
    """`word` occurs in `text` as a whole word or phrase (case-insensitive)."""
    return (
        re.search(r"(?<![\w-])" + re.escape(word.lower()) + r"(?![\w-])", text.lower()) is not None
    )


def find_claim(text: str, value: str, words: tuple[str, ...]) -> bool:
    """Is `value` stated in one sentence, or as one table cell, together with every one of
    `words` (whole words, in the sentence, or in the cell's row label or column header)?"""
    pat = _token(value)
    for s in sentences(text):
        if pat.search(s) and all(_has(s, w) for w in words):
            return True
    for row, col, cell in table_cells(text):
        if pat.fullmatch(cell) and all(_has(f"{row} | {col}", w) for w in words):
            return True
    return False
