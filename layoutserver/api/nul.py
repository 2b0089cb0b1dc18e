"""Requests carrying NUL characters are refused before they reach the database.

PostgreSQL cannot store or even compare a text value holding NUL (U+0000): psycopg raises, and
the request would end as a 500. SQLite would store it. The API refuses it on every database
alike: 404 for a path (nothing is named so), 422 for a query, form or JSON value.
"""

from __future__ import annotations

from typing import Any

from flask import request
from flask_smorest import abort

NUL = "\x00"
MESSAGE = "NUL characters (U+0000) are not allowed."


def refuse_nul() -> None:
    """``before_request`` of the API's blueprints."""
    if NUL in request.path:
        abort(404)
    where = [
        location for location, found in (
            ("query", _has_nul(request.args.to_dict(flat=False))),
            ("form", _has_nul(request.form.to_dict(flat=False))),
            ("json", request.is_json and _has_nul(request.get_json(silent=True))),
        ) if found
    ]
    if where:
        abort(422, message=MESSAGE, errors={location: {"_schema": [MESSAGE]} for location in where})


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, dict):
        return any(_has_nul(key) or _has_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False
