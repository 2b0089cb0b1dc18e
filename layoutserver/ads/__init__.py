"""Ad serving: slots, campaigns, line items and creatives; the decision engine; tracking.

``decisions/`` is the engine (pure Python); the rest binds it to the database and the web:
``models`` and ``config_import`` (the configuration), ``snapshot_source`` and ``delivery`` (what
the engine decides against), ``service`` (``PageContext.ads``), ``markup``, ``tokens``,
``counting`` and ``reader`` (user key and consent), ``explain`` (why each line item won or
lost), ``routes`` (tracking and files; ``/ads/decide`` and ``/ads/explain`` are in
``layoutserver.api``).
"""

from __future__ import annotations

import os
from collections.abc import Callable

from flask import Flask, Response

from layoutserver.ads import reader, routes
from layoutserver.ads.extension import EXTENSION_KEY, AdsExtension, check_settings, get_ads
from layoutserver.ads.flush import BackgroundFlush
from layoutserver.core import get_core
from layoutserver.db import get_database

__all__ = ["AdsExtension", "get_ads", "init_app"]


def init_app(app: Flask) -> AdsExtension:
    """Set up ad serving on ``app`` (after the core): ``PageContext.ads`` becomes the ad
    server, and the tracking routes and ``/ads.txt`` are registered."""
    check_settings(app.config)
    core = get_core(app)
    extension = AdsExtension(app, get_database(app), core)
    app.extensions[EXTENSION_KEY] = extension
    core.ads = extension.server
    app.register_blueprint(routes.blueprint)

    def set_user_cookie(response: Response) -> Response:
        return reader.set_user_cookie(app.config, response)

    app.after_request(set_user_cookie)
    background = extension.background_flush
    if background is not None:
        # Started by the first request: in a gunicorn worker, after the fork (a thread started
        # before it would not survive), and never by a CLI command.
        app.before_request(_starter(background))
    return extension


def _starter(background: BackgroundFlush) -> Callable[[], None]:
    """A ``before_request`` function starting the flush thread of this process once. (It
    stays registered: removing a function from the list Flask is iterating would skip the
    next one for that request.)"""
    pid = [0]

    def start_flush() -> None:
        if pid[0] != os.getpid():  # a new process (a forked worker) needs its own thread
            background.start()
            pid[0] = os.getpid()

    return start_flush
