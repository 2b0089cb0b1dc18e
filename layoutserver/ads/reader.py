"""The reader's first-party user key (for frequency caps) and storage consent, read from the
request the web layer is answering (passed in: nothing here reads Flask's request globals).

The key comes, in this order, from what the caller states (``/ads/decide``'s ``user_key``), the
site's or edge's header (setting ``USER_KEY_HEADER``), or the cookie this server sets (setting
``ADS_USER_COOKIE``); failing all three a new random key is made, which the response stores as a
long-lived, HttpOnly, SameSite=Lax cookie when ads were decided with it.

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

from werkzeug.http import dump_cookie
from werkzeug.wrappers import Request

from layoutserver.ads import tcf
from layoutserver.render.request_view import environ_key

TCF_PARAM = "gdpr_consent"
TCF_COOKIE = "euconsent-v2"
USER_KEY = re.compile(r"^[A-Za-z0-9_.:-]{8,128}$")


def storage_allowed(stated: bool | None, http: Request) -> bool:
    """False when the consent header (``stated``) or a TCF string denies storage."""
    if stated is False:
        return False
    environ = http.environ  # no query string or cookies to parse on most requests
    consent_string = ((http.args.get(TCF_PARAM) if environ.get("QUERY_STRING") else None)
                      or (http.cookies.get(TCF_COOKIE) if environ.get("HTTP_COOKIE") else None))
    return not consent_string or tcf.storage_consent(consent_string) is not False


def user_key(config: Mapping[str, Any], stated_consent: bool | None, http: Request,
             given: str | None = None) -> tuple[str | None, bool]:
    """The reader's key for ``http`` and whether it was made just now (a reader with no
    history, whose key the response should store); (None, False) when storage is denied."""
    if not storage_allowed(stated_consent, http):
        return None, False
    environ = http.environ
    header = config["USER_KEY_HEADER"]
    candidates = (
        given,
        environ.get(environ_key(header)) if header else None,
        http.cookies.get(config["ADS_USER_COOKIE"]) if environ.get("HTTP_COOKIE") else None,
    )
    for candidate in candidates:
        if candidate and USER_KEY.match(candidate):
            return str(candidate), False
    return secrets.token_urlsafe(18), True


def user_cookie(config: Mapping[str, Any], key: str, secure: bool) -> str:
    """The ``Set-Cookie`` value storing ``key``: a long-lived, HttpOnly, SameSite=Lax cookie."""
    return dump_cookie(config["ADS_USER_COOKIE"], key,
                       max_age=int(config["ADS_USER_COOKIE_DAYS"]) * 86400, path="/",
                       secure=secure, httponly=True, samesite="Lax")


class UserCookie:
    """:func:`user_cookie` for an app, made once a second with a mark where the key goes: every
    new reader gets one, and putting a key in costs less than making the whole value. A key of
    this server's making is URL-safe, so werkzeug would not quote it; any other key gets a
    value of its own."""

    _MARK = "KEY-MARK"
    _MADE = re.compile(r"^[A-Za-z0-9_-]+$")

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.config = config
        self._kept: tuple[tuple[int, bool], str, str] = ((0, False), "", "")

    def value(self, key: str, secure: bool) -> str:
        if not self._MADE.match(key):
            return user_cookie(self.config, key, secure)
        shape = (int(time.time()), secure)
        kept = self._kept
        if kept[0] != shape:
            prefix, _, suffix = user_cookie(self.config, self._MARK, secure).partition(self._MARK)
            kept = self._kept = (shape, prefix, suffix)
        return kept[1] + key + kept[2]
