"""JSON API input refused before any view sees it, with a 4xx instead of a 500 deeper down.

* **Nesting**: a JSON body nested deeper than ``MAX_DEPTH`` is refused (400). Parsing a body
  nested a thousand levels deep raises ``RecursionError`` in the JSON decoder, and anything
  that walks a deep document afterwards can too; no document of this API needs more than a
  few levels.
* **NUL** (U+0000): PostgreSQL cannot store or even compare a text value holding it (psycopg
  raises); SQLite would store it. Refused on every database alike: 404 for a path (nothing is
  named so), 422 for a query, form or JSON value.
* **Lone surrogates** (U+D800 to U+DFFF alone, as a JSON ``"\\ud800"`` escape gives them): no
  database can store text that is not valid Unicode; 422.
* **Size**: a body over ``MAX_BODY_BYTES`` (the admin API and the console; uploads included)
  or over ``DECIDE_MAX_BODY_BYTES`` (``/ads/decide``) is refused with 413 before it is read; a
  query string over ``API_MAX_QUERY_BYTES`` with 414 (JSON, where gunicorn's own limit on the
  request line, kept above it, would answer HTML).

:func:`refuse_bad_text` guards the admin API (all three); :func:`refuse_deep_json` guards
``/ads/decide``, which stores no text it is given.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, request
from flask_smorest import abort

from layoutserver.api.decide_memo import known_body

NUL = "\x00"
MESSAGE = "NUL characters (U+0000) are not allowed."
SURROGATE_MESSAGE = "Not valid Unicode: a lone surrogate (U+D800 to U+DFFF)."
MAX_DEPTH = 32


#: The default of ``API_MAX_QUERY_BYTES``: the longest query string (URL-encoded) the API
#: reads. gunicorn's ``limit_request_line`` (the whole request line) is kept above it.
DEFAULT_MAX_QUERY_BYTES = 4096

#: A decide body names a page and up to 20 slots: a few hundred bytes.
DECIDE_MAX_BODY_BYTES = 64 * 1024


def refuse_deep_json() -> None:
    """``before_request`` of ``/ads/decide``: 413 for a body over ``DECIDE_MAX_BODY_BYTES``,
    400 for a JSON body that cannot be parsed for its depth, or is nested deeper than
    ``MAX_DEPTH``. A body validated before (``api/decide_memo.py``) passed this already."""
    request.max_content_length = DECIDE_MAX_BODY_BYTES
    _refuse_long_query()
    if not known_body():
        _json_body()


def refuse_bad_text() -> None:
    """``before_request`` of the admin API's blueprints."""
    request.max_content_length = int(current_app.config["MAX_BODY_BYTES"])
    _refuse_long_query()
    if NUL in request.path:
        abort(404)
    found: dict[str, dict[str, list[str]]] = {}
    for location, value in (("query", request.args.to_dict(flat=False)),
                            ("form", request.form.to_dict(flat=False)),
                            ("json", _json_body())):
        problem = _bad_text(value)
        if problem is not None:
            found[location] = {"_schema": [problem]}
    if found:
        message = next(iter(found.values()))["_schema"][0]
        abort(422, message=message, errors=found)


def _refuse_long_query() -> None:
    limit = int(current_app.config["API_MAX_QUERY_BYTES"])
    if len(request.query_string) > limit:
        abort(414, message=f"The query string is over {limit} bytes.")


def _json_body() -> Any:
    if not request.is_json:
        return None
    try:
        body = request.get_json(silent=True)
    except RecursionError:
        abort(400, message=f"The JSON body is nested too deeply (more than {MAX_DEPTH} "
                           "levels).")
    if _depth(body) > MAX_DEPTH:
        abort(400, message=f"The JSON body is nested too deeply (more than {MAX_DEPTH} "
                           "levels).")
    return body


def _depth(value: Any) -> int:
    """How deeply ``value`` nests lists and objects (0 for a scalar), without recursion."""
    deepest = 0
    pending = [(value, 0)]
    while pending:
        item, level = pending.pop()
        if isinstance(item, dict):
            items = list(item.values())
        elif isinstance(item, list):
            items = item
        else:
            continue
        deepest = max(deepest, level + 1)
        if deepest > MAX_DEPTH:
            return deepest
        pending.extend((child, level + 1) for child in items)
    return deepest


def _bad_text(value: Any) -> str | None:
    """What is wrong with the first bad string in ``value`` (keys included), or None."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if NUL in item:
                return MESSAGE
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return SURROGATE_MESSAGE
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return None
