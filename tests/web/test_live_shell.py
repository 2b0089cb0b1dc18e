"""A cached body split at the marks of its per-request placements, filled per request."""

from __future__ import annotations

import json

from markupsafe import Markup

from layoutserver.layouts.model import Placement
from layoutserver.render.renderer import RenderedPlacement
from layoutserver.render.shell import INLINE_PART_BYTES, LIVE_MARK, Shell
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


def test_a_frame_includes_the_long_pieces_and_writes_in_the_short_ones() -> None:
    long = "<article>" + "x" * INLINE_PART_BYTES + "</article>"
    shell = Shell.of(shell_of(long, "@a", "</div><div>", "@b", long), ["a", "b"])
    frame = shell.frame([live("a", "<i>A</i>"), live("b", "B")],
                        lambda number: f"/parts/p/{number}?x=<&>")
    assert frame == (b'<esi:include src="/parts/p/0?x=&lt;&amp;&gt;"/><i>A</i></div><div>B'
                     b'<esi:include src="/parts/p/2?x=&lt;&amp;&gt;"/>')


def test_the_structure_names_where_a_shell_is_cut_not_what_is_in_it() -> None:
    first = Shell.of(shell_of("<p>old list</p>", "@a", "</p>"), ["a"])
    later = Shell.of(shell_of("<p>a fresher list</p>", "@a", "</p>"), ["a"])
    other_cut = Shell.of(shell_of("<p>", "@a", "@b", "</p>"), ["a", "b"])
    assert first.structure("L1", "page") == later.structure("L1", "page")
    assert first.structure("L1", "page") != other_cut.structure("L1", "page")
    assert first.structure("L1", "page") != first.structure("L2", "page")
    assert first.structure("L1", "page") != first.structure("L1", "region:main")
