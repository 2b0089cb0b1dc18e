"""Errors as HTML or JSON, by what the client accepts; never a bare 500 page."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError

log = logging.getLogger(__name__)


def wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def error_response(status: int, title: str, detail: str) -> Response:
    if wants_json():
        response = jsonify({"status": status, "error": title, "detail": detail})
    else:
        response = Response(
            render_template("error.html", status=status, title=title, detail=detail),
            mimetype="text/html",
        )
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    response.vary.add("Accept")
    return response


def _http_error(exc: HTTPException) -> Response:
    return error_response(exc.code or 500, exc.name, exc.description or exc.name)


def _unexpected(exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.path)
    error = InternalServerError()
    return error_response(500, error.name, "The server failed; the error is logged.")


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)
