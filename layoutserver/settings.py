"""Settings: defaults, then an optional TOML file, then ``LAYOUTSERVER_*`` environment variables.

Every key below can be set in the file named by ``LAYOUTSERVER_SETTINGS`` (upper-case keys at the
top level) or as an environment variable with the ``LAYOUTSERVER_`` prefix, e.g.
``LAYOUTSERVER_WIDGET_BUDGET_MS=500``. Values from the environment are parsed as JSON when they
can be (numbers, booleans, lists), as plain strings otherwise.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from datetime import datetime
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Config

ENV_PREFIX = "LAYOUTSERVER"

DEFAULTS: dict[str, Any] = {
    # Storage. Empty DATABASE_URL means a SQLite file in the Flask instance folder; for
    # PostgreSQL: postgresql+psycopg://user:password@host:5432/name.
    "DATABASE_URL": "",
    # Redis (redis://host:6379/0), shared by every host: fragment cache, ad counters, frequency
    # caps, replay guards. Empty: none (an in-process cache, counts straight to the database).
    "REDIS_URL": "",
    # Seconds a process may keep the content and ads config versions before reading them again:
    # how soon a change made by another process or host shows. Unset: 0.1 on SQLite (one
    # machine), 0.5 elsewhere; 0 reads them on every request. A change made in this process
    # shows on its next request.
    "VERSION_POLL_SECONDS": None,
    # SQLite: the content reads of every uncached render run as driver SQL on a connection
    # each thread keeps, past SQLAlchemy's execution (layoutserver/prepared_select.py); false
    # runs them through SQLAlchemy like every other query. Other databases ignore it.
    "DIRECT_READS": True,
    # Seconds between flushes of the Redis ad counters into the database (0: no background
    # flush; `layoutserver ads flush` then does it).
    "ADS_FLUSH_SECONDS": 5,
    # flask-caching. Unset: RedisCache on REDIS_URL when there is one, else the in-process
    # BoundedMemoryCache (layoutserver/render/memory_cache.py). NullCache disables caching.
    "CACHE_TYPE": None,
    "CACHE_DEFAULT_TIMEOUT": 300,
    "CACHE_THRESHOLD": 20000,
    # The in-process cache's bounds per worker, in bytes: fresh fragments and bodies, and the
    # widgets' last good copies (kept a day, in a space of their own: they never evict a fresh
    # entry). Only BoundedMemoryCache reads them (CACHE_THRESHOLD counts SimpleCache's entries).
    "CACHE_MAX_BYTES": 128 * 1024 * 1024,
    "CACHE_LAST_GOOD_MAX_BYTES": 32 * 1024 * 1024,
    # Each worker's memo of finished bodies in front of the cache (any backend), in bytes.
    "CACHE_MEMO_MAX_BYTES": 32 * 1024 * 1024,
    # At which render a widget's output or a page's body is stored (render/admission.py):
    # 1 on the first, 2 once asked for again. Unset: 2 with the in-process cache, else 1.
    "CACHE_ADMIT_AFTER": None,
    "CACHE_KEY_PREFIX": "ls:",
    # Layout files (one TOML file per page type).
    "LAYOUTS_DIR": "config/layouts",
    # Rendering: how long one widget may take before its fallback is used, and the pool size.
    "WIDGET_BUDGET_MS": 300,
    "RENDER_THREADS": 8,
    # Widgets with a record of rendering fast render on the request thread when it is the
    # process's main thread (gunicorn's sync worker), their budget kept by SIGALRM; false: on
    # a render thread, like every other widget (docs/performance.md, "Main-thread renders
    # under an alarm").
    "RENDER_ON_MAIN_THREAD": True,
    # Widgets installed but not to be loaded (entry-point names).
    "WIDGETS_DISABLED": [],
    # The site.
    "SITE_NAME": "layoutserver",
    "SITE_TIMEZONE": "UTC",
    "SITE_LOCALE": "en-US",
    # The site's public address (https://news.example.com): canonical links, shared links and
    # structured data use it. Empty: links are site paths (and Open Graph's og:url is left out);
    # sitemaps, feeds and robots.txt, which need absolute URLs, use the URL the request came to.
    "SITE_BASE_URL": "",
    # The publisher's logo in structured data: a URL or a site path. Empty: none.
    "SITE_PUBLISHER_LOGO": "",
    # Pins the site clock (ISO 8601, site time zone when naive). Empty: the real clock.
    "SITE_NOW": "",
    # The site's icon: a file under layoutserver/static ("favicon.svg") or an http(s) URL;
    # linked from every page's head, and /favicon.ico redirects to it. Empty: none.
    "SITE_FAVICON": "favicon.svg",
    # The text of /robots.txt ("{base_url}" stands for the site's base URL). Unset: allow
    # everything and name the sitemaps.
    "ROBOTS_TXT": None,
    "LOG_LEVEL": "INFO",
    # "text" for a terminal, "json" (one object per line, with the request id) for production.
    "LOG_FORMAT": "text",
    # Request headers a site or edge cache may send to state device class and storage consent.
    "DEVICE_HEADER": "X-Device-Class",
    "CONSENT_HEADER": "X-Storage-Consent",
    # Signs ad tracking tokens. Unset: one is generated once and kept in the instance folder.
    "SECRET_KEY": None,
    # Ads (docs/ads.md): the first-party user key for frequency caps comes from this header
    # (empty: none) or from this cookie, which the server sets for this many days.
    "USER_KEY_HEADER": "X-User-Key",
    "ADS_USER_COOKIE": "ls_uid",
    "ADS_USER_COOKIE_DAYS": 395,
    # How long impression and click URLs stay valid, in seconds.
    "ADS_TOKEN_MAX_AGE": 86400,
    # Seeds the ad lottery (tests); unset: a fresh random source per decision.
    "ADS_SEED": None,
    # Prefix of the URLs /ads/decide answers with, e.g. https://ads.example.com; empty: the
    # request's own host.
    "ADS_BASE_URL": "",
    # The text of /ads.txt; empty: 404.
    "ADS_TXT": "",
    # How each process follows a change of the ad configuration: true revises its snapshot
    # with the change log (the rows the change touched); false builds it afresh from the
    # whole configuration (docs/ads.md, "Scale").
    "ADS_SNAPSHOT_REVISIONS": True,
    # Edge caches (docs/edge.md): purge endpoints ("xkey URL" or "fastly URL"), the token a
    # Fastly-style API takes, how often each process sends queued purges.
    "EDGE_PURGE": [],
    "EDGE_PURGE_TOKEN": "",
    "EDGE_PURGE_POLL_SECONDS": 0.5,
    # What shared responses allow an edge past their TTL: while it refetches, and while the
    # origin fails.
    "EDGE_STALE_WHILE_REVALIDATE": 30,
    "EDGE_STALE_IF_ERROR": 86400,
    # How long a 404 page may be cached (an edit that creates the page purges it sooner).
    "NOT_FOUND_TTL": 10,
    # The request header an edge names the page view with: its ESI includes of one page view
    # share one whole-page ad decision (docs/edge.md).
    "PAGE_VIEW_HEADER": "X-Page-View",
    # Where a page's ad slots are decided: "server" (in the page, or in its ESI includes behind
    # an edge) or "client" (the page is fully cacheable; ads.js fills the slots with one
    # /ads/decide per page view).
    "ADS_DELIVERY": "server",
    # Forecasts (docs/forecasting.md). The traffic record: weeks of hourly ad requests kept,
    # and how often each serving process writes what it counted (0: never by itself).
    "ADS_TRAFFIC_WEEKS": 8,
    "ADS_TRAFFIC_FLUSH_SECONDS": 60,
    # Request key-values and tags recorded besides those line items target (lists of names),
    # and how many other values of a key a process keeps per hour before counting one as "*".
    "ADS_FORECAST_KEYS": [],
    "ADS_FORECAST_TAGS": [],
    "ADS_FORECAST_VALUES": 20,
    # Sampled ad requests per simulation run (a forecast makes three), the reader model's ad
    # requests per reader and day, and how far ahead a proposal may end.
    "ADS_FORECAST_SAMPLES": 1500,
    "ADS_FORECAST_PAGES_PER_READER": 3.0,
    "ADS_FORECAST_MAX_DAYS": 92,
    # A console session unused this long ends (PERMANENT_SESSION_LIFETIME, 12 h by default,
    # caps any session).
    "CONSOLE_IDLE_MINUTES": 60,
    # The largest request body the admin API and the console read (uploads included: keep it
    # above API_UPLOAD_MAX_BYTES); larger ones are refused with 413 unread.
    "MAX_BODY_BYTES": 2 * 1024 * 1024,
    # A consent header value that is neither a yes nor a no: "deny" (no consent) or
    # "unstated" (as if the header were absent).
    "CONSENT_UNRECOGNISED": "deny",
    # Security headers of site responses (docs/security.md): the origins creatives may load
    # from and talk to (["https://ads.example.net"]); the Content-Security-Policy (unset: a
    # policy allowing this server and AD_ORIGINS, see layoutserver/web/security_headers.py;
    # "": none); the Referrer-Policy.
    "AD_ORIGINS": [],
    "SITE_CSP": None,
    "SITE_REFERRER_POLICY": "strict-origin-when-cross-origin",
    # A page's stylesheets: "inline" (one <style> element: the first paint waits for no
    # download) or "link" (a <link> per stylesheet, at fingerprinted URLs).
    "PAGE_CSS": "inline",
    # Compress responses (brotli or gzip) for clients that accept it. Turn it off when an edge
    # in front compresses (docs/deployment.md): the work is then done once, there.
    "COMPRESS_RESPONSES": True,
    # The host the console answers on ("admin.example.com"); the site then answers on every
    # other host and the console on no other. Empty: one host for both.
    "CONSOLE_HOST": "",
    # The load balancers and proxies in front of the app (addresses or CIDR networks, a list or
    # comma-separated): only a request connecting from one of them has its X-Forwarded-For read,
    # for the reader's own address (sign-in throttling). Empty: the connecting address is the
    # reader's.
    "TRUSTED_PROXIES": [],
}


BASE_URL = re.compile(r"^https?://[A-Za-z0-9.-]+(:\d{1,5})?$")


class SettingsError(ValueError):
    """A setting has a value layoutserver cannot use; the message names the setting."""


def load_settings(config: Config, overrides: Mapping[str, Any] | None = None) -> None:
    """Fill ``config`` from defaults, the settings file, the environment and ``overrides``."""
    config.from_mapping(DEFAULTS)
    settings_file = os.environ.get(f"{ENV_PREFIX}_SETTINGS")
    if settings_file:
        path = Path(settings_file)
        try:
            with path.open("rb") as handle:
                config.from_mapping(tomllib.load(handle))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise SettingsError(f"{ENV_PREFIX}_SETTINGS={settings_file}: {exc}") from exc
    config.from_prefixed_env(ENV_PREFIX)
    if overrides:
        config.from_mapping(overrides)
    _normalise(config)


def _normalise(config: Config) -> None:
    _cache_backend(config)
    disabled = config["WIDGETS_DISABLED"]
    if isinstance(disabled, str):
        config["WIDGETS_DISABLED"] = [name.strip() for name in disabled.split(",") if name.strip()]
    for key in ("WIDGET_BUDGET_MS", "RENDER_THREADS", "MAX_BODY_BYTES"):
        value = config[key]
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise SettingsError(f"{key} must be a positive whole number, not {value!r}")
    for key in ("RENDER_ON_MAIN_THREAD", "COMPRESS_RESPONSES", "DIRECT_READS"):
        if not isinstance(config[key], bool):
            raise SettingsError(f"{key} must be true or false, not {config[key]!r}")
    for key in ("VERSION_POLL_SECONDS", "ADS_FLUSH_SECONDS"):
        value = config[key]
        if value is None and key == "VERSION_POLL_SECONDS":
            continue
        if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
            raise SettingsError(f"{key} must be a number of seconds (0 or more), not {value!r}")
    if config["CONSENT_UNRECOGNISED"] not in ("deny", "unstated"):
        raise SettingsError(f"CONSENT_UNRECOGNISED must be 'deny' or 'unstated', not "
                            f"{config['CONSENT_UNRECOGNISED']!r}")
    base_url = config["SITE_BASE_URL"]
    if not isinstance(base_url, str) or (base_url and not BASE_URL.match(base_url)):
        raise SettingsError("SITE_BASE_URL must be the site's address, such as "
                            f"'https://news.example.com' (no path, no trailing slash), "
                            f"not {base_url!r}")
    site_timezone(config)
    site_now(config)
    site_favicon(config)
    if config["ROBOTS_TXT"] is not None and not isinstance(config["ROBOTS_TXT"], str):
        raise SettingsError(f"ROBOTS_TXT must be text, not {config['ROBOTS_TXT']!r}")
    config["TRUSTED_PROXIES"] = [str(network) for network in trusted_proxies(config)]


REDIS_TIMEOUT_SECONDS = 0.25
"""Socket timeouts of every Redis client: a Redis that stops answering costs a request at most
this long before the circuit breaker (``layoutserver.breaker``) skips it for a while."""


IN_PROCESS_CACHE = "layoutserver.render.memory_cache.BoundedMemoryCache"
"""The default ``CACHE_TYPE`` without Redis: bounded in bytes (``CACHE_MAX_BYTES``)."""


def _cache_backend(config: Config) -> None:
    redis_url = config["REDIS_URL"]
    if redis_url and not str(redis_url).startswith(("redis://", "rediss://", "unix://")):
        raise SettingsError(f"REDIS_URL must start with redis://, rediss:// or unix://, "
                            f"not {redis_url!r}")
    if not config["CACHE_TYPE"]:
        config["CACHE_TYPE"] = "RedisCache" if redis_url else IN_PROCESS_CACHE
    for key in ("CACHE_MAX_BYTES", "CACHE_LAST_GOOD_MAX_BYTES", "CACHE_MEMO_MAX_BYTES"):
        value = config[key]
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise SettingsError(f"{key} must be a positive whole number of bytes, not {value!r}")
    admit_after = config["CACHE_ADMIT_AFTER"]
    if admit_after is None:
        config["CACHE_ADMIT_AFTER"] = 2 if config["CACHE_TYPE"] == IN_PROCESS_CACHE else 1
    elif not isinstance(admit_after, int) or isinstance(admit_after, bool) or admit_after < 1:
        raise SettingsError(f"CACHE_ADMIT_AFTER must be a whole number of renders, 1 or more, "
                            f"not {admit_after!r}")
    if config["CACHE_TYPE"] == "RedisCache":
        config.setdefault("CACHE_REDIS_URL", redis_url)
        options = dict(config.get("CACHE_OPTIONS") or {})
        options.setdefault("socket_timeout", REDIS_TIMEOUT_SECONDS)
        options.setdefault("socket_connect_timeout", REDIS_TIMEOUT_SECONDS)
        config["CACHE_OPTIONS"] = options


def version_poll_seconds(config: Mapping[str, Any], database_url: str) -> float:
    value = config["VERSION_POLL_SECONDS"]
    if value is None:
        return 0.1 if database_url.startswith("sqlite") else 0.5
    return float(value)


def site_timezone(config: Mapping[str, Any]) -> ZoneInfo:
    name = config["SITE_TIMEZONE"]
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise SettingsError(f"SITE_TIMEZONE: unknown time zone {name!r}") from exc


def site_now(config: Mapping[str, Any]) -> datetime | None:
    """The pinned site clock, or None for the real clock."""
    raw = config["SITE_NOW"]
    if not raw:
        return None
    try:
        pinned = datetime.fromisoformat(str(raw))
    except ValueError as exc:
        raise SettingsError(f"SITE_NOW: not an ISO 8601 date-time: {raw!r}") from exc
    if pinned.tzinfo is None:
        pinned = pinned.replace(tzinfo=site_timezone(config))
    return pinned


STATIC_FOLDER = Path(__file__).resolve().parent / "static"


def site_favicon(config: Mapping[str, Any]) -> str:
    """``SITE_FAVICON``: "" (none), an http(s) URL, or the name of a file under
    ``layoutserver/static`` that exists."""
    raw = config["SITE_FAVICON"]
    if raw in ("", None):
        return ""
    text = raw if isinstance(raw, str) else ""
    if text.startswith(("http://", "https://")):
        parts = urlsplit(text)
        if parts.hostname and not any(c.isspace() or c in "\"<>" for c in text):
            return text
    elif (text and not text.startswith("/") and "\\" not in text
          and ".." not in text.split("/") and (STATIC_FOLDER / text).is_file()):
        return text
    raise SettingsError(f"SITE_FAVICON must be a file under layoutserver/static or an http(s) "
                        f"URL, not {raw!r}")


def trusted_proxies(config: Mapping[str, Any]) -> tuple[IPv4Network | IPv6Network, ...]:
    """``TRUSTED_PROXIES`` as networks (an address alone is a network of one)."""
    raw = config["TRUSTED_PROXIES"]
    entries = raw.split(",") if isinstance(raw, str) else raw
    if not isinstance(entries, list | tuple):
        raise SettingsError(f"TRUSTED_PROXIES must be a list of addresses or networks, "
                            f"not {raw!r}")
    networks = []
    for entry in entries:
        text = entry.strip() if isinstance(entry, str) else repr(entry)
        if text == "":
            continue
        try:
            networks.append(ip_network(text))
        except ValueError as exc:
            raise SettingsError(f"TRUSTED_PROXIES: {text!r} is not an IP address or network "
                                f"(such as 10.0.0.5 or 10.0.0.0/8): {exc}") from exc
    return tuple(networks)
