"""The article being shown: title, date and sanitized body."""

from __future__ import annotations

from typing import Any

from layoutserver.widgets import (
    ArticleView,
    Assets,
    CachePolicy,
    Markup,
    RenderContext,
    Widget,
    html_template,
)

from . import STATIC_FOLDER

TEMPLATE = html_template(
    """<article class="article-body">
<h1 class="article-body__title">{{ article.title }}</h1>
<time class="article-body__date" datetime="{{ article.published_at.isoformat() }}">{{ date }}</time>
<div class="article-body__text">{{ article.body_html }}</div>
</article>"""
)


class ArticleBody(Widget):
    name = "article_body"
    version = "1.0"
    description = "The article of an article page: title, date and body."
    cache_policy = CachePolicy.shared_for(ttl=300, vary=("slug",), depends_on=("subject",))
    assets = Assets(css=("article_body.css",))
    static_folder = STATIC_FOLDER

    def render(self, ctx: RenderContext, options: Any) -> Markup:
        article = ctx.subject
        if not isinstance(article, ArticleView):
            return Markup("")
        local = article.published_at.astimezone(ctx.site.now.tzinfo)
        date = f"{local:%B} {local.day}, {local.year}"
        return TEMPLATE(article=article, date=date)
