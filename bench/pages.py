"""`make bench`: requests per second of the seed page against a null Flask route, under gunicorn.

One run measures, side by side:

* the null route (``/_bench/null``, a constant string, see ``bench_app.py``),
* the seed page with a warm cache (the default in-process cache, BoundedMemoryCache),
* the seed page with caching disabled (``LAYOUTSERVER_CACHE_TYPE=NullCache``), and beside it
  the same with its widgets rendered on a render thread (``RENDER_ON_MAIN_THREAD=false``,
  a comparison without a target),
* the seed page with its five per-request ad spots, warm, and
* the warm seed page on PostgreSQL and Redis,

and prints each page's ratio to the null route. A gunicorn server per page is started, one after
the other (never at once, so they do not compete for the cores), each with
``config/gunicorn.conf.py`` and the same environment apart from what ``SERVERS`` and
``SETTINGS`` set for it. Each serves both the null route and the page from the same workers;
wrk (a separate process) loads them alternately (ABBA) for several rounds. A round is a null run
and a page run back to back; its ratio is page req/s over null req/s, and the reported ratio is
the median of the rounds' ratios, so drift of the machine cancels out.

Other processes on the machine skew any measurement: before each run the bench waits briefly for
the CPUs to be idle, measures what else kept them busy during the run (from /proc/stat), and
leaves busy rounds out of the ratio when enough quiet rounds remain. CPU time per request of the
gunicorn processes is reported beside req/s, as it is less sensitive to such noise.

Content comes from a throwaway SQLite database in a temporary directory, loaded with
``layoutserver demo load``; nothing outside that directory is written. Only loopback addresses
are used.

A response that is not 2xx/3xx, a socket timeout or a page that does not look like the seed page
fails the run: a fast 404 must not pass as speed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
HOST = "127.0.0.1"
NULL_PATH = "/_bench/null"
SEED_PATH = "/pages/article/east-turkistan-government-in-exile-condemns-china-pakistan-cooperation"
SEED_MARKER = b"East Turkistan Government in Exile Condemns"
IN_PROCESS_CACHE = "layoutserver.render.memory_cache.BoundedMemoryCache"
"""The default without Redis (``layoutserver.settings.IN_PROCESS_CACHE``), named here so that
the bench imports nothing of the app."""
TARGETS = {"warm": 0.8, "nocache": 0.2, "ads": 0.5, "pg": 0.8}
NOISE_CORES = 0.25
"""Background CPU (cores) above which a run is reported as noisy."""
PROBE_LOOPS = 150_000
"""Iterations of :func:`speed_probe_ms` (about 25 ms on the bench machine)."""
LABELS = {"warm": "seed page, warm cache", "nocache": "seed page, caching disabled",
          "threads": "caching disabled, on threads",
          "ads": "seed page + 5 ad spots, warm", "pg": "seed page, PostgreSQL + Redis"}
#: Each server: its cache backend, the widgets switched off, and what the seed page's
#: Server-Timing must say to prove it is served the way the run claims. "warm" and "nocache"
#: are the page of the core issue (its ad spots switched off, so it is all shared); "ads" is the
#: seed page as the demo serves it, five per-request ad spots decided on every request.
SERVERS = {
    "warm": (IN_PROCESS_CACHE, "ad_spot", 'desc="page-cache hit"'),
    "nocache": ("NullCache", "ad_spot", 'desc="rendered"'),
    "threads": ("NullCache", "ad_spot", 'desc="rendered"'),
    "ads": (IN_PROCESS_CACHE, "", "per-request widgets rendered"),
    # Production mode: the warm page of "warm" on PostgreSQL, the shared cache in Redis
    # (CACHE_TYPE chosen from REDIS_URL). Needs the servers bench/run.sh starts (.ci/services).
    "pg": ("", "ad_spot", 'desc="page-cache hit"'),
}
PRODUCTION = {"pg"}
"""Servers on the PostgreSQL and Redis of ``.ci/services`` (LAYOUTSERVER_TEST_*_URL)."""
SETTINGS = {"threads": {"LAYOUTSERVER_RENDER_ON_MAIN_THREAD": "false"}}
"""Settings of a server beside its cache type and disabled widgets."""


class BenchError(RuntimeError):
    """The benchmark could not measure what it claims to; the message says why."""


@dataclass
class WrkResult:
    requests_per_sec: float
    requests: int
    non_2xx_3xx: int
    socket_errors: dict[str, int]
    latency_p50: str
    latency_p99: str


@dataclass
class UrlResult:
    label: str
    path: str
    rounds: list[float] = field(default_factory=list)
    """Requests/s of each round."""
    server_cpu_us: list[float] = field(default_factory=list)
    """CPU time of the gunicorn processes per request, in microseconds, of each round."""
    other_cpu: list[float] = field(default_factory=list)
    """Cores busy with anything but gunicorn and wrk during each round: background noise."""
    probe_ms: list[float] = field(default_factory=list)
    """The machine's speed just before each round: :func:`speed_probe_ms`."""

    @property
    def median(self) -> float:
        return statistics.median(self.rounds)

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.server_cpu_us)


@dataclass
class ServerRun:
    name: str
    cache_type: str
    null: UrlResult
    page: UrlResult

    @property
    def round_ratios(self) -> list[float]:
        """Page over null of each round: the two runs of a round are back to back."""
        return [page / null for page, null in zip(self.page.rounds, self.null.rounds,
                                                    strict=True)]

    @property
    def quiet_rounds(self) -> list[int]:
        """Rounds in which no other process kept the CPUs busy, in either run."""
        return [i for i, (a, b) in enumerate(zip(self.null.other_cpu, self.page.other_cpu,
                                                 strict=True))
                if max(a, b) < NOISE_CORES]

    @property
    def counted_rounds(self) -> list[int]:
        """The quiet rounds when there are at least two, else all."""
        quiet = self.quiet_rounds
        return quiet if len(quiet) >= 2 else list(range(len(self.round_ratios)))

    @property
    def ratio(self) -> float:
        """Median of the counted rounds' ratios."""
        ratios = self.round_ratios
        return statistics.median(ratios[i] for i in self.counted_rounds)

    @property
    def cpu_ratio(self) -> float:
        """Null's CPU per request over the page's (medians of the counted rounds): what the req/s
        ratio would be if both were purely CPU-bound; less disturbed by other processes."""
        rounds = self.counted_rounds
        null = statistics.median(self.null.server_cpu_us[i] for i in rounds)
        page = statistics.median(self.page.server_cpu_us[i] for i in rounds)
        return null / page


# --- wrk -------------------------------------------------------------------------------------

_RPS = re.compile(r"^Requests/sec:\s+([\d.]+)", re.MULTILINE)
_TOTAL = re.compile(r"^\s*(\d+) requests in ", re.MULTILINE)
_NON_2XX = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
_SOCKET = re.compile(
    r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
_PERCENTILE = re.compile(r"^\s+(50|99)%\s+(\S+)", re.MULTILINE)


def parse_wrk(output: str) -> WrkResult:
    rps = _RPS.search(output)
    total = _TOTAL.search(output)
    if rps is None or total is None:
        raise BenchError(f"could not read wrk's output:\n{output}")
    non_2xx = _NON_2XX.search(output)
    sock = _SOCKET.search(output)
    errors = dict(zip(("connect", "read", "write", "timeout"),
                      (int(n) for n in sock.groups()), strict=True)) if sock else {}
    percentiles = dict(_PERCENTILE.findall(output))
    return WrkResult(
        requests_per_sec=float(rps.group(1)),
        requests=int(total.group(1)),
        non_2xx_3xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=errors,
        latency_p50=percentiles.get("50", "?"),
        latency_p99=percentiles.get("99", "?"),
    )


def run_wrk(url: str, args: argparse.Namespace, seconds: float,
            server: int | None = None, script: Path | None = None
            ) -> tuple[WrkResult, float, float]:
    """wrk against ``url`` (with a Lua ``script`` making its requests, if given); also the CPU
    seconds the ``server`` process tree used meanwhile and the cores used by everything else
    (neither gunicorn nor wrk) on average."""
    command = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{seconds}s",
               "--timeout", "5s", "--latency", *(["-s", str(script)] if script else []), url]
    server_before = tree_cpu(server) if server else 0.0
    busy_before, wall_before = busy_cpu(), time.monotonic()
    wrk_before = children_cpu()
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 30,
                          check=False)
    wall = time.monotonic() - wall_before
    server_cpu = (tree_cpu(server) - server_before) if server else 0.0
    other = busy_cpu() - busy_before - server_cpu - (children_cpu() - wrk_before)
    if done.returncode != 0:
        raise BenchError(f"{' '.join(command)} exited {done.returncode}:\n{done.stderr}")
    result = parse_wrk(done.stdout)
    if result.requests == 0:
        raise BenchError(f"wrk made no request to {url}:\n{done.stdout}")
    if result.non_2xx_3xx:
        raise BenchError(f"{url}: {result.non_2xx_3xx} of {result.requests} responses were not "
                         f"2xx/3xx; that is not the speed of the page:\n{done.stdout}")
    # Connect/read errors are closed connections (gunicorn's sync workers close after each
    # response) and wrk reconnects; a timeout means a request went unanswered for 5 s.
    if result.socket_errors.get("timeout"):
        raise BenchError(f"{url}: requests timed out:\n{done.stdout}")
    return result, server_cpu, max(0.0, other / wall)


# --- CPU accounting, from /proc (Linux) --------------------------------------------------------

_TICK = os.sysconf("SC_CLK_TCK")


def busy_cpu() -> float:
    """CPU seconds the whole machine spent busy since boot (all CPUs, idle and iowait excluded)."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / _TICK


def tree_cpu(pid: int) -> float:
    """CPU seconds used so far by ``pid`` and its children (gunicorn's master and workers)."""
    pids = [pid]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with suppress(OSError):
                if _stat(entry.name)[1] == pid:
                    pids.append(int(entry.name))
    total = 0
    for each in pids:
        with suppress(OSError):
            stat = _stat(str(each))
            total += stat[11] + stat[12]  # utime, stime
    return total / _TICK


def _stat(pid: str) -> list[int]:
    """Fields of /proc/PID/stat after the command name, as integers (state as 0)."""
    rest = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return [0, *(int(f) for f in rest[1:])]


def wait_for_quiet(max_wait: float) -> float:
    """Wait (at most ``max_wait`` s) until other processes leave the CPUs nearly idle, for
    bursts of background work (a test run, a build) not to land in a measurement. Returns the
    cores busy in the last 0.5 s sampled."""
    deadline = time.monotonic() + max_wait
    while True:
        before = busy_cpu()
        time.sleep(0.5)
        busy = (busy_cpu() - before) / 0.5
        if busy < NOISE_CORES or time.monotonic() >= deadline:
            return busy


def speed_probe_ms() -> float:
    """CPU milliseconds this process spends on a fixed pure-Python workload. The virtual CPUs
    of the bench machine run slower at times (contention on the host, which neither
    ``/proc/stat``'s idle nor its steal time shows), and a slower machine lowers the pages'
    ratios more than the null route's: the probe puts the machine's speed beside each round."""
    started = time.thread_time()
    total = 0
    for number in range(PROBE_LOOPS):
        total += number * number % 7
    if total < 0:  # never: keeps the loop's result used
        raise BenchError("probe")
    return (time.thread_time() - started) * 1000


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# --- the servers -----------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def fetch(url: str, timeout: float = 5.0) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # loopback only
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


@contextmanager
def gunicorn(env: Mapping[str, str], log_path: Path, port: int) -> Iterator[tuple[str, int]]:
    """A gunicorn master serving ``bench_app:app`` on ``port``; SIGTERM and wait on exit."""
    command = [str(BIN / "gunicorn"), "-c", "config/gunicorn.conf.py",
               "--pythonpath", str(ROOT / "bench"), "bench_app:app"]
    base = f"http://{HOST}:{port}"
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=dict(env), stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_until_up(process, base + NULL_PATH, log_path)
        yield base, process.pid
    finally:
        stop(process)


def wait_until_up(process: subprocess.Popen[bytes], url: str, log_path: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchError(f"gunicorn exited {process.returncode} on start:\n"
                             f"{log_path.read_text(errors='replace')[-3000:]}")
        try:
            status, _headers, _body = fetch(url, timeout=1)
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise BenchError(f"gunicorn did not answer {url} within 30 s:\n"
                     f"{log_path.read_text(errors='replace')[-3000:]}")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)  # gunicorn's graceful shutdown
    try:
        process.wait(timeout=35)
        return
    except subprocess.TimeoutExpired:
        pass
    with suppress(ProcessLookupError):  # the master hung: its whole session (workers) goes
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def check_page(base: str, expect: str) -> str:
    """The seed page answers 200 with its content, served the way the run claims."""
    status, headers, body = fetch(base + SEED_PATH)
    if status != 200 or SEED_MARKER not in body:
        raise BenchError(f"{base + SEED_PATH} answered {status} without the seed article "
                         f"({len(body)} bytes): {body[:300]!r}")
    timing = headers.get("Server-Timing", "")
    if expect not in timing:
        raise BenchError(f"{base + SEED_PATH}: expected {expect!r} in Server-Timing, got "
                         f"{timing!r}")
    return timing


def measure_server(name: str, env: dict[str, str], tmp: Path,
                   args: argparse.Namespace) -> ServerRun:
    cache_type, disabled, expect = SERVERS[name]
    port = free_port()
    server_env = {**env, "PORT": str(port), "LAYOUTSERVER_CACHE_TYPE": cache_type,
                  "LAYOUTSERVER_WIDGETS_DISABLED": disabled, **SETTINGS.get(name, {})}
    if name in PRODUCTION:
        server_env.update(production_env())
    run = ServerRun(name, cache_type, UrlResult("null route", NULL_PATH),
                    UrlResult(LABELS[name], SEED_PATH))
    print(f"\n== {name}: CACHE_TYPE={cache_type}, gunicorn on {HOST}:{port}", flush=True)
    with gunicorn(server_env, tmp / f"gunicorn-{name}.log", port) as (base, pid):
        status, _headers, body = fetch(base + NULL_PATH)
        if status != 200 or body != b"null\n":
            raise BenchError(f"null route answered {status} {body[:100]!r}")
        # Warm-up: every worker imports, opens its database connection and (with a cache)
        # fills its own in-process cache; discarded.
        for url in (base + NULL_PATH, base + SEED_PATH):
            run_wrk(url, args, args.warmup)
        print(f"   seed page Server-Timing: {check_page(base, expect)[:120]}...", flush=True)
        for round_no in range(args.rounds):
            # ABBA order: neither URL always runs first after the other.
            order = [run.null, run.page] if round_no % 2 == 0 else [run.page, run.null]
            for target in order:
                wait_for_quiet(args.quiet_wait)
                target.probe_ms.append(speed_probe_ms())
                result, server_cpu, other = run_wrk(base + target.path, args, args.duration,
                                                    server=pid)
                target.rounds.append(result.requests_per_sec)
                target.server_cpu_us.append(server_cpu / result.requests * 1e6)
                target.other_cpu.append(other)
                print(f"   round {round_no + 1}  {target.label:<28} "
                      f"{result.requests_per_sec:8.1f} req/s  "
                      f"{target.server_cpu_us[-1]:6.0f} us CPU/req  "
                      f"p50 {result.latency_p50:>8}  p99 {result.latency_p99:>8}  "
                      f"other load {other:.2f} cores  probe {target.probe_ms[-1]:.1f} ms",
                      flush=True)
        check_page(base, expect)  # still the right page after the load
    return run


# --- the run ---------------------------------------------------------------------------------

def machine() -> dict[str, str]:
    model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    return {
        "nproc": str(os.cpu_count()),
        "cpu": model,
        "python": platform.python_version(),
        "wrk": (wrk_version.stdout or wrk_version.stderr).splitlines()[0].strip(),
    }


def production_env() -> dict[str, str]:
    """The database and Redis URLs of the servers ``.ci/services`` started."""
    database = os.environ.get("LAYOUTSERVER_TEST_DATABASE_URL")
    redis = os.environ.get("LAYOUTSERVER_TEST_REDIS_URL")
    if not database or not redis:
        raise BenchError("the pg server needs PostgreSQL and Redis: run bench/run.sh, which "
                         "starts them (.ci/services), or set LAYOUTSERVER_TEST_DATABASE_URL "
                         "and LAYOUTSERVER_TEST_REDIS_URL")
    return {"LAYOUTSERVER_DATABASE_URL": database, "LAYOUTSERVER_REDIS_URL": redis}


def demo_env(tmp: Path) -> dict[str, str]:
    """The environment of a bench server: the demo settings, a SQLite file in ``tmp``, no
    access log, gunicorn on 127.0.0.1:$PORT."""
    return {
        **{k: v for k, v in os.environ.items() if k != "GUNICORN_BIND"},
        "LAYOUTSERVER_DATABASE_URL": f"sqlite:///{tmp / 'bench.sqlite3'}",
        "LAYOUTSERVER_SETTINGS": str(ROOT / "config" / "demo.toml"),
        "GUNICORN_ACCESSLOG": "",
    }


def load_demo(env: dict[str, str]) -> None:
    done = subprocess.run([str(BIN / "layoutserver"), "demo", "load"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise BenchError(f"layoutserver demo load failed:\n{done.stdout}{done.stderr}")


def report(runs: list[ServerRun], info: Mapping[str, str], args: argparse.Namespace) -> bool:
    print(f"\nmachine: {info['nproc']} CPUs, {info['cpu']}; Python {info['python']}; "
          f"{info['wrk']}")
    print(f"load: wrk -t{args.threads} -c{args.connections}, {args.rounds} rounds x "
          f"{args.duration} s per URL; gunicorn -c config/gunicorn.conf.py, GUNICORN_WORKERS="
          f"{os.environ.get('GUNICORN_WORKERS', '(default: CPUs + 1)')}\n")
    print(f"{'run':<8} {'URL':<29} {'req/s':>7} {'ratio':>6}  {'CPU us/req':>10} "
          f"{'CPU ratio':>9}  per-round ratios (* busy machine, not counted)")
    for run in runs:
        for url in (run.null, run.page):
            if url is run.null:
                ratio = cpu_ratio = "1"
                rounds = ""
            else:
                ratio, cpu_ratio = f"{run.ratio:.2f}", f"{run.cpu_ratio:.2f}"
                rounds = " ".join(f"{r:.2f}{'' if i in run.counted_rounds else '*'}"
                                  for i, r in enumerate(run.round_ratios))
            print(f"{run.name:<8} {url.label:<29} {url.median:>7.0f} {ratio:>6}  "
                  f"{url.cpu_median:>10.0f} {cpu_ratio:>9}  {rounds}")
    print("\nreq/s, CPU us/req (gunicorn master and workers): medians over all rounds. ratio: "
          "median of the\ncounted rounds' page/null req/s ratios (the measure). CPU ratio: "
          "null's CPU per request over\nthe page's.\n")
    probes = [ms for run in runs for url in (run.null, run.page) for ms in url.probe_ms]
    if probes:
        print("machine speed: a fixed Python loop took "
              f"{min(probes):.1f} - {max(probes):.1f} ms before the runs (slowest / fastest = "
              f"{max(probes) / min(probes):.2f}); per server: " + ", ".join(
                  f"{run.name} {min(run.null.probe_ms + run.page.probe_ms):.1f} - "
                  f"{max(run.null.probe_ms + run.page.probe_ms):.1f}" for run in runs) + "\n")
    ok = True
    for run in runs:
        if run.name not in TARGETS:  # a comparison
            continue
        target = TARGETS[run.name]
        verdict = "PASS" if run.ratio >= target else "BELOW"
        ok = ok and verdict == "PASS"
        print(f"{verdict:<5} {LABELS[run.name]}: {run.ratio:.2f} of the null route "
              f"(target >= {target})")
    for run in runs:
        quiet = len(run.quiet_rounds)
        if quiet < len(run.round_ratios):
            counted = "the quiet ones" if quiet >= 2 else "all of them: too few were quiet"
            print(f"note: {run.name}: other processes kept the CPUs busy (> {NOISE_CORES} "
                  f"cores) in {len(run.round_ratios) - quiet} of {len(run.round_ratios)} "
                  f"rounds; ratios count {counted}.")
        if quiet < 2:
            print(f"WARNING: {run.name}: the machine was busy with other work; run again on a "
                  "quiet machine.")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--duration", type=int, default=3, help="seconds per wrk run (3)")
    parser.add_argument("--rounds", type=int, default=7, help="rounds per URL (7)")
    parser.add_argument("--warmup", type=int, default=2, help="warm-up seconds per URL (2)")
    parser.add_argument("--quiet-wait", type=float, default=3.0,
                        help="seconds to wait at most for a quiet machine before each run (3)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (2)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (16)")
    parser.add_argument("--only", choices=sorted(SERVERS), action="append",
                        help="run only this server (repeatable)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write results as JSON")
    parser.add_argument("--strict", action="store_true",
                        help="exit 1 when a ratio is below its target")
    args = parser.parse_args(argv)
    # SIGTERM (a CI timeout) unwinds like Ctrl-C, so gunicorn is stopped and the tmp dir removed.
    signal.signal(signal.SIGTERM, lambda _signo, _frame: sys.exit(143))
    if shutil.which("wrk") is None:
        print("wrk is not installed (bench/run.sh installs it)", file=sys.stderr)
        return 2

    info = machine()
    runs: list[ServerRun] = []
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="layoutserver-bench-") as tmpdir:
        tmp = Path(tmpdir)
        env = demo_env(tmp)
        try:
            load_demo(env)
            for name in SERVERS:
                if args.only and name not in args.only:
                    continue
                if name in PRODUCTION:
                    load_demo({**env, **production_env()})
                runs.append(measure_server(name, env, tmp, args))
        except BenchError as exc:
            print(f"\nbench FAILED: {exc}", file=sys.stderr)
            return 1
    ok = report(runs, info, args)
    print(f"\n({time.monotonic() - started:.0f} s)")
    if args.json:
        args.json.write_text(json.dumps({
            "machine": info,
            "load": {"wrk_threads": args.threads, "wrk_connections": args.connections,
                     "rounds": args.rounds, "seconds": args.duration},
            "gunicorn_env": {k: v for k, v in os.environ.items() if k.startswith("GUNICORN_")},
            "runs": [{**asdict(run), "ratio": run.ratio, "round_ratios": run.round_ratios,
                      "cpu_ratio": run.cpu_ratio,
                      "target": TARGETS.get(run.name),
                      "pass": run.ratio >= TARGETS[run.name] if run.name in TARGETS else None,
                      "null_rps_median": run.null.median, "page_rps_median": run.page.median,
                      "null_cpu_us_median": run.null.cpu_median,
                      "page_cpu_us_median": run.page.cpu_median,
                      "quiet_rounds": run.quiet_rounds, "counted_rounds": run.counted_rounds}
                     for run in runs],
        }, indent=2) + "\n")
    return 0 if ok or not args.strict else 1


if __name__ == "__main__":
    sys.exit(main())
