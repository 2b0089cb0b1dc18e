"""pytest fixtures for widget authors, installed as a pytest plugin (entry point ``pytest11``).

In a plugin package's tests::

    import pytest
    from my_widgets import Weather

    @pytest.fixture
    def layoutserver_widgets():
        return [Weather]          # registered beside the installed widgets

    def test_weather(render_widget, layoutserver_content):
        layoutserver_content.add_article(slug="rain", title="Rain again")
        result = render_widget("weather", {"city": "Oslo"}, slug="rain")
        assert result.outcome == "miss"
        assert "Oslo" in result.html

Fixtures: ``layoutserver_widgets`` (override it), ``layoutserver_settings`` (override or extend
it), ``layoutserver_app``, ``layoutserver_client``, ``layoutserver_content``,
``render_widget``, and the databases under them: ``layoutserver_database_url`` and
``layoutserver_new_database``, a SQLite file by default, a fresh PostgreSQL database per test
when ``LAYOUTSERVER_TEST_DATABASE_URL`` names a server; ``layoutserver_redis_url`` from
``LAYOUTSERVER_TEST_REDIS_URL``.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import Markup

from layoutserver import create_app
from layoutserver.content.importer import import_content
from layoutserver.core import get_core
from layoutserver.db import get_database
from layoutserver.layouts import Layout, Placement, Region
from layoutserver.scratch import DatabaseServer, ScratchDatabases
from layoutserver.settings import IN_PROCESS_CACHE
from layoutserver.widgets import ArticleView, RequestView, Widget

#: A PostgreSQL server (``postgresql+psycopg://user@host:port/maintenance_db``) to make each
#: test's databases on instead of SQLite files; ``.ci/services`` starts one for ``make test``.
TEST_DATABASE_ENV = "LAYOUTSERVER_TEST_DATABASE_URL"
#: A Redis database (``redis://host:port/n``) the test apps get as REDIS_URL, emptied after
#: each test.
TEST_REDIS_ENV = "LAYOUTSERVER_TEST_REDIS_URL"

TEST_LAYOUT = """\
subject = "article"

[[regions]]
name = "main"

[[regions.placements]]
widget = "article_body"
"""


STAND_IN_ARTICLE = ArticleView(
    slug="stand-in",
    title="A stand-in article",
    excerpt="",
    body_html=Markup("<p>Stand-in body.</p>"),
    published_at=datetime(2030, 1, 1, tzinfo=UTC),
    section=None,
    author=None,
    tags=(),
)


@dataclass(frozen=True)
class WidgetResult:
    html: str
    """The widget's own output."""
    wrapped: str
    """The output inside the wrapper element the page puts around it."""
    outcome: str
    """miss (rendered), hit (from the cache), error, timeout, stale."""


class ContentHelper:
    """Adds content to the test app's database through the importer, as real content arrives."""

    def __init__(self, app: Flask) -> None:
        self._app = app
        self._count = 0

    def load(self, document: Mapping[str, Any]) -> None:
        import_content(get_database(self._app), document)

    def add_article(self, slug: str, title: str = "A title", **fields: Any) -> ArticleView:
        self._count += 1
        article = {
            "slug": slug,
            "title": title,
            "excerpt": fields.pop("excerpt", ""),
            "body_html": fields.pop("body_html", "<p>Body.</p>"),
            "published_at": fields.pop(
                "published_at", datetime(2024, 1, 1, 12, self._count % 60, tzinfo=UTC).isoformat()
            ),
            **fields,
        }
        self.load({"articles": [article]})
        with self._app.app_context():
            view = get_core(self._app).content.article(slug)
        assert view is not None
        return view


@pytest.fixture(scope="session")
def layoutserver_database_server() -> Iterator[DatabaseServer | None]:
    """The PostgreSQL server named by LAYOUTSERVER_TEST_DATABASE_URL, where the tests' databases
    are created; None without it (SQLite files)."""
    server_url = os.environ.get(TEST_DATABASE_ENV)
    if not server_url:
        yield None
        return
    try:
        server = DatabaseServer(server_url)
    except ValueError as error:
        raise pytest.UsageError(f"{TEST_DATABASE_ENV}: {error}") from error
    yield server
    server.close()


@pytest.fixture
def layoutserver_new_database(
    tmp_path: Path, layoutserver_database_server: DatabaseServer | None
) -> Iterator[Callable[..., str]]:
    """``layoutserver_new_database(seed=None)``: the URL of another fresh database for this
    test (a SQLite file under tmp_path, or a database on the test PostgreSQL server), empty or
    as ``seed`` (a function of the URL, e.g. ``layoutserver.scratch.create_tables``) fills it.
    On PostgreSQL a seed runs once per session and its result is copied."""
    databases = ScratchDatabases(tmp_path, layoutserver_database_server)
    yield databases.new
    databases.drop_all()


@pytest.fixture
def layoutserver_database_url(layoutserver_new_database: Callable[..., str]) -> str:
    """The URL of a fresh, empty database for this test."""
    return layoutserver_new_database()


@pytest.fixture
def layoutserver_redis_url() -> Iterator[str | None]:
    """The test Redis database (LAYOUTSERVER_TEST_REDIS_URL), emptied after the test; None
    without one."""
    url = os.environ.get(TEST_REDIS_ENV) or None
    yield url
    if url is not None:
        client = redis.Redis.from_url(url)
        try:
            client.flushdb()
        finally:
            client.close()


@pytest.fixture
def layoutserver_widgets() -> list[type[Widget]]:
    """Widget classes to register in the test app beside the installed ones. Override it."""
    return []


@pytest.fixture
def layoutserver_settings(
    tmp_path: Path, layoutserver_database_url: str, layoutserver_redis_url: str | None
) -> dict[str, Any]:
    """Settings of the test app: a fresh database and a one-layout directory under tmp_path."""
    layouts = tmp_path / "layouts"
    layouts.mkdir()
    (layouts / "article.toml").write_text(TEST_LAYOUT)
    return {
        "DATABASE_URL": layoutserver_database_url,
        **({"REDIS_URL": layoutserver_redis_url,
            "CACHE_KEY_PREFIX": f"t{uuid.uuid4().hex[:12]}:"} if layoutserver_redis_url else {}),
        "LAYOUTS_DIR": str(layouts),
        "CACHE_TYPE": IN_PROCESS_CACHE,
        # Every render stored, so a page's second request shows what the cache gives (the
        # default stores a render only once a page is asked for again: render/admission.py).
        "CACHE_ADMIT_AFTER": 1,
        "SITE_TIMEZONE": "UTC",
        "SITE_NOW": "2030-01-01T12:00:00",
        # Roomy, so a busy test machine does not turn a render into its fallback.
        "WIDGET_BUDGET_MS": 2000,
    }


@pytest.fixture
def layoutserver_app(
    layoutserver_settings: dict[str, Any], layoutserver_widgets: list[type[Widget]]
) -> Iterator[Flask]:
    app = create_app(layoutserver_settings, extra_widgets=layoutserver_widgets)
    app.config["TESTING"] = True
    get_database(app).create_all()
    yield app
    get_core(app).close()
    get_database(app).dispose()


@pytest.fixture
def layoutserver_client(layoutserver_app: Flask) -> FlaskClient:
    return layoutserver_app.test_client()


@pytest.fixture
def layoutserver_content(layoutserver_app: Flask) -> ContentHelper:
    return ContentHelper(layoutserver_app)


@pytest.fixture
def render_widget(layoutserver_app: Flask) -> Any:
    """``render_widget(name, options=None, *, slug=None, device="desktop", locale="en-US",
    consent=None, page_type="article")`` renders one placement the way a page would (options
    validated by the widget's schema, cache, time budget, fallback) and returns a WidgetResult.
    ``slug`` names an article in the test database; without it the page is about a stand-in
    article."""

    def render(
        name: str,
        options: Mapping[str, Any] | None = None,
        *,
        slug: str | None = None,
        device: str = "desktop",
        locale: str = "en-US",
        consent: bool | None = None,
        page_type: str = "article",
    ) -> WidgetResult:
        core = get_core(layoutserver_app)
        installed = core.registry.get(name)
        if installed is None:
            installed_names = ", ".join(core.registry.names())
            raise LookupError(f"widget {name!r} is not installed; installed: {installed_names}")
        raw = dict(options or {})
        loaded = installed.widget.options_schema().load(raw)
        placement = Placement(id="under-test", widget=name, region="main", options=loaded,
                              options_key=json.dumps(raw, sort_keys=True, default=str))
        layout = Layout(page_type=page_type, subject="article", title="Test", source=Path("test"),
                        regions=(Region("main", (placement,)),), digest="test")
        with layoutserver_app.app_context():
            subject = core.content.article(slug) if slug else STAND_IN_ARTICLE
            if subject is None:
                raise LookupError(f"no article {slug!r} in the test database")
            site = core.site_view()
            reader = RequestView(device=device, locale=locale, consent=consent, path="/test")
            page = core.page_context(layout, subject.slug, subject, reader, site)
            rendered = core.renderer.render(layout, page, [placement], core.content.version())
        item = rendered[0]
        return WidgetResult(html=str(item.inner), wrapped=str(item.html), outcome=item.outcome)

    return render
