"""Helpers shared by test modules (importable as ``support``: tests/ is on sys.path)."""

from __future__ import annotations

import re
from typing import Any

SEED_SLUG = "east-turkistan-government-in-exile-condemns-china-pakistan-cooperation"
SEED_PATH = f"/pages/article/{SEED_SLUG}"
JSON = {"Accept": "application/json"}

TIMING_ENTRY = re.compile(r'([\w-]+);dur=[\d.]+;desc="\w+ ([\w-]+)"')


def timing_outcomes(response: Any) -> dict[str, str]:
    """Placement id -> outcome, read from Server-Timing (``id;dur=..;desc="widget outcome"``)."""
    found = TIMING_ENTRY.findall(response.headers["Server-Timing"])
    return {placement: outcome for placement, outcome in found if placement != "total"}
