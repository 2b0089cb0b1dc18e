"""Errors of the URLs other pages include (a region, a placed widget, a podlet's content): a
short HTML comment, never the site's whole error page inside someone else's page.

A composition layer inserts what a fragment URL answers. Zalando Tailor inserts any answer
below 500 as it is and fetches a fragment's ``fallback-src`` only for a 5xx (or a timeout); a
*primary* fragment's status becomes the page's (Tailor's way to a 404 page). Podium's client
shows a podlet's fallback for any status from 400. So, for an includer:

* a fragment that does not exist (its page type, region or placement is not in the layouts:
  the including template is wrong) answers **500**: Tailor and Podium show the fallback;
* a subject that does not exist (an unknown article or section) stays a **404**, kept briefly
  and purged by the subject's keys like the page's: as a primary fragment it makes Tailor's
  page a 404, elsewhere it inserts nothing visible; Podium shows the fallback;
* any other error keeps its status (503 with ``Retry-After`` for a database that does not
  answer, 500 for a failure).

A client that prefers JSON gets the JSON error, and the status of a missing fragment stays 404
for it; full pages keep the site's HTML error page.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from flask import Flask, Response, current_app, request
from werkzeug.exceptions import HTTPException, NotFound

from layoutserver.web.errors import (
    keep_missing_subject,
    register_error_area,
    site_error,
    wants_json,
)

EXTENSION_KEY = "layoutserver.included_endpoints"
#: What an error comment may say: the rest of a description (an unknown name from the URL
#: among it) becomes "?", so no text can end the comment or open markup.
UNSAFE = re.compile(r"[^A-Za-z0-9 .,:;'_/()=-]")
MAX_DETAIL = 300


class NoSuchFragment(NotFound):
    """The URL names a page type, region or placement that no layout has."""


def fragment_error(exc: HTTPException) -> Response:
    """An error on a URL under the included paths: a short comment for an includer's request,
    else the site's own error."""
    included: frozenset[str] = current_app.extensions.get(EXTENSION_KEY, frozenset())
    if request.endpoint not in included or wants_json():
        return site_error(exc)
    status = 500 if isinstance(exc, NoSuchFragment) else exc.code or 500
    response = Response(error_comment(status, exc.description or exc.name), status=status,
                        content_type="text/html; charset=utf-8")
    response.headers["Cache-Control"] = "no-store"
    response.vary.add("Accept")
    return keep_missing_subject(exc, response)


def error_comment(status: int, detail: str) -> str:
    """``<!-- layoutserver 404: No article 'x'. -->``, its text made safe for a comment."""
    safe = UNSAFE.sub("?", detail[:MAX_DETAIL])
    while "--" in safe:
        safe = safe.replace("--", "-")
    return f"<!-- layoutserver {status}: {safe} -->"


def init_app(app: Flask, prefixes: Iterable[str], endpoints: Iterable[str]) -> None:
    """Answer the errors of ``endpoints`` (under ``prefixes``) as fragment errors."""
    app.extensions[EXTENSION_KEY] = frozenset(
        app.extensions.get(EXTENSION_KEY, frozenset())) | frozenset(endpoints)
    for prefix in prefixes:
        register_error_area(app, prefix, fragment_error)
