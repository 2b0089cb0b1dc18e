"""The app's own cost per request, without gunicorn, sockets or wrk: for changes too small for
``make bench``'s req/s ratios to see on a noisy machine.

    .venv/bin/python bench/inprocess.py                  # CPU µs per request
    .venv/bin/python bench/inprocess.py --instructions   # instructions per request (valgrind)
    .venv/bin/python bench/inprocess.py --only nocache --render-threads   # with the handoff

Each of ``null``, ``warm``, ``ads`` and ``nocache`` (the URLs and settings of ``make bench``'s
servers, see ``bench/pages.py``) is served by a fresh process that builds the app
(``bench_app.py``) on a throwaway SQLite database with the demo content and calls it as a WSGI
application in a loop, with the environ a bare ``wrk`` request gives:

* **time**: the CPU time of ``--requests`` requests after a warm-up, ``--rounds`` times, of the
  request thread and of all threads (with ``--render-threads`` the ``nocache`` page's widgets
  render on a render thread; waking it costs CPU too); the minimum per request is printed (the
  least disturbed round), with the median beside it. The process's own background threads
  (metrics, version reads) count in "all threads", a little.
* **instructions** (``--instructions``): the process runs twice under valgrind's callgrind, with
  the warm-up only and with ``--requests`` more; the difference over ``--requests`` is the
  instructions per request, every thread counted. It does not depend on the machine's speed or
  load at all (``PYTHONHASHSEED=0``; the ad lottery is random, so ``ads`` moves by well under
  1 %; time-driven work such as version reads moves every URL by about 1 %). About a minute and
  a half per URL.
* ``--render-threads``: ``RENDER_ON_MAIN_THREAD=false``. Requests are served on the process's
  main thread, as in a gunicorn sync worker, so by default the batch of widgets with a fast
  record renders right there under the alarm budget; with this flag it goes to a render thread,
  and the difference is what the handoff costs.

``docs/performance.md`` has its current numbers and what they mean.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from pages import IN_PROCESS_CACHE

ROOT = Path(__file__).resolve().parent.parent
SEED_PATH = "/pages/article/east-turkistan-government-in-exile-condemns-china-pakistan-cooperation"
#: URL -> (path, cache type, widgets disabled): as bench/pages.py's servers.
URLS = {
    "null": ("/_bench/null", IN_PROCESS_CACHE, "ad_spot"),
    "warm": (SEED_PATH, IN_PROCESS_CACHE, "ad_spot"),
    "ads": (SEED_PATH, IN_PROCESS_CACHE, ""),
    "nocache": (SEED_PATH, "NullCache", "ad_spot"),
}
WARMUP = 30


def environ(path: str) -> dict[str, Any]:
    """What the app sees of ``wrk``'s request: no cookie, no user agent, no query."""
    return {"REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000", "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": "127.0.0.1:8000", "REMOTE_ADDR": "127.0.0.1",
            "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(), "wsgi.errors": sys.stderr,
            "wsgi.multithread": False, "wsgi.multiprocess": True, "wsgi.run_once": False}


def requester(url: str) -> Callable[[], None]:
    """One request to ``url`` per call, on the app built for it (run in the child process)."""
    sys.path.insert(0, str(ROOT / "bench"))
    from bench_app import app  # built here: after the settings are in the environment

    path = URLS[url][0]

    def start_response(status: str, _headers: Any, _exc_info: Any = None) -> None:
        if not status.startswith("200"):
            raise RuntimeError(f"{path} answered {status}")

    def one() -> None:
        body = app(environ(path), start_response)
        b"".join(body)
        body.close()  # type: ignore[attr-defined]

    return one


def child(url: str, requests: int, rounds: int, timed: bool) -> None:
    """In the child process: warm up, then serve ``requests`` (``rounds`` times when timed)."""
    one = requester(url)
    for _ in range(WARMUP):
        one()
    if not timed:
        for _ in range(requests):
            one()
        return
    thread_cpu, process_cpu = [], []
    for _ in range(rounds):
        started, started_all = time.thread_time(), time.process_time()
        for _ in range(requests):
            one()
        thread_cpu.append((time.thread_time() - started) / requests * 1e6)
        process_cpu.append((time.process_time() - started_all) / requests * 1e6)
    print(" ".join(f"{value:.1f}" for value in (min(thread_cpu), statistics.median(thread_cpu),
                                                 min(process_cpu),
                                                 statistics.median(process_cpu))))


def run_child(url: str, env: dict[str, str], args: list[str],
              prefix: Iterable[str] = ()) -> tuple[str, str]:
    """The child's standard output and error (logs, and valgrind's summary)."""
    command = [*prefix, sys.executable, __file__, "--child", url, *args]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{url}: {' '.join(command)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout, done.stderr


def instructions(url: str, env: dict[str, str], requests: int, tmp: Path) -> float:
    counts = []
    for served in (0, requests):
        out = tmp / f"callgrind-{url}-{served}.out"
        _, output = run_child(url, env, ["--requests", str(served)],
                              ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"])
        collected = [line for line in output.splitlines() if "Collected :" in line]
        if not collected:
            raise SystemExit(f"{url}: no instruction count in valgrind's output:\n{output}")
        counts.append(int(collected[-1].rsplit(":", 1)[1].strip()))
    return (counts[1] - counts[0]) / requests


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instructions", action="store_true",
                        help="count instructions under valgrind instead of timing")
    parser.add_argument("--requests", type=int, default=None,
                        help="requests per round (timed: 1000) or per count (instructions: 200)")
    parser.add_argument("--rounds", type=int, default=7, help="timed rounds per URL (7)")
    parser.add_argument("--only", choices=sorted(URLS), action="append",
                        help="measure only this URL (repeatable)")
    parser.add_argument("--render-threads", action="store_true",
                        help="RENDER_ON_MAIN_THREAD=false: widgets render on render threads")
    parser.add_argument("--child", choices=sorted(URLS), help=argparse.SUPPRESS)
    parser.add_argument("--timed", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    default_requests = 200 if args.instructions else 1000
    requests = default_requests if args.requests is None else args.requests
    if args.child:
        child(args.child, requests, args.rounds, args.timed)
        return 0
    if args.instructions and shutil.which("valgrind") is None:
        print("valgrind is not installed (apt-get install valgrind)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="layoutserver-inprocess-") as tmpdir:
        tmp = Path(tmpdir)
        base = {**os.environ, "LAYOUTSERVER_DATABASE_URL": f"sqlite:///{tmp / 'demo.sqlite3'}",
                "LAYOUTSERVER_SETTINGS": str(ROOT / "config" / "demo.toml"),
                "PROMETHEUS_MULTIPROC_DIR": str(tmp / "metrics"), "PYTHONHASHSEED": "0",
                "LAYOUTSERVER_RENDER_ON_MAIN_THREAD": "false" if args.render_threads else "true"}
        (tmp / "metrics").mkdir()
        subprocess.run([str(Path(sys.executable).parent / "layoutserver"), "demo", "load"],
                       cwd=ROOT, env=base, capture_output=True, check=True)
        print(f"{'url':<8} " + ("instructions/request" if args.instructions
                                else "µs CPU/request: request thread (min, median), "
                                     "all threads (min, median)"))
        for url, (_path, cache_type, disabled) in URLS.items():
            if args.only and url not in args.only:
                continue
            env = {**base, "LAYOUTSERVER_CACHE_TYPE": cache_type,
                   "LAYOUTSERVER_WIDGETS_DISABLED": disabled}
            if args.instructions:
                print(f"{url:<8} {instructions(url, env, requests, tmp):,.0f}", flush=True)
            else:
                output, _ = run_child(url, env, ["--timed", "--requests", str(requests),
                                                 "--rounds", str(args.rounds)])
                print(f"{url:<8} " + " ".join(f"{value:>8}" for value in output.split()),
                      flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
