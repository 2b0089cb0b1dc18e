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

THROTTLE_KEY = "layoutserver.console.throttle"


@blueprint.route("/sign-in", methods=["GET", "POST"])
def sign_in() -> Response | str:
    wanted = _safe_next(request.values.get("next", ""))
    if request.method == "GET":
        if access.load_user() is not None:
            return redirect(wanted)
        return render_template("console/sign_in.html", next=wanted, name="", error="")
    name = request.form.get("name", "").strip()
    address = request.remote_addr or ""
    throttle: Throttle = current_app.extensions[THROTTLE_KEY]
    wait = throttle.wait(name, address)
    if wait > 0:
        return _refused(wanted, name, 429, f"Too many failed sign-ins for {name!r}: try again "
                                           f"in {ceil(wait / 60)} minute(s).")
    with get_database().session() as session:
        user = check_password(session, name, request.form.get("password", ""))
    if user is None:
        throttle.failed(name, address)
        return _refused(wanted, name, 401, "That name and password do not match a user.")
    throttle.succeeded(name, address)
    access.remember(user)
    return redirect(wanted)


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
