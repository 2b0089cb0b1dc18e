"""What widgets add to the page's <head>: each part once (the first placement's), in a fixed
order, escaped, cached with the output it came with, and in the JSON fragments envelope."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from support import SEED_PATH, SEED_SLUG
from testwidgets import Heading

from layoutserver.core import get_core
from layoutserver.render.assembly import head_order
from layoutserver.widgets import JsonLd, Link, Meta, RequestView

TWO_HEADINGS = """\
subject = "article"

[[regions]]
name = "main"

[[regions.placements]]
widget = "test_heading"
id = "first"
options = { description = "First & <best>" }

[[regions.placements]]
widget = "test_heading"
id = "second"
options = { description = "Second" }

[[regions.placements]]
widget = "test_per_request"
id = "reader"
"""


def head_of(page: str) -> str:
    found = re.search(r"<head>(.*)</head>", page, re.S)
    assert found is not None
    return found.group(1)


def test_each_part_once_the_first_placements_in_a_fixed_order(
        make_app: Callable[..., Flask]) -> None:
    client = make_app(layouts={"article": TWO_HEADINGS}).test_client()
    head = head_of(client.get(SEED_PATH).get_data(as_text=True))
    assert head.count('<link rel="canonical"') == 1
    assert head.count('name="description"') == 1
    assert '<meta name="description" content="First &amp; &lt;best&gt;">' in head
    assert head.count('property="og:type"') == 1
    # a repeatable property: one per content
    assert 'property="article:tag" content="First' in head
    assert 'property="article:tag" content="Second"' in head
    positions = [head.index(marker) for marker in (
        '<link rel="canonical"', 'name="description"', 'property="og:type"',
        'application/ld+json')]
    assert positions == sorted(positions)
    assert head.index("<title>") < positions[0]
    # one JSON-LD per @type and @id: the first placement's
    assert head.count("application/ld+json") == 1 and "Second" not in head.split("ld+json")[1]


def test_the_head_comes_back_with_a_cached_output(make_app: Callable[..., Flask]) -> None:
    app = make_app(layouts={"article": TWO_HEADINGS}, settings={"CACHE_TYPE": "SimpleCache"})
    core = get_core(app)
    layout = core.layouts.get("article")
    assert layout is not None
    site = core.site_view()
    subject = core.subject(layout, SEED_SLUG, site)
    assert subject is not None
    page = core.page_context(layout, SEED_SLUG, subject, RequestView("desktop", "en-US", None,
                                                                     SEED_PATH), site)
    placements = [p for p in layout.placements() if p.widget == "test_heading"]
    version = core.content.version()
    first = core.renderer.render(layout, page, placements, version)
    renders = Heading.renders
    again = core.renderer.render(layout, page, placements, version)
    assert [item.outcome for item in again] == ["hit", "hit"]
    assert Heading.renders == renders  # nothing rendered: the head came from the cache
    assert [item.head for item in again] == [item.head for item in first]
    assert any(isinstance(part, JsonLd) for part in again[0].head)


def test_the_json_envelope_lists_the_head(make_app: Callable[..., Flask]) -> None:
    client = make_app(layouts={"article": TWO_HEADINGS}).test_client()
    document = client.get(f"/fragments/article/{SEED_SLUG}",
                          headers={"Accept": "application/json"}).get_json()
    assert document["head"][0].startswith('<link rel="canonical"')
    assert any('name="description"' in part for part in document["head"])
    region = client.get(f"/fragments/article/{SEED_SLUG}/main").get_data(as_text=True)
    assert "<meta" not in region


@pytest.mark.parametrize("value", ["</script><script>alert(1)</script>", "<!--", "\u2028&\u2029",
                                   "]]>", "<SCRIPT>"])
def test_structured_data_cannot_leave_its_script_element(value: str) -> None:
    html = str(JsonLd({"@type": "Thing", "name": value}).html())
    inner = html.removeprefix('<script type="application/ld+json">').removesuffix("</script>")
    assert "<" not in inner and ">" not in inner and "&" not in inner
    assert "\u2028" not in inner and "\u2029" not in inner
    assert json.loads(inner)["name"] == value


def test_meta_and_link_escape_their_values() -> None:
    assert str(Meta('"><script>', name="description").html()) == (
        '<meta name="description" content="&#34;&gt;&lt;script&gt;">')
    assert str(Link("canonical", 'x" onload="y').html()) == (
        '<link rel="canonical" href="x&#34; onload=&#34;y">')


def test_the_order_of_kinds() -> None:
    parts: list[Any] = [JsonLd({}), Meta("x", name="twitter:card"), Meta("x", property_="og:x"),
                        Meta("x", name="author"), Link("alternate", "/feed"),
                        Meta("x", name="description"), Meta("x", name="robots"),
                        Link("canonical", "/")]
    assert sorted(parts, key=head_order) == list(reversed(parts))
