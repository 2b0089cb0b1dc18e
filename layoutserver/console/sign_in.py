"""``/admin/sign-in`` and ``/admin/sign-out``."""

from __future__ import annotations

from math import ceil
from urllib.parse import urlsplit

from flask import current_app, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from layoutserver.auth.users import sign_in as check_password
from layoutserver.console import access
from layoutserver.console.blueprint import PREFIX, blueprint
from layoutserver.console.throttle import Throttle
from layoutserver.db import get_database
from layoutserver.settings import trusted_proxies
from layoutserver.web.client_address import client_address

THROTTLE_KEY = "layoutserver.console.throttle"


@blueprint.route("/sign-in", methods=["GET", "POST"])
def sign_in() -> Response | str:
    wanted = _safe_next(request.values.get("next", ""))
    if request.method == "GET":
        if access.load_user() is not None:
            return redirect(wanted)
        return render_template("console/sign_in.html", next=wanted, name="", error="")
    name = request.form.get("name", "").strip()
    client = client_address(request, trusted_proxies(current_app.config))
    throttle: Throttle = current_app.extensions[THROTTLE_KEY]
    wait = throttle.attempt(name, client)  # counted as a failure until it succeeds
    if wait > 0:
        return _throttled(wanted, name, wait)
    with get_database().session() as session:
        user = check_password(session, name, request.form.get("password", ""))
    if user is None:
        return _refused(wanted, name, 401, "That name and password do not match a user.")
    throttle.succeeded(name, client)
    access.remember(user)
    return redirect(wanted)


def _throttled(wanted: str, name: str, wait: float) -> Response:
    """429 for a client that must wait: the same for every name, known or not."""
    seconds = ceil(wait)
    response = _refused(wanted, name, 429, f"Too many failed sign-ins from here: try again in "
                                           f"{_how_long(seconds)}.")
    response.headers["Retry-After"] = str(seconds)
    return response


def _how_long(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    return f"{ceil(seconds / 60)} minutes"


def _refused(wanted: str, name: str, status: int, error: str) -> Response:
    return Response(render_template("console/sign_in.html", next=wanted, name=name,
                                    error=error), status=status, mimetype="text/html")


@blueprint.post("/sign-out")
def sign_out() -> Response:
    access.sign_out()
    return redirect(url_for("console.sign_in"))


def _safe_next(target: str) -> str:
    """Only a path inside the console: never another site (an open redirect), never a
    control character (CR/LF would end the Location header)."""
    parts = urlsplit(target)
    if (parts.scheme or parts.netloc or not parts.path.startswith(PREFIX) or "\\" in target
            or any(ord(char) < 32 or ord(char) == 127 for char in target)):
        return url_for("console.home")
    return target
