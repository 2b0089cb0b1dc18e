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
        wait_listening(self.process, self.port, "varnishd")

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


NGINX_CONF = VCL.parent / "nginx.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


class Nginx:
    """Debian's nginx with the shipped ``config/edge/nginx.conf``, its upstream, port, and
    files moved to a working directory of its own."""

    def __init__(self, backend_port: int) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix="ls-nginx-"))
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.conf = self.workdir / "nginx.conf"
        self.conf.write_text(nginx_conf(NGINX_CONF.read_text(), backend_port, self.port,
                                        self.workdir))
        self.process = subprocess.Popen(
            [NGINX, "-p", str(self.workdir), "-c", str(self.conf), "-g", "daemon off;"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self._wait()

    def _wait(self) -> None:
        wait_listening(self.process, self.port, "nginx")

    def get(self, path: str, headers: dict[str, str] | None = None,
            method: str = "GET") -> tuple[int, dict[str, str], str]:
        return _get(self.url + path, headers, method)

    def error_log(self) -> str:
        path = self.workdir / "error.log"
        return path.read_text() if path.exists() else ""

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        if self.process.stdout:
            self.process.stdout.close()
        shutil.rmtree(self.workdir, ignore_errors=True)


def nginx_conf(shipped: str, backend_port: int, port: int, workdir: Path) -> str:
    """The shipped configuration for a throwaway nginx: its upstream and port, and its pid,
    logs, cache and temporary files in ``workdir`` (as root, workers run as root to reach
    them); nothing else changed."""
    replacements = [
        (r"server 127\.0\.0\.1:\d+;", f"server 127.0.0.1:{backend_port};"),
        (r"listen 127\.0\.0\.1:\d+;", f"listen 127.0.0.1:{port};"),
        (r"pid [^;]+;", f"pid {workdir}/nginx.pid;"),
        (r"error_log [^;]+;", f"error_log {workdir}/error.log info;"),
        (r"access_log [^;]+;", f"access_log {workdir}/access.log;"
                               + "".join(f"\n    {kind}_temp_path {workdir}/{kind};"
                                         for kind in ("client_body", "proxy", "fastcgi",
                                                      "uwsgi", "scgi"))),
        (r"proxy_cache_path \S+", f"proxy_cache_path {workdir}/cache"),
    ]
    for pattern, value in replacements:
        shipped, found = re.subn(pattern, value, shipped, count=1)
        if found != 1:
            raise RuntimeError(f"config/edge/nginx.conf has no {pattern!r} to set")
    return ("user root;\n" if os.geteuid() == 0 else "") + shipped


def _get(url: str, headers: dict[str, str] | None, method: str
         ) -> tuple[int, dict[str, str], str]:
    request = urllib.request.Request(url, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return (response.status, {k.lower(): v for k, v in response.headers.items()},
                    response.read().decode("utf-8", "replace"))
    except urllib.error.HTTPError as error:
        return (error.code, {k.lower(): v for k, v in error.headers.items()},
                error.read().decode("utf-8", "replace"))


@pytest.fixture
def nginx() -> Iterator[Callable[[int], Nginx]]:
    """``nginx(backend_port)``: Debian's nginx with the shipped configuration in front of that
    port."""
    if not os.path.exists(NGINX):
        if os.environ.get("LAYOUTSERVER_TEST_EDGE") == "required":
            pytest.fail("nginx is missing; make test installs it")
        pytest.skip("needs nginx (make test installs it)")
    started: list[Nginx] = []

    def start(backend_port: int) -> Nginx:
        edge = Nginx(backend_port)
        started.append(edge)
        return edge

    yield start
    for edge in started:
        edge.stop()


def wait_listening(process: subprocess.Popen[bytes], port: int, name: str) -> None:
    """Return once ``process`` listens on ``port`` of 127.0.0.1; raise with its output if it
    exits first, or after 20 s."""
    give_up = time.monotonic() + 20
    while time.monotonic() < give_up:
        if process.poll() is not None:
            output = process.stdout.read().decode() if process.stdout else ""
            raise RuntimeError(f"{name} exited: {output}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{name} did not listen within 20 s")
