"""Student text made safe where it is shown: control characters escaped for the terminal
(``printable``), Markdown and HTML escaped for a summary (``markdown_text``), so a notebook cannot
redraw the terminal, fake a table row or inject a link.
"""

from __future__ import annotations

import re

_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>=:])")  # punctuation Markdown may act on


def printable(text: str) -> str:
    """``text`` with control characters (ANSI escapes, carriage returns, bells) and lone
    surrogates shown as ``\\x1b``-style escapes, so a message cannot redraw the terminal or fake
    a table row."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))


def markdown_text(text: str, width: int = 200) -> str:
    """One line of ``text`` that Markdown and HTML show as written: no tag, link, image,
    emphasis or table cell can come from it."""
    text = one_line(printable(text), width)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MARKDOWN.sub(r"\\\1", text)


def one_line(text: str, width: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 3] + "..."
