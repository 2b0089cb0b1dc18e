"""Variants and inline placements in a layout's TOML: what loads, how each problem is said
(the words ``layouts check``, the API and the console show), and the plans a layout compiles
into (which placements each device class and section sees)."""

from __future__ import annotations

import re
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from markupsafe import Markup
from support import VARIANTS_BASE, VARIANTS_SPORTS

from layoutserver.content.views import ArticleView, SectionView
from layoutserver.layouts import Layout
from layoutserver.layouts.changes import summarize
from layoutserver.layouts.loader import compile_layout
from layoutserver.layouts.problems import LayoutProblem
from layoutserver.layouts.toml_text import dump_layout, loads_document
from layoutserver.registry import WidgetRegistry

BASE, SPORTS = VARIANTS_BASE, VARIANTS_SPORTS


@pytest.fixture(scope="module")
def registry() -> WidgetRegistry:
    return WidgetRegistry.discover()


def compiled(registry: WidgetRegistry, text: str) -> tuple[Layout | None, list[str]]:
    problems: list[LayoutProblem] = []
    layout = compile_layout("article", text, registry, problems, where="article.toml",
                            source=Path("article.toml"))
    return layout, [str(problem) for problem in problems]


def article_of(section: SectionView | None) -> ArticleView:
    return ArticleView("a", "A", "", Markup("<p>A.</p>"), datetime(2030, 1, 1, tzinfo=UTC),
                       section, None, ())


def ids(layout: Layout) -> list[str]:
    return [p.id for p in layout.placement_list]


def test_plans_per_device_class_and_section(registry: WidgetRegistry) -> None:
    layout, problems = compiled(registry, BASE + SPORTS)
    assert problems == [] and layout is not None and layout.plans is not None
    plans = layout.plans
    assert plans.varies_on_device
    desktop, tablet, mobile = (plans.for_device(d) for d in ("desktop", "tablet", "mobile"))
    assert desktop.base is tablet.base  # alike: one plan, one digest
    assert ids(desktop.base) == ["article", "desktop-news", "ad-bottom", "must-read"]
    assert ids(mobile.base) == ["article", "ad-inline", "ad-bottom", "must-read"]
    assert mobile.base.placement("article").filled == ("after-paragraph-3",)  # type: ignore[union-attr]
    assert desktop.base.placement("article").filled == ()  # type: ignore[union-attr]
    article = article_of(SectionView("sports", "Sports"))
    assert ids(mobile.for_subject(article)) == ["article", "ad-inline", "ad-bottom",
                                                "sports-news"]
    assert mobile.for_subject(article).region("aside").label == "Must read"  # type: ignore[union-attr]
    assert mobile.for_subject(SectionView("football", "Football")).region(  # a section front
        "aside").placements[0].id == "sports-news"  # type: ignore[union-attr]
    world = article_of(SectionView("world", "World"))
    assert mobile.for_subject(world) is mobile.base
    assert mobile.for_subject(article_of(None)) is mobile.base
    assert len({plan.digest for plan in plans.all}) == len(plans.all) == 4


def test_a_layout_without_variants_or_devices_is_its_own_plan(registry: WidgetRegistry
                                                               ) -> None:
    text = re.sub(r"devices = .*\n", "", BASE)
    layout, problems = compiled(registry, text)
    assert problems == [] and layout is not None and layout.plans is not None
    assert not layout.plans.varies_on_device
    assert layout.plans.all == (layout,)  # nothing of the request read, no cache key changed
    assert layout.placement("article").filled == ("after-paragraph-3",)  # type: ignore[union-attr]


PROBLEMS = {
    "an unknown device class": (
        BASE.replace('devices = ["mobile"]', 'devices = ["phone"]'),
        "article.toml: region 'main': placement #2 (ad_spot, id 'ad-inline'): field 'devices': "
        "unknown device class(es) 'phone'; known: desktop, tablet, mobile"),
    "no device": (
        BASE.replace('devices = ["mobile"]', "devices = []"),
        "field 'devices': must be a list of one or more device classes"),
    "a position without inside": (
        BASE.replace('inside = "article"\n', ""),
        "placement #2 (ad_spot, id 'ad-inline'): field 'inside': required with 'position': the "
        "id of the placement (in this region) whose inner position this placement fills"),
    "inside without a position": (
        BASE.replace('position = "after-paragraph-3"\n', ""),
        "field 'position': required with 'inside': which inner position of placement "
        "'article' this placement fills"),
    "inside a placement of another region": (
        BASE.replace('inside = "article"', 'inside = "must-read"'),
        "placement #2 (ad_spot, id 'ad-inline'): field 'inside': no placement 'must-read' in "
        "this region: a placement inside another is listed in the region of the one it is "
        "inside"),
    "a position the widget does not offer": (
        BASE.replace('"after-paragraph-3"', '"after-para-3"'),
        "field 'position': widget 'article_body' (placement 'article') offers no position "
        "'after-para-3'; it offers: after-paragraph-{n} ({n}: a number from 1)"),
    "a position number 0": (
        BASE.replace('"after-paragraph-3"', '"after-paragraph-0"'),
        "offers no position 'after-paragraph-0'"),
    "a widget without positions": (
        BASE.replace('inside = "article"', 'inside = "desktop-news"').replace(
            '["mobile"]', '["tablet"]'),
        "field 'position': widget 'latest_news' (placement 'desktop-news') offers no inner "
        "positions"),
    "nested": (
        BASE.replace('[[regions]]\nname = "aside"',
                     '[[regions.placements]]\nwidget = "ad_spot"\nid = "deeper"\n'
                     'options = { slot = "x" }\ninside = "ad-inline"\n'
                     'position = "after-paragraph-1"\n\n[[regions]]\nname = "aside"'),
        "placement #5 (ad_spot, id 'deeper'): field 'inside': placement 'ad-inline' is itself "
        "inside 'article': placements inside others do not nest"),
    "shown to no device": (
        BASE.replace('widget = "article_body"\nid = "article"',
                     'widget = "article_body"\nid = "article"\ndevices = ["desktop"]'),
        "field 'devices': shown to no device: placement 'article' is shown only to desktop"),
    "a variant's unknown region": (
        BASE + SPORTS.replace('name = "aside"', 'name = "sidebar"'),
        "article.toml: variant 'sports': region 'sidebar': field 'name': not a region of the "
        "layout: a variant replaces the layout's regions by name (aside, main)"),
    "a section in two variants": (
        BASE + SPORTS + SPORTS.replace('"sports", "football"', '"football"').replace(
            'name = "sports"', 'name = "soccer"'),
        "article.toml: variant 'soccer': field 'sections': section 'football' is in variant "
        "'sports' already: a section's pages follow one variant"),
    "a variant without sections": (
        BASE + SPORTS.replace('sections = ["sports", "football"]\n', ""),
        "variant 'sports': field 'sections': required: a list of one or more section slugs"),
    "a variant's placement problem": (
        BASE + SPORTS.replace("count = 3", 'count = "many"'),
        "article.toml: variant 'sports': region 'aside': placement #1 (latest_news, id "
        "'sports-news'): field 'options.count': Not a valid integer."),
    "an id twice on a variant's pages": (
        BASE + SPORTS.replace('id = "sports-news"', 'id = "desktop-news"'),
        "variant 'sports': region 'aside': placement #1 (latest_news): field 'id': id "
        "'desktop-news' is used twice in this layout"),
    "an unknown key in a variant": (
        BASE + SPORTS.replace('name = "sports"', 'name = "sports"\ndevice = "mobile"'),
        "variant 'sports': field 'device': unknown key"),
    "a variant with a second main": (
        BASE + SPORTS.replace('name = "aside"', 'name = "aside"\nelement = "main"'),
        "variant 'sports': region 'aside': field 'element': a page has one main landmark"),
}


@pytest.mark.parametrize("case", PROBLEMS, ids=list(PROBLEMS))
def test_each_problem_is_said_at_its_place(registry: WidgetRegistry, case: str) -> None:
    text, expected = PROBLEMS[case]
    layout, problems = compiled(registry, text)
    assert layout is None
    assert any(expected in problem for problem in problems), problems


def test_a_variant_may_reuse_the_ids_of_the_region_it_replaces(registry: WidgetRegistry
                                                                ) -> None:
    layout, problems = compiled(registry, BASE + SPORTS.replace("sports-news", "must-read"))
    assert problems == [] and layout is not None
    assert layout.variants[0].regions[0].placements[0].widget == "latest_news"


def test_the_version_summary_and_the_json_form_know_variants_and_positions(
        registry: WidgetRegistry) -> None:
    before, _ = compiled(registry, BASE)
    text = BASE.replace('devices = ["mobile"]', 'devices = ["mobile", "tablet"]') + SPORTS
    after, _ = compiled(registry, text)
    assert before is not None and after is not None
    assert summarize(before, after) == (
        "devices or inner position changed: ad-inline; variants changed: sports")
    document = loads_document(text)
    assert document["variants"][0]["regions"][0]["placements"][0]["id"] == "sports-news"
    assert tomllib.loads(dump_layout(document)) == document
