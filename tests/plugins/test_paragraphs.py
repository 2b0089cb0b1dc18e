"""The article body's ``after-paragraph-N`` positions: after the text's own paragraphs (not
those inside a quote, a list or a table), never past the last one."""

from __future__ import annotations

from markupsafe import Markup

from layoutserver.plugins.paragraphs import paragraph_ends, with_positions

TEXT = ('<p>One</p><blockquote><p>Quoted</p></blockquote><p title="a > b">Two</p>'
        "<ul><li><p>Listed</p></li></ul><table><tr><td><p>Cell</p></td></tr></table>"
        "<p>Three <em>and</em> more</p>")


def mark(name: str) -> Markup:
    return Markup(f"[{name}]")


def test_the_texts_own_paragraphs_are_counted() -> None:
    assert [TEXT[:end].rsplit("<p", 1)[1] for end in paragraph_ends(TEXT)] == [
        ">One</p>", ' title="a > b">Two</p>', ">Three <em>and</em> more</p>"]


def test_positions_are_written_after_their_paragraphs_and_not_past_the_last() -> None:
    filled = frozenset({"after-paragraph-1", "after-paragraph-3", "after-paragraph-4"})
    written = with_positions(Markup(TEXT), filled, mark)
    assert written == TEXT.replace("<p>One</p>", "<p>One</p>[after-paragraph-1]") + (
        "[after-paragraph-3]")
    assert isinstance(written, Markup)
    assert with_positions(Markup(TEXT), frozenset(), mark) == TEXT
    assert with_positions(Markup("<p>Only</p>"), frozenset({"after-paragraph-2"}), mark) == (
        "<p>Only</p>")
