"""Security headers on every response, and the console on a hostname of its own.

Site responses (pages, fragments, widgets, the API, tracking routes, errors) get a set that the
settings make (docs/security.md): ``X-Content-Type-Options: nosniff``, ``Referrer-Policy``
(``SITE_REFERRER_POLICY``) and a ``Content-Security-Policy`` (``SITE_CSP``). An HTML creative
runs in a sandboxed ``srcdoc`` iframe, and such a frame inherits the page's policy: the default
policy lets scripts, images, frames and connections reach only this server and the origins of
``AD_ORIGINS``, so a creative cannot send what it sees anywhere else. It allows inline script,
because HTML creatives and third-party tags carry it; a site whose creatives have none sets a
stricter ``SITE_CSP``.

The console sets its own, stricter policy (``console/blueprint.py``); a header a response
already has is never replaced here.

With ``CONSOLE_HOST`` set, the console answers only on that host and the site only on others,
so no page a reader sees shares an origin (cookies, storage, permissions) with the console.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from flask import Flask, abort, current_app, request
from werkzeug.wrappers import Response

from layoutserver.settings import SettingsError

#: ``SITE_CSP`` unset: this policy, ``{ad_origins}`` replaced by ``AD_ORIGINS``.
DEFAULT_SITE_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' {ad_origins}; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data: {ad_origins}; "
    "frame-src 'self' {ad_origins}; connect-src 'self' {ad_origins}; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'self'"
)
ORIGIN = re.compile(r"^https?://[A-Za-z0-9.-]+(:\d{1,5})?$")
ORIGIN_OF = re.compile(r"^https?://[A-Za-z0-9.-]+(:\d{1,5})?")
#: The console's policy: no inline script, no script from anywhere but this server, never framed
#: by another page (its page preview is framed by the console itself). Inline styles are allowed:
#: the previews of creatives and widgets size boxes with them, and a style cannot run script.
#: An HTML creative previewed in the console inherits the policy, so its scripts do not run
#: there: the console never runs a creative's code.
CONSOLE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: {ad_origins}; frame-src 'self'; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors {ancestors}"
)
CONSOLE_POLICIES_KEY = "layoutserver.console_policies"
#: Paths served on the console's own host besides the console: the health probes and the API
#: (bearer tokens, not cookies) answer on every host.
EVERY_HOST = ("/healthz", "/readyz", "/api/", "/metrics")


def ad_origins(config: Mapping[str, Any]) -> list[str]:
    """``AD_ORIGINS`` (checked: SettingsError), and the origin of ``ADS_BASE_URL`` when the
    tracking and decide URLs are on another host."""
    origins = config["AD_ORIGINS"]
    if not isinstance(origins, list) or not all(
            isinstance(origin, str) and ORIGIN.match(origin) for origin in origins):
        raise SettingsError("AD_ORIGINS must be a list of origins such as "
                            f"'https://ads.example.net' (scheme and host only), not {origins!r}")
    base = ORIGIN_OF.match(str(config["ADS_BASE_URL"] or ""))
    return [*origins, base.group(0)] if base and base.group(0) not in origins else list(origins)


def console_policy(framed_by_console: bool) -> str:
    """The console's policy for this app (made once, by :func:`init_app`)."""
    policies: dict[bool, str] = current_app.extensions[CONSOLE_POLICIES_KEY]
    return policies[framed_by_console]


def _console_policy(config: Mapping[str, Any], framed_by_console: bool) -> str:
    return CONSOLE_CSP.format(ad_origins=" ".join(ad_origins(config)),
                              ancestors="'self'" if framed_by_console else "'none'"
                              ).replace("  ", " ").replace(" ;", ";")


def site_headers(config: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """The headers every site response gets, from the settings (checked: SettingsError)."""
    origins = ad_origins(config)
    policy = config["SITE_CSP"]
    if policy is None:
        policy = DEFAULT_SITE_CSP
    if not isinstance(policy, str) or "\n" in policy or "\r" in policy:
        raise SettingsError(f"SITE_CSP must be one line of text, not {policy!r}")
    policy = re.sub(r" +", " ", policy.replace("{ad_origins}", " ".join(origins))).replace(
        " ;", ";").strip()
    referrer = config["SITE_REFERRER_POLICY"]
    if referrer not in REFERRER_POLICIES:
        raise SettingsError(f"SITE_REFERRER_POLICY must be one of {', '.join(REFERRER_POLICIES)}, "
                            f"not {referrer!r}")
    headers = [("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", referrer)]
    if policy:
        headers.append(("Content-Security-Policy", policy))
    return tuple(headers)


REFERRER_POLICIES = ("no-referrer", "no-referrer-when-downgrade", "origin",
                     "origin-when-cross-origin", "same-origin", "strict-origin",
                     "strict-origin-when-cross-origin", "unsafe-url")


def init_app(app: Flask, console_prefix: str) -> None:
    headers = site_headers(app.config)
    app.extensions[CONSOLE_POLICIES_KEY] = {framed: _console_policy(app.config, framed)
                                            for framed in (False, True)}

    def add(response: Response) -> Response:
        present = response.headers
        for name, value in headers:
            if name not in present:
                present[name] = value
        return response

    app.after_request(add)
    console_host = app.config["CONSOLE_HOST"]
    if console_host:
        app.before_request(_host_split(str(console_host).lower(), console_prefix))


def _host_split(console_host: str, console_prefix: str) -> Any:
    """A ``before_request`` hook: 404 for the console on another host, and for the site on the
    console's host."""
    def split() -> None:
        path = request.path
        on_console_host = request.host.lower() == console_host
        is_console = path == console_prefix or path.startswith(console_prefix + "/")
        if is_console != on_console_host and not path.startswith(EVERY_HOST):
            abort(404)

    return split
