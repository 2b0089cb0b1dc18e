"""A real Varnish (Debian's varnish and varnish-modules, installed by ``make test``) in front of
a test app, with the VCL operators are told to start from (``config/edge/varnish.vcl``).

Without varnishd the edge tests are skipped, unless ``LAYOUTSERVER_TEST_EDGE=required`` (set
by ``make test``) makes that a failure.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

VCL = Path(__file__).resolve().parent.parent / "config" / "edge" / "varnish.vcl"
VARNISHD = shutil.which("varnishd") or "/usr/sbin/varnishd"


class Varnish:
    def __init__(self, backend_port: int) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix="ls-varnish-"))
        vcl = re.sub(r'\.port = "\d+";', f'.port = "{backend_port}";', VCL.read_text())
        (self.workdir / "test.vcl").write_text(vcl)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [VARNISHD, "-F", "-j", "none", "-n", str(self.workdir / "n"),
             "-a", f"127.0.0.1:{self.port}", "-f", str(self.workdir / "test.vcl"),
             "-s", "malloc,64m", "-p", "default_grace=0", "-i", "test-edge"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self._wait()

    def _wait(self) -> None:
        give_up = time.monotonic() + 20
        while time.monotonic() < give_up:
            if self.process.poll() is not None:
                output = self.process.stdout.read().decode() if self.process.stdout else ""
                raise RuntimeError(f"varnishd exited: {output}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("varnishd did not listen within 20 s")

    def get(self, path: str, headers: dict[str, str] | None = None,
            method: str = "GET") -> tuple[int, dict[str, str], str]:
        request = urllib.request.Request(self.url + path, headers=headers or {}, method=method)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return (response.status, {k.lower(): v for k, v in response.headers.items()},
                        response.read().decode("utf-8", "replace"))
        except urllib.error.HTTPError as error:
            return (error.code, {k.lower(): v for k, v in error.headers.items()},
                    error.read().decode("utf-8", "replace"))

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        if self.process.stdout:
            self.process.stdout.close()
        shutil.rmtree(self.workdir, ignore_errors=True)


@pytest.fixture
def varnish() -> Iterator[Callable[[int], Varnish]]:
    """``varnish(backend_port)``: a Varnish with the shipped VCL in front of that port."""
    if not os.path.exists(VARNISHD):
        if os.environ.get("LAYOUTSERVER_TEST_EDGE") == "required":
            pytest.fail("varnishd is missing; make test installs varnish and varnish-modules")
        pytest.skip("needs varnishd (make test installs it)")
    started: list[Varnish] = []

    def start(backend_port: int) -> Varnish:
        edge = Varnish(backend_port)
        started.append(edge)
        return edge

    yield start
    for edge in started:
        edge.stop()
