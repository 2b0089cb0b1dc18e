"""The built-in widgets. Each registers under ``layoutserver.widgets`` in pyproject.toml, the way
an outside package does; the core never imports this package by name."""

from pathlib import Path

STATIC_FOLDER = Path(__file__).parent / "static"
