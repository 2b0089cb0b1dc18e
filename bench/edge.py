"""`make bench`'s edge runs: the seed page with its five ad spots behind a real Varnish (the
shipped ``config/edge/varnish.vcl``) and a real nginx (``config/edge/nginx.conf``), side by side
with the same page served directly.

Four ways to serve one page view, measured in the same run, round by round in rotating order:

* **direct**: wrk asks gunicorn for the page; the origin decides the ads in the page;
* **esi**: wrk asks Varnish; Varnish keeps the page's shared form and its parts and fetches the
  reader's frame from the origin per page view (one request, deciding the whole page);
* **ssi**: wrk asks nginx; nginx keeps the page's shared form (which includes the frame) and
  its parts, and fetches the reader's frame per page view, as Varnish does;
* **client**: wrk asks Varnish for the page (``ADS_DELIVERY=client``, fully cached) and then
  posts one ``/ads/decide`` for its five slots, as ``ads.js`` does: two requests a page view.

For each: page views per second and the origin's CPU (the gunicorn process tree) per page view.
The targets (issue 14): esi page views/s >= 0.5 of direct and origin CPU per view <= 2x direct;
client origin CPU per view <= direct. Every request is the same returning reader (its
``ls_uid`` cookie), in every mode alike, so the reader's cap counts are read in each. Varnish's
own CPU is not the origin's and is not counted, nor is nginx's.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from pages import (
    HOST,
    ROOT,
    SEED_MARKER,
    SEED_PATH,
    BenchError,
    demo_env,
    fetch,
    free_port,
    gunicorn,
    load_demo,
    run_wrk,
    wait_for_quiet,
)

sys.path.insert(0, str(ROOT / "tests"))
# The throwaway nginx of the tests, derived from the shipped configuration the same way.
from edge_fixtures import NGINX, NGINX_CONF, nginx_conf

VCL = ROOT / "config" / "edge" / "varnish.vcl"
SLUG = SEED_PATH.rsplit("/", 1)[1]
DECIDE_BODY = {"page": {"page_type": "article", "slug": SLUG, "section": "world",
                        "tags": ["china", "pakistan"], "path": SEED_PATH, "key_values": {}},
               "slots": ["article-1", "article-2", "article-3", "news-1", "news-2"]}
#: The reader of every request: one returning reader (its key has a history to read for caps),
#: the same in every mode.
READER_COOKIE = "ls_uid=bench-reader-0001"
#: wrk's requests in direct and ESI mode: the page, as that reader.
PAGE_SCRIPT = f'wrk.headers["Cookie"] = "{READER_COOKIE}"\n'
#: wrk's requests in client mode: the page, then its one decide call, in turn on each
#: connection.
CLIENT_SCRIPT = """
local turn = 0
local body = [[%s]]
request = function()
  turn = turn + 1
  if turn %% 2 == 1 then
    return wrk.format("GET", "%s", {["Cookie"] = "%s"})
  end
  return wrk.format("POST", "/ads/decide", {["Content-Type"] = "application/json",
                                            ["Cookie"] = "%s"}, body)
end
"""
TARGETS = {"esi_views": 0.5, "esi_cpu": 2.0, "client_cpu": 1.0}


@dataclass
class Mode:
    name: str
    views_per_sec: list[float] = field(default_factory=list)
    cpu_us_per_view: list[float] = field(default_factory=list)

    @property
    def views(self) -> float:
        return statistics.median(self.views_per_sec)

    @property
    def cpu(self) -> float:
        return statistics.median(self.cpu_us_per_view)


@contextmanager
def varnish(backend_port: int, workdir: Path) -> Iterator[str]:
    """Varnish with the shipped VCL in front of ``backend_port``; its base URL."""
    vcl = re.sub(r'\.port = "\d+";', f'.port = "{backend_port}";', VCL.read_text())
    path = workdir / f"edge-{backend_port}.vcl"
    path.write_text(vcl)
    port = free_port()
    varnishd = shutil.which("varnishd") or "/usr/sbin/varnishd"
    process = subprocess.Popen(
        [varnishd, "-F", "-j", "none", "-n", str(workdir / f"varnish-{port}"),
         "-a", f"{HOST}:{port}", "-f", str(path), "-s", "malloc,128m"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    with serving(process, port, "varnishd") as url:
        yield url


@contextmanager
def serving(process: subprocess.Popen[bytes], port: int, name: str) -> Iterator[str]:
    """The base URL of ``process`` once it listens on ``port``; stopped on the way out."""
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with socket.create_connection((HOST, port), timeout=0.2):
                    break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise BenchError(f"{name} did not start") from None
                time.sleep(0.1)
        yield f"http://{HOST}:{port}"
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@contextmanager
def nginx(backend_port: int, workdir: Path) -> Iterator[str]:
    """nginx with the shipped configuration in front of ``backend_port``; its base URL."""
    port = free_port()
    home = workdir / f"nginx-{port}"
    home.mkdir()
    conf = home / "nginx.conf"
    conf.write_text(nginx_conf(NGINX_CONF.read_text(), backend_port, port, home))
    process = subprocess.Popen([NGINX, "-p", str(home), "-c", str(conf), "-g", "daemon off;"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    with serving(process, port, "nginx") as url:
        yield url


def check(url: str, spots: int) -> None:
    """The seed page through ``url`` with ``spots`` filled ad spots."""
    for _ in range(2):  # the second answer comes from the edge's copy
        status, _headers, body = fetch(url + SEED_PATH)
        if status != 200 or SEED_MARKER not in body:
            raise BenchError(f"{url}{SEED_PATH} answered {status} ({body[:200]!r})")
        found = body.count(b'class="ad-spot"')
        if found != spots:
            raise BenchError(f"{url}{SEED_PATH}: {found} filled ad spots, not {spots}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--duration", type=int, default=3, help="seconds per wrk run (3)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per mode (5)")
    parser.add_argument("--warmup", type=int, default=2, help="warm-up seconds per mode (2)")
    parser.add_argument("--quiet-wait", type=float, default=3.0)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (2)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (16)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write results as JSON")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda _signo, _frame: sys.exit(143))
    if shutil.which("varnishd") is None and not Path("/usr/sbin/varnishd").exists():
        print("varnishd is not installed (make test installs it)", file=sys.stderr)
        return 2
    if not Path(NGINX).exists():
        print("nginx is not installed (make test installs it)", file=sys.stderr)
        return 2
    modes = {name: Mode(name) for name in ("direct", "esi", "ssi", "client")}
    with tempfile.TemporaryDirectory(prefix="layoutserver-edge-bench-") as tmpdir:
        tmp = Path(tmpdir)
        env = demo_env(tmp)
        script = tmp / "client.lua"
        script.write_text(CLIENT_SCRIPT % (json.dumps(DECIDE_BODY), SEED_PATH, READER_COOKIE,
                                           READER_COOKIE))
        page_script = tmp / "page.lua"
        page_script.write_text(PAGE_SCRIPT)
        try:
            load_demo(env)
            server_port, client_port = free_port(), free_port()
            with gunicorn({**env, "PORT": str(server_port)}, tmp / "server.log",
                          server_port) as (origin, server_pid), \
                 gunicorn({**env, "PORT": str(client_port),
                           "LAYOUTSERVER_ADS_DELIVERY": "client"}, tmp / "client.log",
                          client_port) as (_client_origin, client_pid), \
                 varnish(server_port, tmp) as esi_edge, varnish(client_port, tmp) as client_edge, \
                 nginx(server_port, tmp) as ssi_edge:
                check(origin, 5)
                check(esi_edge, 5)
                check(ssi_edge, 5)
                check(client_edge, 0)
                plan = {"direct": (origin, server_pid, page_script, 1),
                        "esi": (esi_edge, server_pid, page_script, 1),
                        "ssi": (ssi_edge, server_pid, page_script, 1),
                        "client": (client_edge, client_pid, script, 2)}
                for url, _pid, lua, _per in plan.values():
                    run_wrk(url + SEED_PATH, args, args.warmup, script=lua)
                names = list(plan)
                for round_no in range(args.rounds):
                    for name in names[round_no % 4:] + names[:round_no % 4]:
                        url, pid, lua, per_view = plan[name]
                        wait_for_quiet(args.quiet_wait)
                        result, cpu, other = run_wrk(url + SEED_PATH, args, args.duration,
                                                     server=pid, script=lua)
                        views = result.requests / per_view
                        modes[name].views_per_sec.append(result.requests_per_sec / per_view)
                        modes[name].cpu_us_per_view.append(cpu / views * 1e6)
                        print(f"   round {round_no + 1}  {name:<7} "
                              f"{modes[name].views_per_sec[-1]:8.1f} page views/s  "
                              f"{modes[name].cpu_us_per_view[-1]:7.0f} us origin CPU/view  "
                              f"p99 {result.latency_p99:>8}  other {other:.2f} cores",
                              flush=True)
                check(esi_edge, 5)
                check(ssi_edge, 5)
        except BenchError as exc:
            print(f"\nedge bench FAILED: {exc}", file=sys.stderr)
            return 1
    direct, esi, ssi, client = modes["direct"], modes["esi"], modes["ssi"], modes["client"]
    figures = {
        "esi_views": esi.views / direct.views,
        "esi_cpu": esi.cpu / direct.cpu,
        "ssi_views": ssi.views / direct.views,
        "ssi_cpu": ssi.cpu / direct.cpu,
        "client_cpu": client.cpu / direct.cpu,
    }
    print("\nseed page + 5 ad spots, medians of the rounds:")
    for mode in modes.values():
        print(f"  {mode.name:<7} {mode.views:8.1f} page views/s  {mode.cpu:7.0f} us origin "
              f"CPU per page view")
    print(f"  esi page views/s over direct     {figures['esi_views']:.2f}  (target >= 0.5)")
    print(f"  esi origin CPU/view over direct  {figures['esi_cpu']:.2f}  (target <= 2)")
    print(f"  ssi page views/s over direct     {figures['ssi_views']:.2f}")
    print(f"  ssi origin CPU/view over direct  {figures['ssi_cpu']:.2f}")
    print(f"  client origin CPU/view over direct {figures['client_cpu']:.2f}  (target <= 1)")
    if args.json:
        args.json.write_text(json.dumps({
            "modes": {m.name: {"views_per_sec": m.views_per_sec,
                               "cpu_us_per_view": m.cpu_us_per_view} for m in modes.values()},
            "ratios": figures}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
