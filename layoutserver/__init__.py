"""layoutserver: assembled news pages from widget plugins.

``create_app`` is the app factory; every extension is bound with ``init_app``. The factory
imports the server's parts when it runs, not when this package is imported: importing the widget
contract (``layoutserver.widgets``) or the decision engine (``layoutserver.ads.decisions``) loads
this module first and must not load Flask, SQLAlchemy or the console with it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask

__all__ = ["create_app"]


def create_app(
    settings: Mapping[str, Any] | None = None,
    *,
    extra_widgets: Iterable[type] = (),
    strict_layouts: bool = True,
) -> Flask:
    """Build an app.

    ``settings`` override the defaults, the settings file and the environment.
    ``extra_widgets`` are registered beside the installed ones (tests and fixtures use this).
    ``strict_layouts=False`` keeps an invalid layout from raising, for the CLI to report it.
    """
    from flask import Flask
    from flask_caching import Cache

    from layoutserver import api, console, db, metrics, redis_store, web
    from layoutserver.ads import binding as ads
    from layoutserver.background import run_with_first_request
    from layoutserver.core import EXTENSION_KEY, Core
    from layoutserver.edge.extension import init_app as init_edge
    from layoutserver.logs import configure_logging
    from layoutserver.registry import WidgetRegistry
    from layoutserver.settings import load_settings
    from layoutserver.web import assets, compression, podium, security_headers

    app = Flask(__name__)
    load_settings(app.config, settings)
    configure_logging(app)

    database = db.init_app(app)
    redis_store.init_app(app)
    cache = Cache()
    cache.init_app(app)
    app.extensions["layoutserver.cache"] = cache

    registry = WidgetRegistry.discover(disabled=app.config["WIDGETS_DISABLED"])
    for widget_class in extra_widgets:
        registry.register(widget_class, distribution="(registered by create_app)")
    core = Core(app, database, cache, registry)
    app.extensions[EXTENSION_KEY] = core
    core.load_layouts(Path(app.config["LAYOUTS_DIR"]), strict=strict_layouts)
    run_with_first_request(app, core.layout_source.start)

    init_edge(app, database)
    ads.init_app(app)
    # The API before the web layer: flask-smorest's error handler, registered for every
    # HTTPException, is replaced by the site's, which hands the API's paths back to it.
    api.init_app(app)
    web.init_app(app)
    assets.init_app(app, registry)
    podium.init_app(app)
    console.init_app(app)
    security_headers.init_app(app, console_prefix=console.PREFIX)
    compression.init_app(app)
    metrics.init_app(app)
    return app
