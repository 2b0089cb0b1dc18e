"""Edits of a layout document (``layouts.editing``) and who may make them
(``layouts.edit_rights``): pure functions, no app."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any

import pytest

from layoutserver.layouts import editing
from layoutserver.layouts.edit_rights import Part, refused_changes
from layoutserver.layouts.loader import compile_layout
from layoutserver.layouts.problems import LayoutProblem
from layoutserver.registry import WidgetRegistry

ARTICLE = tomllib.loads((Path(__file__).resolve().parents[2] / "config" / "layouts"
                         / "article.toml").read_text())
VARIANT = {"name": "sports", "sections": ["sports"], "regions": [
    {"name": "aside", "placements": [
        {"widget": "latest_news", "id": "must-read"},  # an id the replaced region uses
        {"widget": "ad_spot", "id": "ad-sports", "options": {"slot": "news-1"}}]}]}


def is_ad(widget: str) -> bool:
    return widget == "ad_spot"


def ids(document: dict[str, Any], region: str, variant: str | None = None) -> list[str]:
    found = next(r for r in editing.regions(document, variant) if r["name"] == region)
    return [p["id"] for p in found["placements"]]


def test_ids_are_written_as_the_loader_names_them() -> None:
    text = """[[regions]]
name = "main"

[[regions.placements]]
widget = "latest_news"

[[regions.placements]]
widget = "latest_news"
options = { offset = 4 }

[[regions.placements]]
widget = "must_read"
id = "latest-news-3"

[[regions.placements]]
widget = "latest_news"
"""
    problems: list[LayoutProblem] = []
    layout = compile_layout("t", text, WidgetRegistry.discover(), problems, where="t",
                            source=Path("t"))
    assert layout is not None and not problems
    document = tomllib.loads(text)
    written = editing.with_ids(document)
    assert ids(written, "main") == [p.id for p in layout.placements()] == [
        "latest-news", "latest-news-2", "latest-news-3", "latest-news-4"]
    assert "id" not in document["regions"][0]["placements"][0]  # the input is left alone
    # moving the second above the first renames neither
    moved = editing.step(document, "latest-news-2", -1)
    assert [(p["id"], p.get("options")) for p in moved["regions"][0]["placements"][:2]] == [
        ("latest-news-2", {"offset": 4}), ("latest-news", None)]


def test_edits_keep_every_key_they_do_not_know() -> None:
    document = copy.deepcopy(ARTICLE)
    inline = {"widget": "ad_spot", "id": "ad-inline", "options": {"slot": "news-1"},
              "inside": "article", "position": "after-paragraph-3", "devices": ["mobile"],
              "later": {"a key": "the loader learns later"}}
    added = editing.add(document, "main", inline, 1)
    assert editing.at(added, "main", 1) == inline
    moved = editing.move(added, "ad-inline", "main", 4)
    assert editing.at(moved, "main", 4) == inline
    assert ids(moved, "main")[:5] == ["article", "author", "ad-article-1", "ad-article-2",
                                      "ad-inline"]
    stepped = editing.step(moved, "ad-inline", 1)
    assert ids(stepped, "main")[4:6] == ["ad-article-3", "ad-inline"]
    gone = editing.remove(stepped, "ad-inline")
    assert ids(gone, "main") == ids(editing.with_ids(ARTICLE), "main")
    assert document == ARTICLE  # nothing edited in place
    changed = editing.replace(moved, "ad-inline", {**inline, "devices": ["tablet"]})
    assert editing.find(changed, "ad-inline")[1]["devices"] == ["tablet"]


def test_an_edit_that_cannot_be_made_says_why() -> None:
    with pytest.raises(editing.EditError, match="no placement 'nope'"):
        editing.remove(ARTICLE, "nope")
    with pytest.raises(editing.EditError, match=r"no region 'footer' in this layout \(regions: "
                                                r"header, main, aside\)") as error:
        editing.move(ARTICLE, "must-read", "footer", 0)
    assert error.value.key == "region"
    with pytest.raises(editing.EditError, match="region 'aside' has no position 3"):
        editing.move(ARTICLE, "ad-article-1", "aside", 2)
    with pytest.raises(editing.EditError, match="at the top of region 'header' already"):
        editing.step(ARTICLE, "date-bar", -1)
    with pytest.raises(editing.EditError, match="the id 'must-read' is taken") as taken:
        editing.add(ARTICLE, "main", {"widget": "ad_spot", "id": "must-read"})
    assert taken.value.key == "id"
    with pytest.raises(editing.EditError, match="the id 'author' is taken"):
        editing.replace(ARTICLE, "must-read", {"widget": "must_read", "id": "author"})


def test_a_variants_placements_are_found_and_moved_in_its_scope() -> None:
    document = {**copy.deepcopy(ARTICLE), "variants": [copy.deepcopy(VARIANT)]}
    assert editing.scopes(document) == [None, "sports"]
    assert editing.find(document, "must-read", "sports")[1]["widget"] == "latest_news"
    assert editing.find(document, "must-read")[1]["widget"] == "must_read"
    moved = editing.step(document, "ad-sports", -1, "sports")
    assert ids(moved, "aside", "sports") == ["ad-sports", "must-read"]
    assert ids(moved, "aside") == ["must-read"]
    assert editing.places(document, "ad-sports", "sports") == [
        ("aside", 0, None), ("aside", 1, "must-read")]
    with pytest.raises(editing.EditError, match="no variant 'golf'"):
        editing.remove(document, "ad-sports", "golf")


def test_ad_ops_change_ad_placements_and_nothing_else() -> None:
    ads_only: frozenset[Part] = frozenset({"ads"})
    moved = editing.move(ARTICLE, "ad-article-2", "aside", 1)
    inline = editing.add(moved, "main", {"widget": "ad_spot", "options": {"slot": "news-1"},
                                         "inside": "article", "position": "after-paragraph-3",
                                         "devices": ["mobile"]}, 1)
    assert refused_changes(ARTICLE, inline, ads_only, is_ad, "draft") == []
    content_moved = editing.move(ARTICLE, "latest-news", "main", 0)
    assert [(p.region, p.placement, p.message) for p in refused_changes(
        ARTICLE, content_moved, ads_only, is_ad, "draft")] == [
        ("main", "#1 (latest_news, id 'latest-news')",
         "reorders a content widget: your role may change ad placements")]
    assert [p.message for p in refused_changes(
        ARTICLE, editing.move(ARTICLE, "must-read", "main", 0), ads_only, is_ad, "draft")] == [
        "moves (from region 'aside') a content widget: your role may change ad placements"]
    # stepping a content widget past an ad spot is moving the ad spot: the content keeps its
    # order, and an ad spot may go anywhere among it
    past = editing.step(ARTICLE, "latest-news", 1)
    assert ids(past, "main")[5:7] == ["ad-news-1", "latest-news"]
    assert refused_changes(ARTICLE, past, ads_only, is_ad, "draft") == []
    retitled = {**ARTICLE, "title": "Story"}
    assert [str(p) for p in refused_changes(ARTICLE, retitled, ads_only, is_ad, "draft")] == [
        "draft: field 'title': changes the layout's title: your role may change ad placements"]
    # a placement turned from content into an ad needs both parts
    swapped = editing.replace(ARTICLE, "author", {"widget": "ad_spot", "id": "author",
                                                   "options": {"slot": "news-1"}})
    assert [p.message.split(":")[0] for p in refused_changes(
        ARTICLE, swapped, ads_only, is_ad, "draft")] == ["removes a content widget"]


def test_publishers_arrange_content_around_the_ad_spots() -> None:
    content: frozenset[Part] = frozenset({"content"})
    document = {**copy.deepcopy(ARTICLE), "variants": [copy.deepcopy(VARIANT)]}
    arranged = editing.move(document, "latest-news", "aside", 0)
    assert refused_changes(document, arranged, content, is_ad, "draft") == []
    ad_changed = editing.replace(document, "ad-sports", {
        "widget": "ad_spot", "id": "ad-sports", "options": {"slot": "news-2"}}, "sports")
    problems = refused_changes(document, ad_changed, content, is_ad, "draft")
    assert [(p.variant, p.region, p.message) for p in problems] == [
        ("sports", "aside", "changes an ad placement: your role may change content widgets "
                            "and the layout")]
    resectioned = copy.deepcopy(document)
    resectioned["variants"][0]["sections"] = ["sports", "golf"]
    assert refused_changes(document, resectioned, content, is_ad, "draft") == []
    assert [p.field for p in refused_changes(document, resectioned, frozenset({"ads"}),
                                             is_ad, "draft")] == ["variants"]


def test_a_variant_starts_as_a_copy_of_the_regions_it_replaces() -> None:
    added = editing.add_variant(ARTICLE, "sports", ["sports"], ["aside"])
    assert added["variants"] == [{"name": "sports", "sections": ["sports"], "regions": [
        {"name": "aside", "placements": [
            {"widget": "must_read", "id": "must-read",
             "options": {"list": "must-read", "excerpt_words": 9}}]}]}]
    with pytest.raises(editing.EditError, match="a variant 'sports' already"):
        editing.add_variant(added, "sports", ["golf"], ["aside"])
    with pytest.raises(editing.EditError, match="choose one or more of the layout's regions"):
        editing.add_variant(added, "golf", ["golf"], ["sidebar"])
    resectioned = editing.set_sections(added, "sports", ["sports", "golf"])
    assert resectioned["variants"][0]["sections"] == ["sports", "golf"]
    assert "variants" not in editing.remove_variant(added, "sports")
    with pytest.raises(editing.EditError, match="no variant 'golf'"):
        editing.remove_variant(added, "golf")
