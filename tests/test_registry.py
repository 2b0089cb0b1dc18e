"""Entry-point discovery: the built-ins, the separately installed example plugin, and a broken
distribution installed for real (a ``dist-info`` folder on ``sys.path``), whose failures are
recorded and logged without stopping the others or the app."""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
import re
import sys
import types
from pathlib import Path
from typing import Any

import pytest
from marshmallow import Schema, fields
from support import imported_names

from layoutserver import create_app
from layoutserver.core import get_core
from layoutserver.registry import ENTRY_POINT_GROUP, RegistryError, WidgetRegistry
from layoutserver.widgets import CachePolicy, Widget, widget_problems

BUILT_INS = {"article_body", "author_box", "latest_news", "must_read", "date_bar",
             "section_title"}
REPO = Path(__file__).resolve().parent.parent
SEED_PATH = "/pages/article/east-turkistan-government-in-exile-condemns-china-pakistan-cooperation"

# --- a broken distribution, installed for real -----------------------------------------------

BROKEN_DIST = "broken_widgets"
BROKEN_ENTRY_POINTS = """\
[layoutserver.widgets]
fails_on_import = broken_widgets_import_error:Anything
not_a_widget = broken_widgets_impl:NotAWidget
misnamed = broken_widgets_impl:Misnamed
article_body = broken_widgets_impl:ImpostorArticleBody
working_extra = broken_widgets_impl:WorkingExtra
"""
BROKEN_IMPORT_MODULE = 'raise ImportError("a dependency of this widget is missing")\n'
BROKEN_IMPL_MODULE = '''\
from layoutserver.widgets import Markup, Widget


class NotAWidget:
    """Registered under the group but not a Widget subclass."""


class Misnamed(Widget):
    name = "declared_otherwise"
    version = "1"

    def render(self, ctx, options):
        return "misnamed"


class ImpostorArticleBody(Widget):
    name = "article_body"
    version = "9"

    def render(self, ctx, options):
        return Markup("<p>impostor</p>")


class WorkingExtra(Widget):
    name = "working_extra"
    version = "1"

    def render(self, ctx, options):
        return Markup("<p>working extra</p>")
'''
#: The entry points of the broken distribution that fail, and what their error says.
BROKEN_FAILURES = {
    "fails_on_import": "ImportError: a dependency of this widget is missing",
    "not_a_widget": "is not a subclass of layoutserver.widgets.Widget",
    "misnamed": "entry point is named 'misnamed' but the widget declares name "
                "'declared_otherwise'",
}


def install_broken_dist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Install ``broken_widgets 0.1`` into ``tmp_path`` and put it on ``sys.path``: a real
    distribution as importlib.metadata sees one, with a widget module that raises ImportError,
    an entry point that is no Widget, one whose declared name differs, one duplicating a
    built-in name and one that works."""
    root = tmp_path / "site-packages"
    info = root / f"{BROKEN_DIST}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {BROKEN_DIST}\nVersion: 0.1\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text(BROKEN_ENTRY_POINTS, encoding="utf-8")
    (root / "broken_widgets_import_error.py").write_text(BROKEN_IMPORT_MODULE, encoding="utf-8")
    (root / "broken_widgets_impl.py").write_text(BROKEN_IMPL_MODULE, encoding="utf-8")
    for module in ("broken_widgets_impl", "broken_widgets_import_error"):
        # Recorded by monkeypatch, then removed: each test imports this tmp_path's copy, and
        # the undo drops it from sys.modules again.
        monkeypatch.setitem(sys.modules, module, types.ModuleType(module))
        del sys.modules[module]
    monkeypatch.syspath_prepend(root)
    importlib.invalidate_caches()
    return root


@pytest.fixture
def broken_dist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return install_broken_dist(tmp_path, monkeypatch)


# --- the installed widgets ------------------------------------------------------------------


def test_the_built_ins_come_from_the_layoutserver_distribution() -> None:
    registry = WidgetRegistry.discover()
    version = importlib.metadata.version("layoutserver")
    for name in BUILT_INS:
        installed = registry.get(name)
        assert installed is not None, f"built-in {name} not discovered"
        assert installed.distribution == "layoutserver"
        assert installed.distribution_version == version
        assert installed.source.startswith("layoutserver.plugins.")
        assert isinstance(installed.widget, Widget)
        assert installed.widget.name == name
    assert registry.failures == []


def test_the_core_never_imports_a_built_in_by_name() -> None:
    core = sorted((REPO / "layoutserver").rglob("*.py"))
    assert len(core) > 50
    for path in core:
        source = path.read_text(encoding="utf-8")
        assert "layoutserver.plugins" not in source, path
        for name in imported_names(path):
            assert not name.startswith(("plugins", "layoutserver.plugins")), f"{path}: {name}"


def test_the_separately_installed_example_plugin_is_discovered() -> None:
    registry = WidgetRegistry.discover()
    installed = registry.get("newsletter_signup")
    assert installed is not None, "the example plugin's widget was not discovered"
    assert installed.distribution == "layoutserver-example-widget"
    assert installed.distribution_version == "1.2.0"
    assert installed.source == "layoutserver_example_widget:NewsletterSignup"
    from layoutserver_example_widget import NewsletterSignup

    assert installed.widget_class is NewsletterSignup
    assert set(registry.names()) >= BUILT_INS | {"newsletter_signup"}


def test_discovery_reads_only_its_entry_point_group() -> None:
    names = {ep.name for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)}
    assert names >= BUILT_INS | {"newsletter_signup"}
    assert "layoutserver" not in WidgetRegistry.discover()  # the pytest11 entry point's name


def test_an_outside_widget_renders_on_a_page_with_its_asset_served_once(make_app: Any) -> None:
    layout = """\
subject = "article"

[[regions]]
name = "main"

[[regions.placements]]
widget = "newsletter_signup"
options = { heading = "The morning brief", action = "/newsletter" }

[[regions.placements]]
widget = "newsletter_signup"
options = { action = "/other" }
"""
    client = make_app(layouts={"article": layout}).test_client()
    response = client.get(SEED_PATH)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'data-placement="newsletter-signup"' in html
    assert 'data-placement="newsletter-signup-2"' in html
    assert "The morning brief" in html
    assert 'action="/other"' in html
    asset = "/static/widgets/newsletter_signup/newsletter.css"
    served = client.get(asset)
    assert served.status_code == 200
    css = served.get_data(as_text=True).strip()
    served.close()
    assert css and html.count(css) == 1  # inlined once, for both placements
    linked = make_app(layouts={"article": layout}, settings={"PAGE_CSS": "link"}
                      ).test_client().get(SEED_PATH).get_data(as_text=True)
    assert len(re.findall(r'href="/assets/widgets/newsletter_signup/[0-9a-f]{12}/newsletter\.css"',
                          linked)) == 1


# --- a broken distribution --------------------------------------------------------------------


def test_broken_entry_points_are_recorded_and_logged_without_raising(
    broken_dist: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="layoutserver.registry"):
        registry = WidgetRegistry.discover()

    failures = {failure.name: failure for failure in registry.failures}
    for name, error in BROKEN_FAILURES.items():
        assert name in failures, f"{name} was not recorded as a failure"
        assert error in failures[name].error
        assert failures[name].distribution == BROKEN_DIST
        assert name not in registry
        logged = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
        assert any(name in message and error in message for message in logged), logged
    assert registry.failure("fails_on_import") is failures["fails_on_import"]
    assert failures["fails_on_import"].source == "broken_widgets_import_error:Anything"

    # The good ones still load, from every distribution.
    assert set(registry.names()) >= BUILT_INS | {"newsletter_signup", "working_extra"}
    extra = registry.get("working_extra")
    assert extra is not None
    assert (extra.distribution, extra.distribution_version) == (BROKEN_DIST, "0.1")


def test_a_duplicate_widget_name_is_a_recorded_failure(
    broken_dist: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="layoutserver.registry"):
        registry = WidgetRegistry.discover()
    duplicates = [f for f in registry.failures if f.name == "article_body"]
    assert len(duplicates) == 1
    assert "already registered" in duplicates[0].error
    assert "article_body" in registry
    assert any("article_body" in r.getMessage() and "already registered" in r.getMessage()
               for r in caplog.records)


def test_a_built_in_keeps_its_name_when_an_outside_distribution_duplicates_it(
    broken_dist: Path,
) -> None:
    """An outside package must not take over a built-in widget's name (here: one whose
    distribution name sorts before ``layoutserver``): the outside entry point is the failure."""
    registry = WidgetRegistry.discover()
    installed = registry.get("article_body")
    assert installed is not None
    assert installed.distribution == "layoutserver", (
        f"article_body was taken over by {installed.distribution} ({installed.source})"
    )
    duplicate = registry.failure("article_body")
    assert duplicate is not None
    assert duplicate.distribution == BROKEN_DIST


def test_the_app_starts_and_serves_pages_with_broken_plugins_installed(
    broken_dist: Path, make_app: Any
) -> None:
    app = make_app()
    registry = get_core(app).registry
    assert set(BROKEN_FAILURES) <= {failure.name for failure in registry.failures}
    response = app.test_client().get(SEED_PATH)
    assert response.status_code == 200
    assert 'data-placement="latest-news"' in response.get_data(as_text=True)


def test_widgets_disabled_skips_a_widget(
    broken_dist: Path, layoutserver_database_url: str
) -> None:
    app = create_app({
        "DATABASE_URL": layoutserver_database_url,
        "LAYOUTS_DIR": str(REPO / "config" / "layouts"),
        "WIDGETS_DISABLED": ["newsletter_signup", "fails_on_import"],
    })
    try:
        registry = get_core(app).registry
        assert "newsletter_signup" not in registry
        assert registry.failure("newsletter_signup") is None
        assert registry.failure("fails_on_import") is None  # never even imported
        assert registry.failure("misnamed") is not None
        assert "latest_news" in registry
    finally:
        get_core(app).close()


def test_widgets_disabled_from_the_environment_as_a_comma_list(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, layoutserver_database_url: str
) -> None:
    monkeypatch.setenv("LAYOUTSERVER_WIDGETS_DISABLED", "newsletter_signup, date_bar")
    monkeypatch.delenv("LAYOUTSERVER_SETTINGS", raising=False)
    layouts = tmp_path / "layouts"
    layouts.mkdir()
    (layouts / "article.toml").write_text(
        '[[regions]]\nname = "main"\n\n[[regions.placements]]\nwidget = "latest_news"\n'
    )
    app = create_app({"DATABASE_URL": layoutserver_database_url,
                      "LAYOUTS_DIR": str(layouts)})
    try:
        registry = get_core(app).registry
        assert "newsletter_signup" not in registry
        assert "date_bar" not in registry
        assert "latest_news" in registry
    finally:
        get_core(app).close()


# --- widget_problems and register ---------------------------------------------------------------


class Valid(Widget):
    name = "valid_widget"
    version = "1"
    cache_policy = CachePolicy.shared_for(ttl=30, vary=("slug", "device"))

    def render(self, ctx: Any, options: Any) -> str:
        return "ok"


class BadName(Valid):
    name = "Bad-Name"


class MissingVersion(Widget):
    name = "missing_version"

    def render(self, ctx: Any, options: Any) -> str:
        return "ok"


class UnknownVary(Valid):
    cache_policy = CachePolicy.shared_for(ttl=30, vary=("slug", "cookie"))


class SharedWithoutTtl(Valid):
    cache_policy = CachePolicy(ttl=0, shared=True)


class NotASchema(Valid):
    options_schema = fields.Integer  # type: ignore[assignment]


class SchemaInstance(Valid):
    options_schema = Schema()  # type: ignore[assignment]


class NoRender(Widget):
    name = "no_render"
    version = "1"


@pytest.mark.parametrize(
    ("candidate", "problem"),
    [
        (BadName, "name 'Bad-Name' must match"),
        (MissingVersion, "version must be a string"),
        (UnknownVary, "unknown keys ['cookie']"),
        (SharedWithoutTtl, "a shared cache_policy needs a ttl above 0"),
        (NotASchema, "options_schema must be a marshmallow Schema class"),
        (SchemaInstance, "options_schema must be a marshmallow Schema class"),
        (NoRender, "render is not implemented"),
        (object, "is not a subclass of layoutserver.widgets.Widget"),
        (Valid(), "is not a subclass of layoutserver.widgets.Widget"),
    ],
    ids=lambda value: getattr(value, "__name__", None) if isinstance(value, type) else None,
)
def test_widget_problems_rejects_a_bad_class(candidate: object, problem: str) -> None:
    problems = widget_problems(candidate)
    assert any(problem in found for found in problems), problems
    with pytest.raises(RegistryError, match=problem.replace("[", r"\[").replace("]", r"\]")):
        WidgetRegistry().register(candidate)


def test_widget_problems_accepts_a_good_class_and_per_request_policy() -> None:
    assert widget_problems(Valid) == []

    class PerRequest(Valid):
        name = "per_request_widget"
        cache_policy = CachePolicy.per_request()

    assert widget_problems(PerRequest) == []


def test_register_rejects_a_second_widget_of_the_same_name() -> None:
    registry = WidgetRegistry()
    registry.register(Valid, distribution="first")
    with pytest.raises(RegistryError, match="already registered by first"):
        registry.register(Valid, distribution="second")
    installed = registry.get("valid_widget")
    assert installed is not None
    assert installed.distribution == "first"


def test_a_disabled_widget_placed_in_a_layout_renders_empty(make_app, caplog) -> None:
    with caplog.at_level(logging.INFO, logger="layoutserver"):
        app = make_app(settings={"WIDGETS_DISABLED": ["date_bar"]})
    assert "date_bar" in get_core(app).registry.disabled
    # switched off on purpose: information, not an error
    told = [record for record in caplog.records if "'date_bar' is disabled" in record.getMessage()]
    assert told and {record.levelno for record in told} == {logging.INFO}
    response = app.test_client().get(SEED_PATH)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert '<div class="ls-widget ls-widget--date_bar" data-widget="date_bar" ' \
        'data-placement="date-bar"></div>' in page
    assert "Thursday, October 10, 2024" not in page
    assert "Pia Sherman" in page
