"""Browser tests: the app served on loopback by a real WSGI server in a thread, and the system
Chromium driven by Playwright (installed by ``make test``: Debian's chromium, PyPI's
playwright; no browser download)."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Flags for a closed network: no background fetches, no first-run work (see the env notes).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


class LiveServer:
    """An app served on 127.0.0.1 with every request's path and query recorded (and, apart,
    those asking for a reader's frame: ``X-Reader-Frame``, from an edge)."""

    def __init__(self, app: Flask) -> None:
        self.requests: list[str] = []
        self.frames: list[str] = []

        def recording(environ: dict[str, Any], start_response: Any) -> Any:
            query = environ.get("QUERY_STRING", "")
            self.requests.append(environ["PATH_INFO"] + (f"?{query}" if query else ""))
            if environ.get("HTTP_X_READER_FRAME"):
                self.frames.append(self.requests[-1])
            return app(environ, start_response)

        self._server = make_server("127.0.0.1", 0, recording, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=5)


@pytest.fixture
def live_server() -> Iterator[Callable[[Flask], LiveServer]]:
    servers: list[LiveServer] = []

    def serve(app: Flask) -> LiveServer:
        server = LiveServer(app)
        servers.append(server)
        return server

    yield serve
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def playwright() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Any) -> Iterator[Any]:
    launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield launched
    launched.close()


@pytest.fixture(scope="session")
def popup_blocking_browser(playwright: Any) -> Iterator[Any]:
    """The system Chromium with its popup blocker on, as a reader's browser has it (Playwright
    starts Chromium with ``--disable-popup-blocking`` unless told not to)."""
    launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                          ignore_default_args=["--disable-popup-blocking"])
    yield launched
    launched.close()
