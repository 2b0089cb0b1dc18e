"""The newest articles other than the one shown; an offset lets a second block continue."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from layoutserver.widgets import (
    ArticleView,
    Assets,
    CachePolicy,
    Markup,
    RenderContext,
    SectionView,
    Widget,
)
from plugins import STATIC_FOLDER
from plugins.news_list import news_list


class LatestNewsOptions(Schema):
    count = fields.Integer(load_default=5, validate=validate.Range(min=1, max=50))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=500))
    heading = fields.String(load_default="Latest news", allow_none=True,
                            validate=validate.Length(max=100))
    section = fields.String(load_default=None, allow_none=True,
                            validate=validate.Regexp(r"^[a-z0-9]+(?:-[a-z0-9]+)*$"))
    same_section = fields.Boolean(load_default=False)
    """Only the section of the page: a section front's own, or the shown article's."""
    excerpt_words = fields.Integer(load_default=None, allow_none=True,
                                   validate=validate.Range(min=1, max=200))
    excerpt_suffix = fields.String(load_default="...", validate=validate.Length(max=10))
    url_pattern = fields.String(load_default="/pages/article/{slug}",
                                validate=validate.Regexp(r"\{slug\}"))


class LatestNews(Widget):
    name = "latest_news"
    version = "1.0"
    description = "The newest articles, optionally of one section, leaving out the one shown."
    options_schema = LatestNewsOptions
    # Varies on slug: the article shown is left out of the list. Also on date, as articles
    # scheduled for later appear when their time comes.
    cache_policy = CachePolicy.shared_for(ttl=120, vary=("slug", "date"))
    assets = Assets(css=("news_list.css",))
    static_folder = STATIC_FOLDER

    def render(self, ctx: RenderContext, options: Any) -> Markup:
        shown = [ctx.slug] if isinstance(ctx.subject, ArticleView) else []
        section = options["section"]
        if options["same_section"]:
            section = _page_section(ctx.subject)
            if section is None:
                return Markup("")
        articles = ctx.content.latest_articles(
            options["count"],
            offset=options["offset"],
            exclude=shown,
            section=section,
            published_before=ctx.site.now,
        )
        if not articles:
            return Markup("")
        return news_list("latest", options["heading"] or None, articles,
                         options["excerpt_words"], options["excerpt_suffix"],
                         options["url_pattern"])


def _page_section(subject: ArticleView | SectionView) -> str | None:
    if isinstance(subject, SectionView):
        return subject.slug
    return subject.section.slug if subject.section is not None else None
