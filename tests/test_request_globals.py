"""The ad path and the page pipeline take what they know of a request from the page context:
outside the HTTP layers (``web/``, ``api/``, ``console/``, the tracking routes, logging and
metrics hooks), no module imports Flask's request globals."""

from __future__ import annotations

from pathlib import Path

from support import imported_names

PACKAGE = Path(__file__).resolve().parent.parent / "layoutserver"
HTTP_LAYERS = ("web", "api", "console")
#: HTTP handlers and hooks outside those folders: the tracking and file routes of ads, the
#: request id put on each log record, the per-request HTTP metrics.
ROUTES = {PACKAGE / "ads" / "routes.py", PACKAGE / "logs.py", PACKAGE / "metrics.py"}
GLOBALS = {f"flask.{name}" for name in ("request", "g", "session", "has_request_context",
                                         "url_for", "request_ctx")}


def test_no_module_outside_the_http_layers_reads_the_request_globals() -> None:
    offenders = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        if relative.parts[0] in HTTP_LAYERS or path in ROUTES:
            continue
        found = imported_names(path) & GLOBALS
        if found:
            offenders[str(relative)] = sorted(found)
    assert offenders == {}


def test_the_check_sees_an_import_of_the_globals(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("from flask import current_app, request\n")
    assert imported_names(module) & GLOBALS == {"flask.request"}
