"""The ad ops and publisher web console: server-rendered pages under ``/admin``.

Its views call the services the admin API uses too (``layoutserver.content.service``,
``layoutserver.ads.config_service``), the delivery
reports (``layoutserver.ads.reports``) and explain (``layoutserver.ads.explain``); roles are the
API's (``layoutserver.auth.roles``). See ``docs/console.md``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask, Request, Response, render_template
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer
from werkzeug.exceptions import HTTPException

from layoutserver.ads.tokens import instance_secret
from layoutserver.console.blueprint import PREFIX, blueprint
from layoutserver.console.throttle import build_throttle
from layoutserver.web.errors import register_error_area

#: Flask's session settings as the console wants them, applied where a setting (file or
#: ``LAYOUTSERVER_*`` environment) left Flask's default. The session cookie is the console's
#: only: scoped to /admin, not sent with site pages. ``SESSION_COOKIE_SECURE`` is left to the
#: deployment (true behind HTTPS).
SESSION_SETTINGS: dict[str, tuple[Any, Any]] = {
    "SESSION_COOKIE_PATH": (None, PREFIX),
    "SESSION_COOKIE_SAMESITE": (None, "Lax"),
    "PERMANENT_SESSION_LIFETIME": (timedelta(days=31), timedelta(hours=12)),
}


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie session, whose key is ``SECRET_KEY`` or, when that is unset, the
    instance folder's secret (as for ad tracking tokens), read on first use."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        """Only under /admin: the site's pages never use a session, so page and beacon requests
        build no signing serializer and look for no cookie."""
        if not request.path.startswith(PREFIX):
            return None  # Flask then gives the request its null session
        return super().open_session(app, request)

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        if not app.secret_key:
            app.secret_key = app.config["SECRET_KEY"] or instance_secret(app.instance_path)
        return super().get_signing_serializer(app)


def init_app(app: Flask) -> None:
    from layoutserver.console import (  # noqa: F401 - the modules register their views
        bulk,
        crud,
        forecasts,
        home,
        layout_actions,
        layouts,
        lists,
        placement_form,
        preview,
        reports,
        sign_in,
        uploads,
    )

    for name, (flask_default, value) in SESSION_SETTINGS.items():
        if app.config.get(name) == flask_default:
            app.config[name] = value
    app.session_interface = SessionInterface()
    app.extensions[sign_in.THROTTLE_KEY] = build_throttle(app)
    app.register_blueprint(blueprint)
    register_error_area(app, PREFIX, _error)


def _error(error: HTTPException) -> Response:
    code = error.code or 500
    response = Response(render_template(
        "console/error.html", status=code, title=error.name, detail=error.description,
    ), status=code, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response


__all__ = ["PREFIX", "init_app"]
