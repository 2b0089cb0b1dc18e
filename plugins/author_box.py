"""The shown article's author: heading, name, bio and avatar when there is one."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

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
    """<section class="author-box">
<h2 class="author-box__heading">{{ heading }}</h2>
{% if author.avatar_url -%}
<img class="author-box__avatar" src="{{ author.avatar_url }}" alt="{{ author.name }}"
 width="80" height="80">
{%- endif %}
<p class="author-box__name">{{ author.name }}</p>
{% if author.bio %}<p class="author-box__bio">{{ author.bio }}</p>{% endif %}
</section>"""
)


class AuthorBoxOptions(Schema):
    heading = fields.String(load_default="Author profile", validate=validate.Length(max=100),
                            metadata={"description": "The box's heading."})


class AuthorBox(Widget):
    name = "author_box"
    version = "1.0"
    description = "Profile of the shown article's author; empty when it has none."
    options_schema = AuthorBoxOptions
    cache_policy = CachePolicy.shared_for(ttl=600, vary=("slug",), depends_on=("subject",))
    assets = Assets(css=("author_box.css",))
    static_folder = STATIC_FOLDER

    def render(self, ctx: RenderContext, options: Any) -> Markup:
        article = ctx.subject
        if not isinstance(article, ArticleView) or article.author is None:
            return Markup("")
        return TEMPLATE(author=article.author, heading=options["heading"])
