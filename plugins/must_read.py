"""An editorial list, such as "Must read", by name."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from layoutserver.widgets import Assets, CachePolicy, Markup, RenderContext, Widget

from . import STATIC_FOLDER
from .news_list import news_list, url_pattern_field


class MustReadOptions(Schema):
    list = fields.String(load_default="must-read",
                         validate=validate.Regexp(r"^[a-z0-9]+(?:-[a-z0-9]+)*$"),
                         metadata={"description": "The editorial list shown (Content: "
                                                  "Editorial lists), by its name."})
    heading = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100),
                            metadata={"description": "Its heading; empty: the list's title."})
    excerpt_words = fields.Integer(load_default=None, allow_none=True,
                                   validate=validate.Range(min=1, max=200),
                                   metadata={"description": "Words of each article's excerpt "
                                                            "shown; empty: no excerpt."})
    excerpt_suffix = fields.String(load_default="...", validate=validate.Length(max=10),
                                   metadata={"description": "Ends a shortened excerpt."})
    url_pattern = url_pattern_field()


class MustRead(Widget):
    name = "must_read"
    version = "1.0"
    description = "An editorial list by name; the heading defaults to the list's title."
    options_schema = MustReadOptions
    # The same on every page: it varies on nothing.
    cache_policy = CachePolicy.shared_for(ttl=300, depends_on=("lists",))
    assets = Assets(css=("news_list.css",))
    static_folder = STATIC_FOLDER

    def render(self, ctx: RenderContext, options: Any) -> Markup:
        picks = ctx.content.editorial_list(options["list"], published_before=ctx.site.now)
        if picks is None or not picks.articles:
            return Markup("")
        return news_list("must-read", options["heading"] or picks.title, picks.articles,
                         options["excerpt_words"], options["excerpt_suffix"],
                         options["url_pattern"])
