"""Who is signed in, what they may do, and the CSRF check of every form.

The signed-in user is kept in Flask's signed session cookie (id, name and the user's session
secret) and read back from the database on every request, so a deleted user is signed out and a
changed role applies at once. Signing out or a new password gives the user a new session
secret: every session of theirs ends at once, copies of the cookie included. A session unused
for ``CONSOLE_IDLE_MINUTES`` ends too; ``PERMANENT_SESSION_LIFETIME`` caps any session. What a
role may do is :func:`layoutserver.auth.roles.allowed`, the table the API uses.

Every POST under ``/admin`` (the sign-in form included) must carry the session's CSRF token in
the form field ``csrf_token``; without it, or with another, the post is refused with 400 before
any view runs.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import abort, current_app, g, redirect, request, session, url_for
from werkzeug.wrappers import Response

from layoutserver.auth.roles import Area, allowed
from layoutserver.auth.users import SignedIn, end_sessions, find_user
from layoutserver.db import get_database

F = TypeVar("F", bound=Callable[..., Any])
CSRF_FIELD = "csrf_token"
_CSRF_KEY = "csrf"
_USER_KEY = "user"
_SEEN_KEY = "seen"
#: Views a visitor who is not signed in may see.
PUBLIC_ENDPOINTS = frozenset({"console.sign_in", "console.static"})
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def csrf_token() -> str:
    """The session's CSRF token (made on first use), for the forms of the page."""
    token = session.get(_CSRF_KEY)
    if not isinstance(token, str):
        token = session[_CSRF_KEY] = secrets.token_urlsafe(32)
    return token


def check_csrf() -> None:
    """Abort 400 for an unsafe request without the session's token."""
    if request.method not in UNSAFE_METHODS:
        return
    expected = session.get(_CSRF_KEY)
    given = request.form.get(CSRF_FIELD, "")
    if not isinstance(expected, str) or not hmac.compare_digest(expected, given):
        abort(400, "The form's security token is missing or out of date: nothing was changed. "
                   "Go back, reload the page and try again.")


def remember(user: SignedIn) -> None:
    """Sign ``user`` in: a new session (and so a new CSRF token), against session fixation."""
    session.clear()
    session[_USER_KEY] = {"id": user.id, "name": user.name, "secret": user.session_secret}
    session[_SEEN_KEY] = int(time.time())
    session.permanent = True
    csrf_token()


def sign_out() -> None:
    """End every session of the signed-in user, this one and any copy of its cookie."""
    user = load_user()
    if user is not None:
        with get_database().session() as db:
            end_sessions(db, user.id)
    forget()


def forget() -> None:
    session.clear()


def load_user() -> SignedIn | None:
    """The signed-in user, read once per request."""
    if "console_user" in g:
        return cast(SignedIn | None, g.console_user)
    stored = session.get(_USER_KEY)
    user = None
    if isinstance(stored, dict) and isinstance(stored.get("id"), int) and _active():
        with get_database().session() as db:
            user = find_user(db, stored["id"], str(stored.get("name", "")),
                             str(stored.get("secret", "")))
    if user is None and stored is not None:
        forget()
    g.console_user = user
    return user


def _active() -> bool:
    """Whether the session was used within ``CONSOLE_IDLE_MINUTES``; notes this use (at most
    once a minute: each note rewrites the cookie)."""
    seen = session.get(_SEEN_KEY)
    now = int(time.time())
    idle = int(current_app.config["CONSOLE_IDLE_MINUTES"]) * 60
    if not isinstance(seen, int) or now - seen > idle:
        return False
    if now - seen >= 60:
        session[_SEEN_KEY] = now
    return True


def current_user() -> SignedIn:
    """The signed-in user of a view that ``guard`` let through."""
    user = load_user()
    if user is None:  # pragma: no cover - guard redirects first
        abort(401)
    return user


def may(area: Area, write: bool = False) -> bool:
    """Whether the signed-in user's role may read (or ``write``) ``area``."""
    user = load_user()
    return user is not None and allowed(user.role, area, write)


def guard() -> Response | None:
    """Before every console view: the CSRF check, then sign-in (a visitor is sent to the
    sign-in page, with the page they wanted to come back to)."""
    check_csrf()
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if load_user() is None:
        wanted = request.full_path if request.method == "GET" else None
        return redirect(url_for("console.sign_in", next=wanted))
    return None


def requires(area: Area, write: bool = False) -> Callable[[F], F]:
    """A view for roles that may read (or ``write``) ``area``; 403 for the others."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not may(area, write):
                what = "change" if write else "see"
                abort(403, f"Your role ({current_user().role}) may not {what} {area}.")
            return view(*args, **kwargs)

        return cast(F, wrapper)

    return decorator
