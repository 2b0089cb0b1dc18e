"""The markup of a list of articles, shared by latest_news and must_read."""

from __future__ import annotations

from collections.abc import Sequence

from marshmallow import fields, validate

from layoutserver.widgets import ArticleSummary, Markup, html_template

from .excerpts import shorten

TEMPLATE = html_template(
    """<section class="news-list news-list--{{ variant }}">
{% if heading %}<h2 class="news-list__heading">{{ heading }}</h2>{% endif %}
<ul class="news-list__items">
{% for item in items %}<li class="news-list__item">
<h3 class="news-list__title"><a href="{{ item.url }}">{{ item.title }}</a></h3>
{% if item.excerpt %}<p class="news-list__excerpt">{{ item.excerpt }}</p>{% endif %}
</li>
{% endfor %}</ul>
</section>"""
)


def url_pattern_field() -> fields.String:
    """The ``url_pattern`` option: how a list links to an article, a path (or URL) with
    ``{slug}`` anywhere in it (``/news/{slug}.html``); the layoutserver page by default."""
    return fields.String(load_default="/pages/article/{slug}", validate=validate.Regexp(
        r"[\s\S]*\{slug\}", error="Must contain {{slug}}, e.g. /news/{{slug}}.html."),
        metadata={"description": "How it links to an article: a path or URL with {slug} in "
                                 "it."})


def news_list(
    variant: str,
    heading: str | None,
    articles: Sequence[ArticleSummary],
    excerpt_words: int | None,
    suffix: str,
    url_pattern: str,
) -> Markup:
    items = [
        {
            "title": article.title,
            "url": url_pattern.format(slug=article.slug),
            "excerpt": shorten(article.excerpt, excerpt_words, suffix),
        }
        for article in articles
    ]
    return TEMPLATE(variant=variant, heading=heading, items=items)
