"""The console's blueprint: templates, static files, the sign-in guard and response headers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, current_app, request
from werkzeug.wrappers import Response

from layoutserver.console import access
from layoutserver.console.resources import ADS_RESOURCES, CONTENT_RESOURCES
from layoutserver.core import get_core
from layoutserver.web.security_headers import console_policy

PREFIX = "/admin"

blueprint = Blueprint("console", __name__, url_prefix=PREFIX, template_folder="templates",
                      static_folder="static", static_url_path="/static")


@blueprint.before_request
def _guard() -> Response | None:
    request.max_content_length = int(current_app.config["MAX_BODY_BYTES"])
    return access.guard()


@blueprint.after_request
def _headers(response: Response) -> Response:
    # Console pages are per user and never framed by another site (the page preview is framed
    # by the console itself).
    if request.endpoint != "console.static":
        response.headers["Cache-Control"] = "no-store"
    framed = request.endpoint == "console.preview_page"
    response.headers["Content-Security-Policy"] = console_policy(framed)
    response.headers["X-Frame-Options"] = "SAMEORIGIN" if framed else "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


@blueprint.context_processor
def _context() -> dict[str, Any]:
    return {
        "csrf_token": access.csrf_token,
        "csrf_field": access.CSRF_FIELD,
        "current_user": access.load_user(),
        "may": access.may,
        "ads_resources": ADS_RESOURCES,
        "content_resources": CONTENT_RESOURCES,
        "local_time": local_time,
    }


def local_time(value: str) -> str:
    """An ISO 8601 instant as the service shows it, in site time: ``2024-10-01 06:00``."""
    moment = datetime.fromisoformat(value).astimezone(get_core().timezone)
    return moment.strftime("%Y-%m-%d %H:%M")
