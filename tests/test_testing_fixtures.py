"""The fixtures ``layoutserver.testing`` gives plugin authors, used the way an author would:
widgets defined here, registered by overriding ``layoutserver_widgets``."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from marshmallow import Schema, ValidationError, fields, validate

from layoutserver.core import get_core
from layoutserver.widgets import (
    ArticleView,
    CachePolicy,
    Markup,
    RenderContext,
    Widget,
    html_template,
)


class GreetingOptions(Schema):
    who = fields.String(required=True, validate=validate.Length(min=1, max=20))
    shout = fields.Boolean(load_default=False)


class Greeting(Widget):
    """Returns a plain str: the core escapes it."""

    name = "fixture_greeting"
    version = "1"
    options_schema = GreetingOptions
    cache_policy = CachePolicy.shared_for(ttl=60, vary=("slug",))

    def render(self, ctx: RenderContext, options: Any) -> str:
        text = f"Hello <{options['who']}>"
        return text.upper() if options["shout"] else text


HEADLINE = html_template('<h2 class="headline">{{ title }} ({{ device }})</h2>')


class Headline(Widget):
    """Reads the page's article and the reader's device from the render context."""

    name = "fixture_headline"
    version = "1"
    cache_policy = CachePolicy.per_request()

    def render(self, ctx: RenderContext, options: Any) -> Markup:
        assert isinstance(ctx.subject, ArticleView)
        assert ctx.placement_id == "under-test"
        return HEADLINE(title=ctx.subject.title, device=ctx.request.device)


class Raising(Widget):
    name = "fixture_raising"
    version = "1"
    fallback = Markup('<p class="fallback">Back soon.</p>')

    def render(self, ctx: RenderContext, options: Any) -> str:
        raise RuntimeError("boom in fixture_raising")


@pytest.fixture
def layoutserver_widgets() -> list[type[Widget]]:
    return [Greeting, Headline, Raising]


@pytest.fixture
def layoutserver_settings(layoutserver_settings: dict[str, Any]) -> dict[str, Any]:
    """Extends the shipped settings: one more page type, placing the greeting."""
    layouts = Path(layoutserver_settings["LAYOUTS_DIR"])
    (layouts / "greeting.toml").write_text(
        'subject = "article"\n\n[[regions]]\nname = "main"\n\n'
        '[[regions.placements]]\nwidget = "fixture_greeting"\nid = "hello"\n'
        'options = { who = "readers" }\n'
    )
    return {**layoutserver_settings, "SITE_NAME": "Fixture Gazette"}


def test_the_app_has_the_overridden_widgets_beside_the_installed_ones(
    layoutserver_app: Flask,
) -> None:
    registry = get_core(layoutserver_app).registry
    assert {"fixture_greeting", "fixture_headline", "fixture_raising"} <= set(registry.names())
    assert {"article_body", "newsletter_signup"} <= set(registry.names())
    assert layoutserver_app.config["TESTING"] is True
    assert layoutserver_app.config["SITE_NAME"] == "Fixture Gazette"


def test_render_widget_renders_a_custom_widget_and_escapes_its_str(render_widget: Any) -> None:
    result = render_widget("fixture_greeting", {"who": "Ada"})
    assert result.outcome == "miss"
    assert result.html == "Hello &lt;Ada&gt;"
    assert result.wrapped == (
        '<div class="ls-widget ls-widget--fixture_greeting" data-widget="fixture_greeting" '
        'data-placement="under-test">Hello &lt;Ada&gt;</div>'
    )


def test_render_widget_validates_options_with_the_widget_schema(render_widget: Any) -> None:
    with pytest.raises(ValidationError) as missing:
        render_widget("fixture_greeting")
    assert "who" in missing.value.messages
    with pytest.raises(ValidationError) as too_long:
        render_widget("fixture_greeting", {"who": "x" * 21})
    assert "who" in too_long.value.messages
    with pytest.raises(ValidationError) as unknown:
        render_widget("fixture_greeting", {"who": "Ada", "colour": "red"})
    assert "colour" in unknown.value.messages


def test_a_second_render_is_a_cache_hit(render_widget: Any, layoutserver_content: Any) -> None:
    layoutserver_content.add_article(slug="other-story")
    first = render_widget("fixture_greeting", {"who": "Ada"})
    second = render_widget("fixture_greeting", {"who": "Ada"})
    assert (first.outcome, second.outcome) == ("miss", "hit")
    assert second.html == first.html
    # Other options, or another value of a vary key, are another entry.
    assert render_widget("fixture_greeting", {"who": "Ada", "shout": True}).outcome == "miss"
    assert render_widget("fixture_greeting", {"who": "Ada"}, slug="other-story").outcome == "miss"
    assert render_widget("fixture_greeting", {"who": "Ada"}).outcome == "hit"
    # New content changes the content version, and with it every key.
    layoutserver_content.add_article(slug="breaking")
    assert render_widget("fixture_greeting", {"who": "Ada"}).outcome == "miss"


def test_a_per_request_widget_is_never_a_hit(
    render_widget: Any, layoutserver_content: Any
) -> None:
    article = layoutserver_content.add_article(slug="rain-again", title="Rain <again>")
    assert article.title == "Rain <again>"
    first = render_widget("fixture_headline", slug="rain-again", device="mobile")
    second = render_widget("fixture_headline", slug="rain-again", device="mobile")
    assert (first.outcome, second.outcome) == ("miss", "miss")
    assert first.html == '<h2 class="headline">Rain &lt;again&gt; (mobile)</h2>'


def test_a_raising_widget_gives_error_and_its_fallback(
    render_widget: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="layoutserver"):
        result = render_widget("fixture_raising")
    assert result.outcome == "error"
    assert result.html == '<p class="fallback">Back soon.</p>'
    logged = [record for record in caplog.records if record.exc_info]
    assert any("fixture_raising" in r.getMessage() and "under-test" in r.getMessage()
               for r in logged)
    assert any("boom in fixture_raising" in str(r.exc_info[1]) for r in logged if r.exc_info)


def test_render_widget_names_the_installed_widgets_for_an_unknown_one(render_widget: Any) -> None:
    with pytest.raises(LookupError, match=r"installed: .*fixture_greeting"):
        render_widget("no_such_widget")
    with pytest.raises(LookupError, match="no article 'missing'"):
        render_widget("fixture_greeting", {"who": "Ada"}, slug="missing")


def test_installed_widgets_render_with_test_content(
    render_widget: Any, layoutserver_content: Any
) -> None:
    layoutserver_content.add_article(slug="storm", title="Storm warning",
                                     body_html="<p>Wind.</p><script>x()</script>")
    result = render_widget("article_body", slug="storm")
    assert result.outcome == "miss"
    assert "Storm warning" in result.html
    assert "<p>Wind.</p>" in result.html
    assert "<script>" not in result.html


def test_the_client_serves_pages_from_the_test_layouts(
    layoutserver_client: Any, layoutserver_content: Any
) -> None:
    layoutserver_content.add_article(slug="storm", title="Storm warning")
    article = layoutserver_client.get("/pages/article/storm")
    assert article.status_code == 200
    assert "Storm warning | Fixture Gazette" in article.get_data(as_text=True)
    greeting = layoutserver_client.get("/pages/greeting/storm")
    assert greeting.status_code == 200
    assert 'data-placement="hello">Hello &lt;readers&gt;</div>' in greeting.get_data(as_text=True)
    assert layoutserver_client.get("/pages/article/no-such-story").status_code == 404
