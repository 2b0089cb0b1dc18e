"""A request id on every request: the caller's ``X-Request-Id`` when it is a sane token (a load
balancer's), else a new one; echoed on the response and put on every log record."""

from __future__ import annotations

import re
import uuid

from flask import Flask, Response, g, request

HEADER = "X-Request-Id"
SANE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def _assign() -> None:
    given = request.headers.get(HEADER, "")
    g.request_id = given if SANE.match(given) else uuid.uuid4().hex


def _echo(response: Response) -> Response:
    request_id = g.get("request_id")
    if request_id:
        response.headers[HEADER] = request_id
    return response


def init_app(app: Flask) -> None:
    app.before_request(_assign)
    app.after_request(_echo)
