"""A request id on every request: the caller's ``X-Request-Id`` when it is a sane token (a load
balancer's), else a new one; echoed on the response and put on every log record, those of the
request's renders on render threads included (:mod:`layoutserver.log_context`)."""

from __future__ import annotations

import re
import secrets

from flask import Flask, Response, g, request

from layoutserver.log_context import REQUEST_ID

HEADER = "X-Request-Id"
ENVIRON_KEY = "HTTP_X_REQUEST_ID"
SANE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def _assign() -> None:
    given = request.environ.get(ENVIRON_KEY, "")
    # 32 hex digits, as uuid4().hex has them, for less
    g.request_id = given if SANE.match(given) else secrets.token_hex(16)
    g.request_id_token = REQUEST_ID.set(g.request_id)


def _forget(_: BaseException | None) -> None:
    """The thread's next log line outside a request must not carry this request's id."""
    token = g.pop("request_id_token", None)
    if token is not None:
        REQUEST_ID.reset(token)


def _echo(response: Response) -> Response:
    request_id = g.get("request_id")
    if request_id:
        response.headers[HEADER] = request_id
    return response


def init_app(app: Flask) -> None:
    app.before_request(_assign)
    app.after_request(_echo)
    app.teardown_request(_forget)
