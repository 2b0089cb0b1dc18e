"""Logging set-up: one handler on the ``layoutserver`` logger, at the configured level."""

from __future__ import annotations

import logging

from flask import Flask


def configure_logging(app: Flask) -> None:
    logger = logging.getLogger("layoutserver")
    level = app.config.get("LOG_LEVEL", "INFO")
    logger.setLevel(level)
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
