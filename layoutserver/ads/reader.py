"""The reader's first-party user key (for frequency caps) and storage consent.

The key comes, in this order, from what the caller states (``/ads/decide``'s ``user_key``), the
site's header (setting ``USER_KEY_HEADER``), or the cookie this server sets (setting
``ADS_USER_COOKIE``); failing all three a new random key is made, and an ``after_request``
hook sets it as a long-lived, HttpOnly, SameSite=Lax cookie.

Storage is denied when the consent header (setting ``CONSENT_HEADER``, read into
``RequestView.consent``) says no, or when an IAB TCF v2 string (query parameter
``gdpr_consent`` or cookie ``euconsent-v2``) does not consent to purpose 1. Then no key is used
and no cookie is set; the engine skips capped line items for a request without a key.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Mapping
from typing import Any

from flask import Request, Response, has_request_context, request
from werkzeug.http import dump_cookie

from layoutserver.ads import tcf
from layoutserver.render.request_view import environ_key

TCF_PARAM = "gdpr_consent"
TCF_COOKIE = "euconsent-v2"
USER_KEY = re.compile(r"^[A-Za-z0-9_.:-]{8,128}$")
_NEW_KEY = "layoutserver.ads.new_user_key"
"""Where a key made during the request waits in the WSGI environ for :func:`set_user_cookie`."""


def storage_allowed(stated: bool | None, http: Request) -> bool:
    """False when the consent header (``stated``) or a TCF string denies storage."""
    if stated is False:
        return False
    environ = http.environ  # no query string or cookies to parse on most requests
    consent_string = ((http.args.get(TCF_PARAM) if environ.get("QUERY_STRING") else None)
                      or (http.cookies.get(TCF_COOKIE) if environ.get("HTTP_COOKIE") else None))
    return not consent_string or tcf.storage_consent(consent_string) is not False


def current_request() -> Request | None:
    """The request being answered (one proxy lookup, for callers that need it several times);
    None outside a request."""
    if not has_request_context():
        return None
    return request._get_current_object()  # type: ignore[attr-defined,no-any-return]


def user_key(config: Mapping[str, Any], stated_consent: bool | None,
             given: str | None = None, http: Request | None = None) -> str | None:
    """The reader's key for this request (``http``, else the current one), or None when
    storage is denied (or outside a request). May make a new key, for
    :func:`set_user_cookie` to store."""
    current = http if http is not None else current_request()
    if current is None or not storage_allowed(stated_consent, current):
        return None
    environ = current.environ
    header = config["USER_KEY_HEADER"]
    candidates = (
        given,
        environ.get(environ_key(header)) if header else None,
        current.cookies.get(config["ADS_USER_COOKIE"]) if environ.get("HTTP_COOKIE") else None,
        environ.get(_NEW_KEY),
    )
    for candidate in candidates:
        if candidate and USER_KEY.match(candidate):
            return str(candidate)
    key = secrets.token_urlsafe(18)
    environ[_NEW_KEY] = key
    return key


def is_new(key: str | None, http: Request | None = None) -> bool:
    """Whether ``key`` was made during this request (``http``, else the current one): such a
    reader has no history yet."""
    current = http if http is not None else current_request()
    return key is not None and current is not None and current.environ.get(_NEW_KEY) == key


def set_user_cookie(config: Mapping[str, Any], response: Response) -> Response:
    """``after_request``: store a key made during this request."""
    environ = request.environ
    key = environ.pop(_NEW_KEY, None)
    if key:
        secure = environ.get("wsgi.url_scheme") == "https"  # what Request.is_secure reads
        response.headers.add("Set-Cookie", user_cookie(config, key, secure))
    return response


def user_cookie(config: Mapping[str, Any], key: str, secure: bool) -> str:
    """The ``Set-Cookie`` value storing ``key``: a long-lived, HttpOnly, SameSite=Lax cookie."""
    return _COOKIE.value(config["ADS_USER_COOKIE"], key, int(config["ADS_USER_COOKIE_DAYS"]),
                         secure)


class _CookieShape:
    """werkzeug's ``Set-Cookie`` value, made once a second with a mark where the key goes:
    putting a key in costs far less than making the whole value for every new reader. A key
    of this server's making is URL-safe, so werkzeug would not quote it; any other key gets
    a value of its own."""

    _MARK = "KEY-MARK"

    def __init__(self) -> None:
        self._kept: tuple[tuple[Any, ...], str, str] = ((), "", "")

    def value(self, name: str, key: str, days: int, secure: bool) -> str:
        if not _MADE_KEY.match(key):
            return self._make(name, key, days, secure)
        shape = (int(time.time()), name, days, secure)
        kept = self._kept
        if kept[0] != shape:
            prefix, _, suffix = self._make(name, self._MARK, days, secure).partition(self._MARK)
            kept = self._kept = (shape, prefix, suffix)
        return kept[1] + key + kept[2]

    @staticmethod
    def _make(name: str, key: str, days: int, secure: bool) -> str:
        return dump_cookie(name, key, max_age=days * 86400, path="/", secure=secure,
                           httponly=True, samesite="Lax")


_MADE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_COOKIE = _CookieShape()
