"""Binding ad serving to an app: :func:`init_app` (called by ``create_app``, after the core)."""

from __future__ import annotations

from flask import Flask

from layoutserver.ads import routes, traffic
from layoutserver.ads.extension import EXTENSION_KEY, AdsExtension, check_settings
from layoutserver.background import start_with_first_request
from layoutserver.core import get_core
from layoutserver.db import get_database

__all__ = ["init_app"]


def init_app(app: Flask) -> AdsExtension:
    """Set up ad serving on ``app`` (after the core): ``PageContext.ads`` becomes the ad
    server, and the tracking routes and ``/ads.txt`` are registered (``/ads/decide`` and
    ``/ads/explain`` are the API's)."""
    check_settings(app.config)
    traffic.check_settings(app.config)
    core = get_core(app)
    extension = AdsExtension(app, get_database(app), core)
    app.extensions[EXTENSION_KEY] = extension
    core.ads = extension.server
    app.register_blueprint(routes.blueprint)
    for background in (extension.background_flush, extension.background_traffic):
        if background is not None:
            start_with_first_request(app, background)
    return extension
