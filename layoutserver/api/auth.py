"""Bearer tokens on API requests: who is asking (a ``Principal``) and may they.

``require(blp, area, write)`` decorates a view method: no token or an unknown or revoked one
answers 401 (with ``WWW-Authenticate: Bearer``), a role without the permission 403; both are
documented on the operation. The principal is then in ``flask.g.principal``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, NoReturn, TypeVar, cast

from flask import g, request
from flask_smorest import Blueprint, abort

from layoutserver.auth.roles import Area, allowed
from layoutserver.auth.tokens import Principal, authenticate
from layoutserver.db import get_database

F = TypeVar("F", bound=Callable[..., Any])
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="layoutserver"'}


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


def current_principal(area: Area, write: bool) -> Principal:
    """The request's principal, allowed to read (or ``write``) ``area``; aborts 401 or 403."""
    token = bearer_token()
    if token is None:
        _deny(401, "A bearer token is required.", CHALLENGE)
    with get_database().session() as session:
        found = authenticate(session, token)
    if found is None:
        _deny(401, "The bearer token is unknown or revoked.",
              {"WWW-Authenticate": CHALLENGE["WWW-Authenticate"] + ', error="invalid_token"'})
    if not allowed(found.role, area, write):
        what = "change" if write else "read"
        _deny(403, f"Role {found.role!r} may not {what} {area}.")
    g.principal = found
    return found


def _deny(code: int, message: str, headers: dict[str, str] | None = None) -> NoReturn:
    abort(code, message=message, headers=headers or {})
    raise AssertionError("abort returned")  # pragma: no cover


def principal() -> Principal:
    """The principal ``require`` found for this request."""
    return cast(Principal, g.principal)


def require(blp: Blueprint, area: Area, write: bool = False) -> Callable[[F], F]:
    """Check the request's token before the view (and before its ETag precondition)."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            current_principal(area, write)
            return view(*args, **kwargs)

        documented = blp.alt_response(401, response="UNAUTHORIZED")(wrapper)
        return cast(F, blp.alt_response(403, response="FORBIDDEN")(documented))

    return decorator
