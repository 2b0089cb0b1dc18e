"""Node.js composition layers run against the app in tests: node-tailor and Podium's client and
layout, installed from npm under ``.cache/node`` by ``make test`` (its ``$(COMPOSERS)`` target),
each started as a subprocess on a loopback port (the scripts are in ``tests/web/node/``)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
NODE_MODULES = REPO / ".cache" / "node" / "node_modules"
SCRIPTS = Path(__file__).resolve().parent / "web" / "node"


def require_packages(*packages: str) -> None:
    """Skip when node or a package is missing; under ``make test``
    (``LAYOUTSERVER_TEST_EDGE=required``) fail instead."""
    missing = [name for name in packages if not (NODE_MODULES / name / "package.json").is_file()]
    if shutil.which("node") is None:
        missing.insert(0, "node")
    if missing:
        message = (f"not installed: {', '.join(missing)}: run `make .cache/node/"
                   ".composers-installed` (or make test)")
        if os.environ.get("LAYOUTSERVER_TEST_EDGE") == "required":
            pytest.fail(message)
        pytest.skip(message)


class NodeServer:
    """A node script that prints its port on its first line, then serves until stopped."""

    def __init__(self, script: str, *args: str) -> None:
        self.process = subprocess.Popen(
            ["node", str(SCRIPTS / script), *args], stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
            env={**os.environ, "NODE_PATH": str(NODE_MODULES),
                 "LS_NODE_MODULES": str(NODE_MODULES)})
        assert self.process.stdout is not None
        line = self.process.stdout.readline().strip()
        if not line.isdigit():
            self.stop()
            raise RuntimeError(f"{script} did not start: {line!r} {self.errors()}")
        self.url = f"http://127.0.0.1:{line}"

    def errors(self) -> str:
        if self.process.poll() is None or self.process.stderr is None:
            return ""
        return self.process.stderr.read()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def node_server() -> Iterator[type[NodeServer]]:
    started: list[NodeServer] = []

    class Started(NodeServer):
        def __init__(self, script: str, *args: str) -> None:
            super().__init__(script, *args)
            started.append(self)

    yield Started
    for server in started:
        server.stop()
