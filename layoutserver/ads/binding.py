"""Binding ad serving to an app: :func:`init_app` (called by ``create_app``, after the core)."""

from __future__ import annotations

import os
from collections.abc import Callable

from flask import Flask, Response

from layoutserver.ads import api, reader, routes
from layoutserver.ads.extension import EXTENSION_KEY, AdsExtension, check_settings
from layoutserver.ads.flush import BackgroundFlush
from layoutserver.core import get_core
from layoutserver.db import get_database

__all__ = ["init_app"]


def init_app(app: Flask) -> AdsExtension:
    """Set up ad serving on ``app`` (after the core): ``PageContext.ads`` becomes the ad
    server, and the ``/ads/...`` routes and ``/ads.txt`` are registered."""
    check_settings(app.config)
    core = get_core(app)
    extension = AdsExtension(app, get_database(app), core)
    app.extensions[EXTENSION_KEY] = extension
    core.ads = extension.server
    app.register_blueprint(routes.blueprint)
    app.register_blueprint(api.blueprint)

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
