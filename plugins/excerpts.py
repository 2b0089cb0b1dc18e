"""Excerpt shortening shared by the list widgets."""

from __future__ import annotations


def shorten(text: str, words: int | None, suffix: str) -> str:
    """The first ``words`` words of ``text`` (all of it when None), then ``suffix``."""
    parts = text.split()
    if words is not None:
        parts = parts[:words]
    return " ".join(parts) + suffix if parts else ""
