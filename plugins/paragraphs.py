"""Where an article's paragraphs end: the inner positions ``after-paragraph-N`` of the article
body. Counted are the text's own paragraphs (``<p>`` at the top level), not those inside a
quote, a list, a table or a figure: a position never lands inside one of those."""

from __future__ import annotations

import re
from collections.abc import Callable

from markupsafe import Markup

#: A tag, its attributes read whole (a quoted ``>`` does not end it).
ATTRIBUTE = r"""\s+[^\s"'>/=]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'>]+))?"""
TAG = re.compile(rf"<(/?)([A-Za-z][A-Za-z0-9-]*)(?:{ATTRIBUTE})*\s*/?>")
#: Elements whose paragraphs are not the text's own.
NESTING = frozenset({"blockquote", "ul", "ol", "table", "figure", "aside", "div", "section",
                     "details", "dl", "pre"})
AFTER_PARAGRAPH = "after-paragraph-"


def paragraph_ends(html: str) -> list[int]:
    """The offset just after each top-level ``</p>`` of ``html``, in order."""
    depth = 0
    ends: list[int] = []
    for tag in TAG.finditer(html):
        closing, name = tag.group(1), tag.group(2).lower()
        if name in NESTING:
            depth = max(0, depth - 1) if closing else depth + 1
        elif name == "p" and closing and depth == 0:
            ends.append(tag.end())
    return ends


def with_positions(html: Markup, filled: frozenset[str],
                   position: Callable[[str], Markup]) -> Markup:
    """``html`` with ``position(name)`` after each paragraph whose ``after-paragraph-N`` is in
    ``filled``; positions past the last paragraph are not written."""
    wanted = sorted(int(name.removeprefix(AFTER_PARAGRAPH)) for name in filled
                    if name.startswith(AFTER_PARAGRAPH)
                    and name.removeprefix(AFTER_PARAGRAPH).isdigit())
    if not wanted:
        return html
    ends = paragraph_ends(html)
    parts: list[str] = []
    start = 0
    for number in wanted:
        if number > len(ends):
            break
        parts += [html[start:ends[number - 1]], position(f"{AFTER_PARAGRAPH}{number}")]
        start = ends[number - 1]
    parts.append(html[start:])
    return Markup("".join(parts))  # noqa: S704 - sanitized markup and the core's marks
