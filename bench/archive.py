"""`make bench`, archive scenario: a large generated archive, side by side in one run.

Uses the archive of ``--size`` articles (100,000 by default; 1,000,000 with ``--size
1000000``) and a small one of 1,000 with the same shape (``archive_data.py``: made once per size
and database, reused by later runs, with what their import took), on SQLite or, with
``--postgresql``, on the PostgreSQL server ``.ci/services`` started. Then, under gunicorn with
``config/gunicorn.conf.py`` and wrk as in ``bench/pages.py``, each ratio from rounds that
alternate its two sides (ABBA), two servers up at once and loaded one at a time:

* **long tail** (SQLite only): distinct article pages of the large archive, each requested once
  (a wrk Lua script walks the slugs; each run continues where the last stopped), on the
  embedded default (SQLite, the in-process cache) after ``--fill`` distinct pages have filled
  the workers' caches, over **one article page uncached** (``CACHE_TYPE=NullCache``) of the same
  archive. Target: >= 0.8. The workers' resident memory is printed after the load.
* **flat cost**: each reader page (article oldest and newest, a large and a small section) and
  each admin list (``/api/v1`` articles first and last page by cursor, an author's, a big and a
  small tag's, the big tag's last page, sections, authors) uncached, large archive over small:
  1 means the page costs the same at both sizes.

Only loopback addresses are used; everything else it writes is in a temporary directory.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path

from archive_data import (
    BIG_TAG,
    SMALL_SECTION_ARTICLES,
    TAGS,
    Archive,
    archive,
    slug,
)
from pages import (
    BIN,
    HOST,
    ROOT,
    BenchError,
    fetch,
    free_port,
    gunicorn,
    run_wrk,
    wait_for_quiet,
)
from sqlalchemy import create_engine, select

from layoutserver.content.models import Article
from layoutserver.content.service import ARTICLE_ORDER

SMALL = 1000
TOKEN_ROLE = "viewer"
ADMIN_PAGE_SIZE = 50
CHECK_TIMEOUT = 120
"""Seconds a checking request may wait: behind it may be a slow page's queued requests."""



def long_tail_script(first: int, count: int, step: int) -> str:
    """A wrk Lua script: thread ``i`` of ``step`` requests articles ``first + i``, then
    ``first + i + step``, ... (modulo ``count``): every request a page not asked for before."""
    return f"""
local counter = 0
local threads = 0
function setup(thread)
  thread:set("id", threads)
  threads = threads + 1
end
function request()
  local n = ({first} + id + counter * {step}) % {count}
  counter = counter + 1
  return wrk.format("GET", "/pages/article/archive-" .. n)
end
"""


def api_token(url: str) -> str:
    env = {**os.environ, "LAYOUTSERVER_DATABASE_URL": url}
    name = f"bench-{os.getpid()}"
    made = subprocess.run([str(BIN / "layoutserver"), "tokens", "create", name, "--role",
                           TOKEN_ROLE], cwd=ROOT, env=env, capture_output=True, text=True,
                          check=True)
    return made.stdout.strip().splitlines()[-1]


@dataclass
class Pair:
    """One ratio: ``top`` req/s over ``bottom`` req/s, per round; with the servers' CPU per
    request of each side when measured (``top_cpu``, ``bottom_cpu``: µs)."""

    label: str
    top: list[float] = field(default_factory=list)
    bottom: list[float] = field(default_factory=list)
    top_cpu: list[float] = field(default_factory=list)
    bottom_cpu: list[float] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        return statistics.median(t / b for t, b in zip(self.top, self.bottom, strict=True))

    @property
    def cpu_ratio(self) -> float:
        """The bottom side's server CPU per request over the top side's, per round: what the
        req/s ratio would be if CPU alone set the pace (it moves far less with the machine's
        load than req/s do)."""
        return statistics.median(b / t for t, b in zip(self.top_cpu, self.bottom_cpu,
                                                       strict=True))


def server_env(url: str, port: int, cache_type: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k != "GUNICORN_BIND" and not k.startswith("LAYOUTSERVER_")}
    env.update({"PORT": str(port), "GUNICORN_ACCESSLOG": "",
                "LAYOUTSERVER_SETTINGS": str(ROOT / "config" / "demo.toml"),
                "LAYOUTSERVER_DATABASE_URL": url,
                "LAYOUTSERVER_WIDGETS_DISABLED": "ad_spot"})
    if cache_type:
        env["LAYOUTSERVER_CACHE_TYPE"] = cache_type
    return env


def worker_rss_mb(master: int) -> list[float]:
    sizes = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if fields.get("PPid", "").strip() == str(master):
            sizes.append(int(fields["VmRSS"].split()[0]) / 1024)
    return sorted(sizes)


def check(base: str, path: str, headers: dict[str, str] | None = None) -> None:
    """``path`` answers 200 (waiting for the requests a slow page's run left queued)."""
    try:
        status, _headers, body = fetch_with(base + path, headers or {})
    except OSError as error:
        raise BenchError(f"{base + path}: {error}") from error
    if status != 200:
        raise BenchError(f"{base + path} answered {status}: {body[:300]!r}")


def fetch_with(url: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    if not headers:
        return fetch(url, timeout=CHECK_TIMEOUT)
    request = urllib.request.Request(url, headers=headers)  # loopback only
    try:
        with urllib.request.urlopen(request, timeout=CHECK_TIMEOUT) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def long_tail(args: argparse.Namespace, large: str, tmp: Path) -> tuple[Pair, list[float]]:
    one_page = f"/pages/article/{slug(args.size // 2)}"
    pair = Pair("long tail (distinct article pages, cached) / one article page uncached")
    with ExitStack() as stack:
        tail_port, plain_port = free_port(), free_port()
        tail_base, tail_pid = stack.enter_context(gunicorn(
            server_env(large, tail_port, None), tmp / "gunicorn-tail.log", tail_port))
        plain_base, plain_pid = stack.enter_context(gunicorn(
            server_env(large, plain_port, "NullCache"), tmp / "gunicorn-plain.log", plain_port))
        check(tail_base, f"/pages/article/{slug(0)}")
        check(plain_base, one_page)
        walked = 0

        def tail_run(seconds: float) -> tuple[float, float]:
            """req/s, and the server's CPU µs per request."""
            nonlocal walked
            lua = tmp / "tail-run.lua"
            lua.write_text(long_tail_script(walked, args.size, args.threads))
            result, cpu, _other = run_wrk(tail_base + "/", args, seconds, server=tail_pid,
                                          script=lua)
            walked += result.requests
            return result.requests_per_sec, cpu / result.requests * 1e6

        print(f"long tail: filling the caches with {args.fill:,} distinct pages", flush=True)
        while walked < args.fill:
            rate, _cpu = tail_run(10)
            print(f"   {walked:,} pages, {rate:.0f} req/s, worker RSS "
                  f"{', '.join(f'{mb:.0f}' for mb in worker_rss_mb(tail_pid))} MB", flush=True)
        run_wrk(plain_base + one_page, args, args.warmup)
        for round_no in range(args.rounds):
            sides = ["tail", "plain"] if round_no % 2 == 0 else ["plain", "tail"]
            for side in sides:
                wait_for_quiet(args.quiet_wait)
                if side == "tail":
                    rate, cpu = tail_run(args.duration)
                    pair.top.append(rate)
                    pair.top_cpu.append(cpu)
                else:
                    result, cpu, _other = run_wrk(plain_base + one_page, args, args.duration,
                                                  server=plain_pid)
                    pair.bottom.append(result.requests_per_sec)
                    pair.bottom_cpu.append(cpu / result.requests * 1e6)
            print(f"   round {round_no + 1}: long tail {pair.top[-1]:.0f} req/s "
                  f"({pair.top_cpu[-1]:,.0f} µs of server CPU a request), one page uncached "
                  f"{pair.bottom[-1]:.0f} req/s ({pair.bottom_cpu[-1]:,.0f} µs), {walked:,} "
                  f"distinct pages so far; load average {os.getloadavg()[0]:.1f}", flush=True)
        rss = worker_rss_mb(tail_pid)
    return pair, rss


def requests_per_sec(url: str, args: argparse.Namespace, seconds: float,
                     script: Path | None) -> float:
    """wrk's req/s; 0 when not one request finished within ``seconds`` (a page that slow is
    reported as such, not as a failed run: its checked answer came before)."""
    try:
        result, _cpu, _other = run_wrk(url, args, seconds, script=script)
    except BenchError as error:
        if "made no request" not in str(error):
            raise
        print(f"   {url}: no request finished within {seconds} s", flush=True)
        return 0.0
    return result.requests_per_sec


def article_cursor(url: str, number: int) -> str:
    """The cursor of the article list after article ``number`` of the archive (read from the
    database): the page after it holds the articles older than it."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            row = connection.execute(select(Article.published_at, Article.id)
                                     .where(Article.slug == slug(number))).first()
    finally:
        engine.dispose()
    if row is None:
        raise BenchError(f"{url}: no article {slug(number)}")
    return ARTICLE_ORDER.cursor(tuple(row))


def flat_paths(url: str, size: int) -> list[tuple[str, str, bool]]:
    """(label, path, admin) of each page and list, in the archive of ``size`` at ``url``. A
    list holds as many articles in the small archive as in the large one: an author has 2 of
    its 1,000, the small tag 7."""
    page = f"page_size={ADMIN_PAGE_SIZE}"
    # the last page: after the article with ADMIN_PAGE_SIZE older ones (the big tag's: with
    # ADMIN_PAGE_SIZE older ones of the tag, every other article)
    last = article_cursor(url, ADMIN_PAGE_SIZE)
    last_tagged = article_cursor(url, 2 * ADMIN_PAGE_SIZE)
    return [
        ("article, oldest", f"/pages/article/{slug(0)}", False),
        ("article, newest", f"/pages/article/{slug(size - 1)}", False),
        ("section, large", "/pages/section/section-0", False),
        (f"section, small ({SMALL_SECTION_ARTICLES} articles)", "/pages/section/small", False),
        ("admin: articles, first page", f"/api/v1/articles?{page}", True),
        ("admin: articles, last page (cursor)", f"/api/v1/articles?{page}&after={last}", True),
        ("admin: articles of an author, page of 2", "/api/v1/articles?page_size=2&"
         "author=author-7", True),
        (f"admin: articles of a tag on half ({BIG_TAG})", f"/api/v1/articles?{page}&tag={BIG_TAG}",
         True),
        (f"admin: {BIG_TAG}, last page (cursor)",
         f"/api/v1/articles?{page}&tag={BIG_TAG}&after={last_tagged}", True),
        (f"admin: articles of a tag on 1 in {TAGS // 2}, page of 5",
         "/api/v1/articles?page_size=5&tag=tag-7", True),
        ("admin: sections", "/api/v1/sections", True),
        ("admin: authors, first page", f"/api/v1/authors?{page}", True),
    ]


def flat_cost(args: argparse.Namespace, small: Archive, large: Archive, tmp: Path) -> list[Pair]:
    archives = {"small": small, "large": large}
    headers = {size: {"Authorization": f"Bearer {api_token(built.url)}"}
               for size, built in archives.items()}
    paths = {size: flat_paths(built.url, built.size) for size, built in archives.items()}
    pairs: list[Pair] = []
    with ExitStack() as stack:
        bases = {}
        for size, built in archives.items():
            port = free_port()
            bases[size], _ = stack.enter_context(gunicorn(
                server_env(built.url, port, "NullCache"), tmp / f"gunicorn-{size}.log", port))
        scripts = {}
        for size in archives:
            script = tmp / f"auth-{size}.lua"
            script.write_text(
                f'wrk.headers["Authorization"] = "{headers[size]["Authorization"]}"\n')
            scripts[size] = script
        for index, (label, _path, admin) in enumerate(paths["small"]):
            pair = Pair(label)
            for size in archives:
                path = paths[size][index][1]
                check(bases[size], path, headers[size] if admin else None)
                requests_per_sec(bases[size] + path, args, args.warmup,
                                 scripts[size] if admin else None)
            for round_no in range(args.page_rounds):
                for size in (("small", "large") if round_no % 2 == 0 else ("large", "small")):
                    wait_for_quiet(args.quiet_wait)
                    (pair.bottom if size == "small" else pair.top).append(requests_per_sec(
                        bases[size] + paths[size][index][1], args, args.duration,
                        scripts[size] if admin else None))
            print(f"   {label:<45} {statistics.median(pair.bottom):8.1f} req/s at "
                  f"{small.size:,}, {statistics.median(pair.top):8.1f} at {large.size:,}: "
                  f"ratio {pair.ratio:.2f}", flush=True)
            pairs.append(pair)
    return pairs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000,
                        help="articles of the large archive (100,000; 1000000 for a million)")
    parser.add_argument("--postgresql", nargs="?", const=os.environ.get(
        "LAYOUTSERVER_TEST_DATABASE_URL", ""), metavar="URL",
                        help="the archives on this PostgreSQL server (default: the one "
                             ".ci/services started) instead of SQLite; flat cost only")
    parser.add_argument("--fill", type=int, default=40_000,
                        help="distinct pages served before the long tail is measured (40,000)")
    parser.add_argument("--duration", type=int, default=3, help="seconds per wrk run (3)")
    parser.add_argument("--rounds", type=int, default=5, help="long-tail rounds (5)")
    parser.add_argument("--page-rounds", type=int, default=2,
                        help="rounds per reader page and admin list (2)")
    parser.add_argument("--warmup", type=int, default=1, help="warm-up seconds per URL (1)")
    parser.add_argument("--quiet-wait", type=float, default=3.0)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (2)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (16)")
    parser.add_argument("--only", choices=("long-tail", "flat", "import"), action="append",
                        help="one part (import: build the archives and show what it took)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write results as JSON")
    args = parser.parse_args(argv)
    if args.postgresql == "":
        parser.error("--postgresql: no URL given and LAYOUTSERVER_TEST_DATABASE_URL is not set "
                     "(run it under .ci/services)")
    only = set(args.only or ("long-tail", "flat"))
    if args.postgresql:
        only.discard("long-tail")  # the long tail is of the embedded default
    where = "PostgreSQL" if args.postgresql else "SQLite"
    try:
        small, large = (archive(count, args.postgresql) for count in (SMALL, args.size))
    except BenchError as error:
        print(f"bench failed: {error}", file=sys.stderr)
        return 1
    results: dict[str, object] = {"size": args.size, "small": SMALL, "database": where,
                                  "imports": {built.size: asdict(built.built)
                                              for built in (small, large)}}
    print(f"\n== archives on {where}", flush=True)
    for built in (small, large):
        print(f"   {built.built}", flush=True)
    with tempfile.TemporaryDirectory(prefix="ls-archive-") as directory:
        tmp = Path(directory)
        try:
            if "long-tail" in only:
                print(f"\n== long tail: {args.size:,} articles, {HOST}", flush=True)
                pair, rss = long_tail(args, large.url, tmp)
                print(f"long tail / one page uncached: {pair.ratio:.2f} (target >= 0.8); by "
                      f"server CPU per request: {pair.cpu_ratio:.2f}; worker RSS after: "
                      f"{', '.join(f'{mb:.0f}' for mb in rss)} MB", flush=True)
                results["long_tail"] = {"ratio": pair.ratio, "cpu_ratio": pair.cpu_ratio,
                                        "tail": pair.top, "one_page_uncached": pair.bottom,
                                        "tail_cpu_us": pair.top_cpu,
                                        "one_page_uncached_cpu_us": pair.bottom_cpu,
                                        "worker_rss_mb": rss}
            if "flat" in only:
                print(f"\n== flat cost, uncached, {where}: {args.size:,} articles over "
                      f"{SMALL:,}", flush=True)
                pairs = flat_cost(args, small, large, tmp)
                results["flat"] = {p.label: {"ratio": p.ratio, "large": p.top, "small": p.bottom}
                                   for p in pairs}
        except BenchError as error:
            print(f"bench failed: {error}", file=sys.stderr)
            return 1
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
