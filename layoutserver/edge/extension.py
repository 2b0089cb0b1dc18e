"""The per-app edge settings and the purge sender of each serving process."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask, current_app

from layoutserver.background import Periodic, run_with_first_request
from layoutserver.db import Database
from layoutserver.edge.purge import PurgeEndpoint, PurgeSender, PurgeSettingError
from layoutserver.settings import SettingsError

EXTENSION_KEY = "layoutserver.edge"


class EdgeExtension:
    def __init__(self, config: Mapping[str, Any], database: Database) -> None:
        token = str(config["EDGE_PURGE_TOKEN"] or "")
        raw = config["EDGE_PURGE"]
        if isinstance(raw, str):
            raw = [part for part in raw.split(",") if part.strip()]
        if not isinstance(raw, list | tuple):
            raise SettingsError(f"EDGE_PURGE must be a list of 'STYLE URL' strings, not {raw!r}")
        try:
            endpoints = [PurgeEndpoint.parse(str(text), token) for text in raw]
        except PurgeSettingError as error:
            raise SettingsError(str(error)) from error
        self.sender = PurgeSender(database, endpoints) if endpoints else None
        poll = config["EDGE_PURGE_POLL_SECONDS"]
        if not isinstance(poll, int | float) or isinstance(poll, bool) or poll <= 0:
            raise SettingsError(f"EDGE_PURGE_POLL_SECONDS must be a number of seconds above 0, "
                                f"not {poll!r}")
        self.background = (None if self.sender is None
                           else Periodic("edge-purge", float(poll), self.sender.send_pending))


def init_app(app: Flask, database: Database) -> EdgeExtension:
    """Bind the edge settings; each serving process starts its purge sender with its first
    request. (A layout change queues its own purge: ``layouts.store``.)"""
    extension = EdgeExtension(app.config, database)
    app.extensions[EXTENSION_KEY] = extension
    background = extension.background
    if background is not None:
        run_with_first_request(app, background.start)
    return extension


def get_edge(app: Any = None) -> EdgeExtension:
    extension: EdgeExtension = (app or current_app).extensions[EXTENSION_KEY]
    return extension
