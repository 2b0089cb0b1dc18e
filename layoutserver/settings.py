"""Settings: defaults, then an optional TOML file, then ``LAYOUTSERVER_*`` environment variables.

Every key below can be set in the file named by ``LAYOUTSERVER_SETTINGS`` (upper-case keys at the
top level) or as an environment variable with the ``LAYOUTSERVER_`` prefix, e.g.
``LAYOUTSERVER_WIDGET_BUDGET_MS=500``. Values from the environment are parsed as JSON when they
can be (numbers, booleans, lists), as plain strings otherwise.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Config

ENV_PREFIX = "LAYOUTSERVER"

DEFAULTS: dict[str, Any] = {
    # Storage. Empty DATABASE_URL means a SQLite file in the Flask instance folder.
    "DATABASE_URL": "",
    # flask-caching: SimpleCache is the in-process default; NullCache disables caching.
    "CACHE_TYPE": "SimpleCache",
    "CACHE_DEFAULT_TIMEOUT": 300,
    "CACHE_THRESHOLD": 20000,
    "CACHE_KEY_PREFIX": "ls:",
    # Layout files (one TOML file per page type).
    "LAYOUTS_DIR": "config/layouts",
    # Rendering: how long one widget may take before its fallback is used, and the pool size.
    "WIDGET_BUDGET_MS": 300,
    "RENDER_THREADS": 8,
    # Widgets installed but not to be loaded (entry-point names).
    "WIDGETS_DISABLED": [],
    # The site.
    "SITE_NAME": "layoutserver",
    "SITE_TIMEZONE": "UTC",
    "SITE_LOCALE": "en-US",
    # Pins the site clock (ISO 8601, site time zone when naive). Empty: the real clock.
    "SITE_NOW": "",
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
}


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
    disabled = config["WIDGETS_DISABLED"]
    if isinstance(disabled, str):
        config["WIDGETS_DISABLED"] = [name.strip() for name in disabled.split(",") if name.strip()]
    for key in ("WIDGET_BUDGET_MS", "RENDER_THREADS"):
        value = config[key]
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise SettingsError(f"{key} must be a positive whole number, not {value!r}")
    site_timezone(config)
    site_now(config)


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
