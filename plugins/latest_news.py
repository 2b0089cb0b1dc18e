"""The newest articles other than the one shown; an offset lets a second block continue."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from marshmallow import Schema, fields, validate

from layoutserver.widgets import (
    ArticleSummary,
    ArticleView,
    Assets,
    CachePolicy,
    Markup,
    PageContext,
    PlacementRequest,
    RenderContext,
    SectionView,
    Widget,
)

from . import STATIC_FOLDER
from .news_list import news_list, url_pattern_field


class LatestNewsOptions(Schema):
    count = fields.Integer(load_default=5, validate=validate.Range(min=1, max=50),
                           metadata={"description": "How many articles it lists."})
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=500), metadata={
        "description": "How many of the newest to skip: a second box continues the first."})
    heading = fields.String(load_default="Latest news", allow_none=True,
                            validate=validate.Length(max=100),
                            metadata={"description": "Its heading; empty: none."})
    section = fields.String(load_default=None, allow_none=True,
                            validate=validate.Regexp(r"^[a-z0-9]+(?:-[a-z0-9]+)*$"),
                            metadata={"description": "Only this section's articles (its "
                                                     "slug); empty: every section."})
    same_section = fields.Boolean(load_default=False, metadata={
        "description": "Only the section of the page: a section front's own, or the shown "
                       "article's."})
    excerpt_words = fields.Integer(load_default=None, allow_none=True,
                                   validate=validate.Range(min=1, max=200),
                                   metadata={"description": "Words of each article's excerpt "
                                                            "shown; empty: no excerpt."})
    excerpt_suffix = fields.String(load_default="...", validate=validate.Length(max=10),
                                   metadata={"description": "Ends a shortened excerpt."})
    url_pattern = url_pattern_field()


class LatestNews(Widget):
    name = "latest_news"
    version = "1.0"
    description = "The newest articles, optionally of one section, leaving out the one shown."
    options_schema = LatestNewsOptions
    # Varies on slug: the article shown is left out of the list. Also on date, as articles
    # scheduled for later appear when their time comes.
    cache_policy = CachePolicy.shared_for(ttl=120, vary=("slug", "date"),
                                          depends_on=("subject", "articles"))
    assets = Assets(css=("news_list.css",))
    static_folder = STATIC_FOLDER

    @classmethod
    def prepare_page(
        cls, page: PageContext, placements: Sequence[PlacementRequest]
    ) -> Mapping[str, Any]:
        """Placements that list the same articles (a block and its continuation, by offset) share
        one query: the newest ``max(offset + count)`` articles, sliced for each."""
        by_filter: dict[str | None, list[PlacementRequest]] = defaultdict(list)
        for placement in placements:
            section = _section_filter(page, placement.options)
            if section is not _NO_SECTION:
                by_filter[section].append(placement)
        shares: dict[str, list[ArticleSummary]] = {}
        for section, group in by_filter.items():
            depth = max(p.options["offset"] + p.options["count"] for p in group)
            newest = _latest(page, depth, 0, section)
            for placement in group:
                start = placement.options["offset"]
                shares[placement.placement_id] = newest[start:start + placement.options["count"]]
        return shares

    def render(self, ctx: RenderContext, options: Any) -> Markup:
        articles = ctx.prepared
        if articles is None:
            section = _section_filter(ctx, options)
            if section is _NO_SECTION:
                return Markup("")
            articles = _latest(ctx, options["count"], options["offset"], section)
        if not articles:
            return Markup("")
        return news_list("latest", options["heading"] or None, articles,
                         options["excerpt_words"], options["excerpt_suffix"],
                         options["url_pattern"])


_NO_SECTION = "\x00no section"
"""same_section on a page whose subject has no section: nothing to list."""


def _section_filter(page: PageContext, options: Any) -> str | None:
    if not options["same_section"]:
        section: str | None = options["section"]
        return section
    subject = page.subject
    if isinstance(subject, SectionView):
        return subject.slug
    return subject.section.slug if subject.section is not None else _NO_SECTION


def _latest(
    page: PageContext, count: int, offset: int, section: str | None
) -> list[ArticleSummary]:
    shown = [page.slug] if isinstance(page.subject, ArticleView) else []
    return page.content.latest_articles(count, offset=offset, exclude=shown, section=section,
                                        published_before=page.site.now)
