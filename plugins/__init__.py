"""The built-in widgets, installed as ``layoutserver.plugins`` (setup.py maps this directory to
that name). Each registers under ``layoutserver.widgets`` in pyproject.toml, the way an outside
package does; the core never imports this package by name. Modules here import each other
relatively: the package is named ``layoutserver.plugins`` when installed, ``plugins`` to mypy."""

from pathlib import Path

STATIC_FOLDER = Path(__file__).parent / "static"
