"""gunicorn settings: production defaults, each overridable from the environment (README).

The app is built in the master before the port is bound (``preload_app``) and workers are forked
from it. Workers are processes (``sync``: one request at a time each, ``cores + 1`` of them), so one
slow render or database read never holds up another request of the same worker. Serving is
CPU-bound (cached pages, in-memory ad decisions), so one worker more than there are cores is
enough to keep the cores busy while a worker waits on the database; more only take turns on the
cores, and every request, on every route, then costs more CPU (docs/performance.md, "Workers").
Raise ``GUNICORN_WORKERS`` where pages wait on slow backends. A worker that
hangs past ``GUNICORN_TIMEOUT`` is killed and replaced; on SIGHUP or SIGTERM workers finish what
they are answering within ``GUNICORN_GRACEFUL_TIMEOUT``. ``GUNICORN_MAX_REQUESTS`` recycles a
worker after that many requests (with jitter, so they do not all restart at once).

Prometheus: every worker writes its metrics into ``PROMETHEUS_MULTIPROC_DIR`` (a fresh temporary
folder unless set), emptied when the server starts; ``/metrics`` then answers for the host.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

bind = os.environ.get("GUNICORN_BIND", f"127.0.0.1:{os.environ.get('PORT', '8000')}")
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() + 1))
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "sync")
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "0"))
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER",
                                         str(max(max_requests // 10, 0))))
# Behind a load balancer: the addresses whose X-Forwarded-Proto (the scheme) gunicorn trusts.
# gunicorn never takes REMOTE_ADDR from X-Forwarded-For: the app reads the reader's address
# itself, from LAYOUTSERVER_TRUSTED_PROXIES (docs/deployment.md), usually the same addresses.
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")
# The longest request line gunicorn reads (its own maximum, 8190 bytes; it answers a longer one
# itself, in HTML). The API refuses a query string over API_MAX_QUERY_BYTES (4096) with a JSON
# 414 first, so only a path of thousands of bytes ever meets this limit (docs/api.md, "Limits").
limit_request_line = int(os.environ.get("GUNICORN_LIMIT_REQUEST_LINE", "8190"))
# The app is built once, in the master, before it binds the port: a starting host refuses
# connections until it can answer them (rather than queueing them while workers build the app),
# and SIGHUP forks new workers from the built app in milliseconds instead of building it again
# in each (seconds of stalled requests). So SIGHUP re-reads this file but not the code: deploy
# new code with a (rolling) restart. What must be each worker's own is made after the fork:
# database connections (layoutserver.db drops those inherited), Redis connections (redis-py
# checks the pid), background threads (started by each worker's first request) and the ad
# lottery's random source. GUNICORN_PRELOAD=false builds the app in each worker instead.
preload_app = os.environ.get("GUNICORN_PRELOAD", "true").lower() not in {"false", "0", "no"}
# The workers' heartbeat files in memory rather than on a disk that may stall.
worker_tmp_dir = "/dev/shm" if Path("/dev/shm").is_dir() else None  # noqa: S108
# Each worker moves what exists when it starts serving (the app, its settings, layouts and
# registry: over 100,000 objects) out of the cyclic garbage collector's reach (gc.freeze). A
# full collection then walks only what the worker made since, not the whole app: measured
# in-process on the seed page, one full collection went from ~86 ms to ~4 ms, and so did the
# stall of the request that meets it. GUNICORN_GC_FREEZE=false leaves the collector as Python
# sets it.
gc_freeze = os.environ.get("GUNICORN_GC_FREEZE", "true").lower() not in {"false", "0", "no"}
accesslog = os.environ.get("GUNICORN_ACCESSLOG") or None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")

# Every metric update writes to a memory-mapped file there: memory too (tmpfs), not a disk that
# writes dirty pages back and faults on the next write after each writeback.
_GIVEN_METRICS_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
METRICS_DIR = _GIVEN_METRICS_DIR or tempfile.mkdtemp(prefix="layoutserver-metrics-",
                                                     dir=worker_tmp_dir)
os.environ["PROMETHEUS_MULTIPROC_DIR"] = METRICS_DIR
# The preloaded app's metrics open their files there before on_starting empties it.
Path(METRICS_DIR).mkdir(parents=True, exist_ok=True)


def on_starting(server: Any) -> None:
    """Start from empty metric files: values of a previous run's workers would add up (the
    master's own, made while it built the app, go too: workers write files of their own).
    When workers build the app themselves, first check the layouts and settings here, so that
    an invalid one is reported once, not by every worker (``layoutserver.startup``)."""
    if not preload_app:
        from layoutserver.startup import check_configuration

        check_configuration()
    directory = Path(METRICS_DIR)
    if directory.is_dir():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)


def on_exit(server: Any) -> None:
    """Remove the metrics folder made for this run (files of about 1 MB per metric kind and
    process, in memory when on tmpfs); a folder given in the environment is left."""
    if not _GIVEN_METRICS_DIR:
        shutil.rmtree(METRICS_DIR, ignore_errors=True)


def post_worker_init(worker: Any) -> None:
    """The worker has its app (inherited, or built here without preload_app): keep the
    collector off it (``gc_freeze`` above)."""
    if gc_freeze:
        gc.freeze()


def child_exit(server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
