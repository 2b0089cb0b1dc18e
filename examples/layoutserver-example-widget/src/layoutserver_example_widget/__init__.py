"""A newsletter sign-up box: an example of a widget shipped in its own distribution."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from marshmallow import Schema, fields, validate

from layoutserver.widgets import (
    Assets,
    CachePolicy,
    Markup,
    RenderContext,
    Widget,
    html_template,
)

TEMPLATE = html_template(
    """<form class="newsletter-signup" method="post" action="{{ action }}">
<h2 class="newsletter-signup__heading">{{ heading }}</h2>
<label>Email <input type="email" name="email" required></label>
<button type="submit">{{ button }}</button>
</form>"""
)


class NewsletterSignupOptions(Schema):
    heading = fields.String(load_default="Get the newsletter", validate=validate.Length(1, 80))
    button = fields.String(load_default="Sign up", validate=validate.Length(1, 30))
    action = fields.String(required=True, validate=validate.Regexp(
        r"^/[^\s]*$", error="must be a path on this site, starting with /"))


class NewsletterSignup(Widget):
    name = "newsletter_signup"
    version = "1.2.0"
    description = "A newsletter sign-up form."
    options_schema = NewsletterSignupOptions
    cache_policy = CachePolicy.shared_for(ttl=3600, vary=("locale",))
    assets = Assets(css=("newsletter.css",))
    fallback = ""
    static_folder = Path(__file__).parent / "static"

    def render(self, ctx: RenderContext, options: Any) -> Markup:
        return TEMPLATE(heading=options["heading"], button=options["button"],
                        action=options["action"])
