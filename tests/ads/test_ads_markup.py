"""Slot markup: reserved sizes, the click link, the beacon, and HTML creatives only ever inside a
sandboxed iframe's ``srcdoc`` (never ``allow-scripts`` with ``allow-same-origin``)."""

from __future__ import annotations

from dataclasses import replace
from html.parser import HTMLParser

import pytest

from layoutserver.ads.decisions.model import CreativeSpec, Size, SlotDecision, SlotSpec
from layoutserver.ads.markup import (
    SANDBOX,
    SANDBOX_POPUPS_ESCAPE,
    Links,
    reserved_size,
    slot_html,
)

HOSTILE = (
    '"></iframe><script>document.cookie="stolen=1";window.top.location="https://evil.example.com/"'
    "</script><img src=x onerror=alert(1)><a href=\"%%CLICK_URL%%\">go</a>"
)
SLOT = SlotSpec("article-1", "Article 1", {"desktop": (Size(728, 90),), "*": (Size(300, 250),)},
                label='Ad <"sponsored">')
LEADERBOARD = Size(728, 90)
LINKS = Links(click="/ads/c/TOKEN-C", impression="/ads/i/TOKEN-I")


def creative(kind: str = "image", size: Size = LEADERBOARD, **fields: str) -> CreativeSpec:
    values = {"click_url": "https://acme.example.com/", "image_url": "/ads/creatives/a.svg",
              "alt": 'Acme "autumn"', **fields}
    return CreativeSpec(id=1, kind=kind, size=size, **values)  # type: ignore[arg-type]


class Elements(HTMLParser):
    """Every start tag of a document with its attributes (values unescaped)."""

    def __init__(self, markup: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(markup)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def all(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]


def test_an_image_creative_is_a_sponsored_link_in_a_reserved_box() -> None:
    markup = str(slot_html(SLOT, creative(), Size(728, 90), LINKS))
    elements = Elements(markup)
    (box,) = [a for a in elements.all("div") if a.get("class") == "ad-spot__box"]
    assert (box["style"] or "").startswith("width:728px;height:90px")
    (link,) = elements.all("a")
    assert link == {"href": "/ads/c/TOKEN-C", "rel": "sponsored noopener", "target": "_blank"}
    image, beacon = elements.all("img")
    assert (image["src"], image["alt"], image["width"], image["height"]) == (
        "/ads/creatives/a.svg", 'Acme "autumn"', "728", "90")
    assert beacon["src"] == "/ads/i/TOKEN-I?f=gif"
    assert (beacon["width"], beacon["height"], beacon["alt"]) == ("1", "1", "")
    assert "loading" not in beacon
    assert 'Ad &lt;&#34;sponsored&#34;&gt;' in markup  # the label, escaped


def test_a_hostile_html_creative_stays_inside_srcdoc() -> None:
    markup = str(slot_html(SLOT, creative("html", html=HOSTILE), Size(728, 90), LINKS))
    elements = Elements(markup)
    assert [name for name, _ in elements.tags] == ["div", "div", "div", "iframe", "img"]
    assert "<script" not in markup and "<img src=x" not in markup
    assert "&lt;script&gt;document.cookie" in markup
    (frame,) = elements.all("iframe")
    sandbox = (frame["sandbox"] or "").split()
    assert sandbox == SANDBOX.split()
    assert "allow-scripts" in sandbox
    assert "allow-same-origin" not in sandbox
    assert not any(token.startswith("allow-top-navigation") for token in sandbox)
    assert (frame["width"], frame["height"], frame["referrerpolicy"]) == ("728", "90",
                                                                          "no-referrer")
    document = frame["srcdoc"] or ""
    assert HOSTILE.replace("%%CLICK_URL%%", "/ads/c/TOKEN-C") in document


@pytest.mark.parametrize(("escape", "expected"), [
    (False, ["allow-scripts", "allow-popups"]),
    (True, ["allow-scripts", "allow-popups", "allow-popups-to-escape-sandbox"]),
])
def test_windows_escape_the_sandbox_only_by_the_advertisers_allowance(
    escape: bool, expected: list[str]
) -> None:
    spec = replace(creative("html", html="<p>x</p>"), popups_escape_sandbox=escape)
    (frame,) = Elements(str(slot_html(SLOT, spec, Size(728, 90), LINKS))).all("iframe")
    assert (frame["sandbox"] or "").split() == expected
    assert (SANDBOX_POPUPS_ESCAPE if escape else SANDBOX).split() == expected


def test_the_click_macro_is_the_signed_click_url() -> None:
    spec = creative("html", html='<a href="%%CLICK_URL%%">Shop</a>')
    links = Links(click="/ads/c/A&B", impression=None)
    (frame,) = Elements(str(slot_html(SLOT, spec, Size(728, 90), links))).all("iframe")
    assert '<a href="/ads/c/A&amp;B">Shop</a>' in (frame["srcdoc"] or "")
    assert "%%CLICK_URL%%" not in (frame["srcdoc"] or "")


def test_a_text_creative_is_a_link() -> None:
    spec = creative("text", text="Coffee <b>now</b>")
    markup = str(slot_html(SLOT, spec, Size(728, 90), LINKS))
    assert ">Coffee &lt;b&gt;now&lt;/b&gt;</a>" in markup
    (link,) = Elements(markup).all("a")
    assert link["href"] == "/ads/c/TOKEN-C" and link["rel"] == "sponsored noopener"


def test_a_lazy_slot_keeps_its_creative_and_beacon_for_the_script_to_render() -> None:
    """In a ``<template>``, inert until viewability.js renders it near the viewport; the box
    keeps its size meanwhile."""
    lazy = SlotSpec("news-1", "News", {"*": (Size(300, 250),)}, lazy=True)
    links = Links("/ads/c/T", "/ads/i/T", "/ads/v/T")
    for spec in (creative(size=Size(300, 250)), creative("html", html="<p>x</p>")):
        markup = str(slot_html(lazy, spec, Size(300, 250), links))
        before, box = markup.split('<div class="ad-spot__box" style="width:300px;height:250px;', 1)
        later, after = box.split('<template class="ad-spot__later">', 1)[1].split("</template>")
        assert 'data-ad-view="/ads/v/T"' in before and after == "</div></div>"
        tags = Elements(later).tags
        assert {name for name, _ in tags} >= {"img" if spec.kind == "image" else "iframe"}
        (beacon,) = [a for name, a in tags if a.get("class") == "ad-spot__beacon"]
        assert beacon["src"] == "/ads/i/T?f=gif"
        assert markup.count("ad-spot__beacon") == 1  # nowhere else
    eager = str(slot_html(SLOT, creative(), LEADERBOARD, links))
    assert "<template" not in eager and "loading=" not in eager
    assert 'data-ad-view="/ads/v/T"' in eager


def test_counted_on_render_means_no_beacon_and_collapsed_means_nothing() -> None:
    markup = str(slot_html(SLOT, creative(), Size(728, 90), Links("/ads/c/T", None)))
    assert "ad-spot__beacon" not in markup
    assert str(slot_html(SLOT, None, None, LINKS)) == ""


@pytest.mark.parametrize(
    ("decision", "device", "expected"),
    [
        (SlotDecision("article-1", Size(728, 90)), "desktop", Size(728, 90)),
        (SlotDecision("article-1", None), "desktop", Size(728, 90)),
        (SlotDecision("article-1", None), "mobile", Size(300, 250)),
    ],
)
def test_the_reserved_size(decision: SlotDecision, device: str, expected: Size) -> None:
    assert reserved_size(SLOT, decision, device) == expected
