"""A cached body split at the marks of its per-request placements, filled per request."""

from __future__ import annotations

import json

from markupsafe import Markup

from layoutserver.layouts.model import Placement
from layoutserver.render.renderer import RenderedPlacement
from layoutserver.render.shell import LIVE_MARK, Shell
from layoutserver.widgets import CachePolicy


def live(pid: str, html: str) -> RenderedPlacement:
    placement = Placement(pid, "ad_spot", "main", {}, "{}")
    return RenderedPlacement(placement, Markup(html), Markup(html), "miss", 0.0,
                             CachePolicy.per_request())


def shell_of(*parts: str) -> bytes:
    return "".join(LIVE_MARK.format(p[1:]) if p.startswith("@") else p for p in parts).encode()


def test_the_marks_are_filled_whatever_order_the_placements_come_in() -> None:
    shell = Shell.of(shell_of("<p>", "@b", "</p><div>", "@a", "</div>"), ["a", "b"])
    assert shell.ids == ("b", "a")
    body, _ = shell.fill("text/html", [live("a", "<i>A</i>"), live("b", "B & b")])
    assert body == b"<p>B & b</p><div><i>A</i></div>"


def test_a_json_body_gets_its_output_json_escaped_and_a_missing_one_keeps_its_mark() -> None:
    text = shell_of('{"regions": {"main": "', "@a", "@b", '"}}')
    body, _ = Shell.of(text, ["a", "b"]).fill("application/json", [live("a", '<a href="x">')])
    assert json.loads(body)["regions"]["main"] == '<a href="x">' + LIVE_MARK.format("b")


def test_the_etag_is_strong_without_hashing_the_whole_body() -> None:
    """Equal bodies get equal ETags; outputs that only move a byte between two placements
    make another body and get another ETag; so does another shell."""
    shell = Shell.of(shell_of("x", "@a", "y", "@b", "z"), ["a", "b"])
    first = shell.fill("text/html", [live("a", "ab"), live("b", "c")])
    again = shell.fill("text/html", [live("a", "ab"), live("b", "c")])
    moved = shell.fill("text/html", [live("a", "a"), live("b", "bc")])
    other = Shell.of(shell_of("X", "@a", "y", "@b", "z"), ["a", "b"]).fill(
        "text/html", [live("a", "ab"), live("b", "c")])
    assert first == again
    assert len({first[1], moved[1], other[1]}) == 3
