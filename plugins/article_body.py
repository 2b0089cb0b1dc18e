"""The article being shown: title, date and sanitized body; and what the page's head says about
it (description, canonical link, robots, Open Graph, Twitter card, schema.org NewsArticle)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from layoutserver.widgets import (
    ArticleView,
    Assets,
    CachePolicy,
    HeadPart,
    JsonLd,
    Link,
    Markup,
    Meta,
    Position,
    RenderContext,
    Rendered,
    Widget,
    html_template,
)

from . import STATIC_FOLDER
from .paragraphs import with_positions

TEMPLATE = html_template(
    """<article class="article-body">
<h1 class="article-body__title">{{ article.title }}</h1>
<time class="article-body__date" datetime="{{ article.published_at.isoformat() }}">{{ date }}</time>
<div class="article-body__text">{{ text }}</div>
</article>"""
)
#: Google's advice for news: large image previews may be shown.
DEFAULT_ROBOTS = "index, follow, max-image-preview:large"


class ArticleBodyOptions(Schema):
    robots = fields.String(load_default=DEFAULT_ROBOTS, validate=validate.Length(min=1, max=200),
                           metadata={"description": "The robots meta of the article's page."})


class ArticleBody(Widget):
    name = "article_body"
    version = "1.2"
    description = "The article of an article page: title, date and body; its page's head."
    options_schema = ArticleBodyOptions
    cache_policy = CachePolicy.shared_for(ttl=300, vary=("slug",), depends_on=("subject",))
    assets = Assets(css=("article_body.css",))
    static_folder = STATIC_FOLDER
    positions = (Position("after-paragraph-{n}", "After the n-th paragraph of the text; left "
                                                 "out when the text has fewer paragraphs."),)

    def render(self, ctx: RenderContext, options: Any) -> Markup | Rendered:
        article = ctx.subject
        if not isinstance(article, ArticleView):
            return Markup("")
        local = article.published_at.astimezone(ctx.site.now.tzinfo)
        date = f"{local:%B} {local.day}, {local.year}"
        text = with_positions(article.body_html, ctx.filled, ctx.position)
        return Rendered(TEMPLATE(article=article, date=date, text=text),
                        head=article_head(ctx, article, options["robots"]))


def article_head(ctx: RenderContext, article: ArticleView, robots: str) -> tuple[HeadPart, ...]:
    """What an article page's head says about the article, for search engines and for the
    previews of shared links."""
    site = ctx.site
    url = site.url(f"/pages/{ctx.page_type}/{article.slug}")
    description = article.excerpt or article.title
    published = article.published_at.isoformat()
    parts: list[HeadPart] = [
        Link("canonical", url),
        Meta(robots, name="robots"),
        Meta(description, name="description"),
        Meta("article", property_="og:type"),
        Meta(article.title, property_="og:title"),
        Meta(description, property_="og:description"),
        Meta(site.name, property_="og:site_name"),
        Meta(site.locale.replace("-", "_"), property_="og:locale"),
        Meta(published, property_="article:published_time"),
        Meta("summary_large_image" if article.image else "summary", name="twitter:card"),
        Meta(article.title, name="twitter:title"),
        Meta(description, name="twitter:description"),
    ]
    if article.modified_at is not None:
        parts.append(Meta(article.modified_at.isoformat(), property_="article:modified_time"))
    if site.base_url:  # Open Graph wants absolute URLs
        parts.append(Meta(url, property_="og:url"))
    image = article.image
    if image is not None and (site.base_url or not image.url.startswith("/")):
        parts += [Meta(site.url(image.url), property_="og:image"),
                  Meta(image.alt, property_="og:image:alt"),
                  Meta(site.url(image.url), name="twitter:image"),
                  Meta(image.alt, name="twitter:image:alt")]
        if image.width and image.height:
            parts += [Meta(str(image.width), property_="og:image:width"),
                      Meta(str(image.height), property_="og:image:height")]
    if article.section is not None:
        parts.append(Meta(article.section.name, property_="article:section"))
    if article.author is not None:
        parts.append(Meta(article.author.name, property_="article:author"))
    parts += [Meta(tag, property_="article:tag") for tag in article.tags]
    parts.append(JsonLd(news_article(ctx, article, url, description)))
    return tuple(parts)


def news_article(ctx: RenderContext, article: ArticleView, url: str,
                 description: str) -> dict[str, Any]:
    """schema.org NewsArticle with the properties Google's Article structured data asks for."""
    site = ctx.site
    publisher: dict[str, Any] = {"@type": "NewsMediaOrganization", "name": site.name}
    if site.base_url:
        publisher["url"] = site.base_url
    if site.publisher_logo:
        publisher["logo"] = {"@type": "ImageObject", "url": site.url(site.publisher_logo)}
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "@id": url,
        "mainEntityOfPage": url,
        "headline": article.title[:110],
        "description": description,
        "datePublished": article.published_at.isoformat(),
        "dateModified": (article.modified_at or article.published_at).isoformat(),
        "publisher": publisher,
        "inLanguage": site.locale,
    }
    if article.author is not None:
        author: dict[str, Any] = {"@type": "Person", "name": article.author.name}
        if article.author.url:
            author["url"] = site.url(article.author.url)
        data["author"] = [author]
    if article.image is not None:
        picture: dict[str, Any] = {"@type": "ImageObject", "url": site.url(article.image.url),
                                   "caption": article.image.alt}
        if article.image.width and article.image.height:
            picture.update(width=article.image.width, height=article.image.height)
        data["image"] = [picture]
    if article.section is not None:
        data["articleSection"] = article.section.name
    if article.tags:
        data["keywords"] = list(article.tags)
    return data
