"""Two (or more) gunicorn hosts on loopback sharing one database and one Redis, started the way
production starts them: ``config/gunicorn.conf.py``, ``wsgi:app``, settings from the
environment."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from redis_fixtures import free_port

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
BEACON = re.compile(r'class="ad-spot__beacon" src="([^"]+)"')


class Cluster:
    def __init__(self, database_url: str, redis_url: str, directory: Path,
                 hosts: int = 2, workers: int = 2, app: str = "wsgi:app",
                 host_env: Mapping[str, str] | None = None) -> None:
        """``app`` and ``host_env`` (settings of the hosts only, not of the ``demo load``
        before them): what the gunicorn hosts serve; ``directory/host-N.log`` has each one's
        output."""
        self.env = {
            **os.environ,
            "LAYOUTSERVER_SETTINGS": str(REPO / "config" / "demo.toml"),
            "LAYOUTSERVER_DATABASE_URL": database_url,
            "LAYOUTSERVER_REDIS_URL": redis_url,
            "LAYOUTSERVER_CACHE_KEY_PREFIX": f"c{uuid.uuid4().hex[:8]}:",
            "LAYOUTSERVER_SECRET_KEY": "cluster-test-secret",
            "LAYOUTSERVER_ADS_FLUSH_SECONDS": "1",
            "LAYOUTSERVER_LOG_LEVEL": "WARNING",
            "GUNICORN_WORKERS": str(workers),
            "GUNICORN_LOGLEVEL": "warning",
        }
        self.env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        self._directory = directory
        self._host_env = dict(host_env or {})
        self._app = app
        self.cli("demo", "load")
        self.urls: list[str] = []
        self._processes: list[subprocess.Popen[bytes]] = []
        for number in range(hosts):
            self.urls.append(f"http://127.0.0.1:{free_port()}")
            self._processes.append(self._spawn(number))
        for url in self.urls:
            self.wait_ready(url)

    def _spawn(self, number: int) -> subprocess.Popen[bytes]:
        port = urlsplit(self.urls[number]).port
        env = {**self.env, "GUNICORN_BIND": f"127.0.0.1:{port}",
               "PROMETHEUS_MULTIPROC_DIR": str(self._directory / f"metrics-{number}"),
               **self._host_env}
        log = (self._directory / f"host-{number}.log").open("ab")
        return subprocess.Popen(
            [str(BIN / "gunicorn"), "-c", str(REPO / "config" / "gunicorn.conf.py"), self._app],
            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)

    def kill_host(self, host: int) -> None:
        """SIGKILL a host's master and its workers (a machine or container dying)."""
        workers = self.workers(host)
        process = self._processes[host]
        process.kill()
        for pid in workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        process.wait(timeout=10)

    def start_host(self, host: int, wait: bool = True) -> None:
        """Start a host again on its port (after :meth:`kill_host` or :meth:`stop_host`)."""
        self._processes[host] = self._spawn(host)
        if wait:
            self.wait_ready(self.urls[host])

    def stop_host(self, host: int) -> None:
        """SIGTERM: gunicorn's graceful stop (workers finish what they are answering)."""
        process = self._processes[host]
        process.terminate()
        process.wait(timeout=60)

    def signal_host(self, host: int, number: int) -> None:
        """Send a signal to a host's master (SIGHUP: a graceful reload)."""
        self._processes[host].send_signal(number)

    def cli(self, *args: str) -> str:
        done = subprocess.run([str(BIN / "layoutserver"), *args], cwd=REPO, env=self.env,
                              capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stderr
        return done.stdout

    @staticmethod
    def wait_ready(url: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if request("GET", f"{url}/readyz").status == 200:
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"{url} never became ready")
            time.sleep(0.1)

    def workers(self, host: int) -> list[int]:
        """The worker pids of one host (children of its gunicorn master)."""
        master = self._processes[host].pid
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        return [int(pid) for pid in children]

    def kill_worker(self, host: int) -> int:
        pid = self.workers(host)[0]
        os.kill(pid, signal.SIGKILL)
        return pid

    def stop(self) -> None:
        for process in self._processes:
            process.terminate()
        for process in self._processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def beacons(html: str) -> list[str]:
    """The impression URLs of a page's ad spots, as paths (``?f=gif`` dropped)."""
    return [unescape(src).split("?", 1)[0] for src in BEACON.findall(html)]


def path_of(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


@dataclass
class Answer:
    status: int
    body: str
    headers: dict[str, str]

    def json(self) -> Any:
        return json.loads(self.body)


def request(method: str, url: str, body: Any = None, headers: dict[str, str] | None = None,
            timeout: float = 10.0) -> Answer:
    """One HTTP request on a new connection (as a browser's beacon would be); raises OSError
    when the connection fails (refused, reset by a killed worker)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port,
                                            timeout=timeout)
    try:
        payload = None if body is None else json.dumps(body).encode()
        sent = dict(headers or {})
        if payload is not None:
            sent["Content-Type"] = "application/json"
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        connection.request(method, path, body=payload, headers=sent)
        response = connection.getresponse()
        return Answer(response.status, response.read().decode("utf-8", "replace"),
                      dict(response.getheaders()))
    except http.client.HTTPException as error:
        raise ConnectionError(str(error)) from error
    finally:
        connection.close()
