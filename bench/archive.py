"""`make bench`, archive scenario: a large generated archive, side by side in one run.

Generates an archive of ``--size`` articles (100,000 by default: 20 sections, one of them small,
500 authors, 300 tags, ~5.7 KB bodies) and a small one of 1,000 with the same shape, each once:
a JSON Lines file and its SQLite database under ``.cache/archive/`` (imported with
``layoutserver content import``), reused by later runs. Then, under gunicorn with
``config/gunicorn.conf.py`` and wrk as in ``bench/pages.py``, each ratio from rounds that
alternate its two sides (ABBA), two servers up at once and loaded one at a time:

* **long tail**: distinct article pages of the large archive, each requested once (a wrk Lua
  script walks the slugs; each run continues where the last stopped), on the embedded default
  (SQLite, the in-process cache) after ``--fill`` distinct pages have filled the workers'
  caches, over **one article page uncached** (``CACHE_TYPE=NullCache``) of the same archive.
  Target: >= 0.8. The workers' resident memory is printed after the load.
* **flat cost**: each reader page (article oldest and newest, a large and a small section) and
  each admin list (``/api/v1`` articles first and last page, sections, authors) uncached, large
  archive over small: 1 means the page costs the same at both sizes.

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
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from made_once import made_once
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

CACHE_DIR = ROOT / ".cache" / "archive"
SMALL = 1000
SECTIONS = 20
"""Sections: ``section-0`` .. ``section-18`` share the archive; ``small`` holds five articles."""
SMALL_SECTION_ARTICLES = 5
AUTHORS = 500
TAGS = 300
ARCHIVE_END = datetime(2024, 10, 9, 12, tzinfo=UTC)
"""The newest article's date: the day before the demo's pinned site clock (config/demo.toml)."""
ARCHIVE_YEARS = 10
PARAGRAPH = ("The council met on Tuesday to weigh the budget for the coming year, and the debate "
             "ran late into the evening as members argued over roads, schools and the harbour. "
             "Residents who spoke asked for clearer figures and for a plan the town can keep. ")
"""About 270 characters; 21 of them make a body of about 5.7 KB."""
BODY_PARAGRAPHS = 21
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


def slug(number: int) -> str:
    return f"archive-{number}"


def published(number: int, size: int) -> datetime:
    """Article ``number`` of ``size``: the oldest is 0, the newest ``size - 1``."""
    span = timedelta(days=365 * ARCHIVE_YEARS)
    return ARCHIVE_END - span + span * (number / max(size - 1, 1))


def section_of(number: int, size: int) -> str:
    if number % (size // SMALL_SECTION_ARTICLES) == 1:
        return "small"
    return f"section-{number % (SECTIONS - 1)}"


def archive_lines(size: int) -> Iterator[str]:
    """The archive as JSON Lines (docs/content-format.md)."""
    for number in range(SECTIONS - 1):
        yield json.dumps({"section": {"slug": f"section-{number}", "name": f"Section {number}"}})
    yield json.dumps({"section": {"slug": "small", "name": "Small section"}})
    for number in range(AUTHORS):
        yield json.dumps({"author": {"slug": f"author-{number}", "name": f"Author {number}",
                                     "bio": f"Writes for the archive ({number})."}})
    for number in range(size):
        body = "".join(f"<p>{number}: {PARAGRAPH}</p>" for _ in range(BODY_PARAGRAPHS))
        yield json.dumps({"article": {
            "slug": slug(number), "title": f"Archived story {number}",
            "excerpt": f"What happened in story {number}.", "body_html": body,
            "published_at": published(number, size).isoformat(),
            "section": section_of(number, size), "author": f"author-{number % AUTHORS}",
            "tags": [f"tag-{number % TAGS}", f"tag-{(number * 7 + 3) % TAGS}"],
        }})


def archive_database(size: int) -> Path:
    """The SQLite file of an archive of ``size`` articles, made once and kept in .cache."""
    return made_once(CACHE_DIR / f"archive-{size}.sqlite3", lambda path: _import(size, path))


def _import(size: int, database: Path) -> None:
    lines = CACHE_DIR / f"archive-{size}.jsonl"
    with lines.open("w", encoding="utf-8") as handle:
        for line in archive_lines(size):
            handle.write(line + "\n")
    env = {**os.environ, "LAYOUTSERVER_DATABASE_URL": f"sqlite:///{database}"}
    print(f"archive: importing {size:,} articles into {database}", flush=True)
    for command in (["db", "upgrade"], ["content", "import", "--progress", str(lines)]):
        subprocess.run([str(BIN / "layoutserver"), *command], cwd=ROOT, env=env, check=True)
    lines.unlink()


def api_token(database: Path) -> str:
    env = {**os.environ, "LAYOUTSERVER_DATABASE_URL": f"sqlite:///{database}"}
    name = f"bench-{os.getpid()}"
    made = subprocess.run([str(BIN / "layoutserver"), "tokens", "create", name, "--role",
                           TOKEN_ROLE], cwd=ROOT, env=env, capture_output=True, text=True,
                          check=True)
    return made.stdout.strip().splitlines()[-1]


@dataclass
class Pair:
    """One ratio: ``top`` req/s over ``bottom`` req/s, per round."""

    label: str
    top: list[float] = field(default_factory=list)
    bottom: list[float] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        return statistics.median(t / b for t, b in zip(self.top, self.bottom, strict=True))


def server_env(database: Path, port: int, cache_type: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k != "GUNICORN_BIND" and not k.startswith("LAYOUTSERVER_")}
    env.update({"PORT": str(port), "GUNICORN_ACCESSLOG": "",
                "LAYOUTSERVER_SETTINGS": str(ROOT / "config" / "demo.toml"),
                "LAYOUTSERVER_DATABASE_URL": f"sqlite:///{database}",
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


def long_tail(args: argparse.Namespace, large: Path, tmp: Path) -> tuple[Pair, list[float]]:
    one_page = f"/pages/article/{slug(args.size // 2)}"
    pair = Pair("long tail (distinct article pages, cached) / one article page uncached")
    with ExitStack() as stack:
        tail_port, plain_port = free_port(), free_port()
        tail_base, tail_pid = stack.enter_context(gunicorn(
            server_env(large, tail_port, None), tmp / "gunicorn-tail.log", tail_port))
        plain_base, _ = stack.enter_context(gunicorn(
            server_env(large, plain_port, "NullCache"), tmp / "gunicorn-plain.log", plain_port))
        check(tail_base, f"/pages/article/{slug(0)}")
        check(plain_base, one_page)
        walked = 0

        def tail_run(seconds: float) -> float:
            nonlocal walked
            lua = tmp / "tail-run.lua"
            lua.write_text(long_tail_script(walked, args.size, args.threads))
            result, _cpu, _other = run_wrk(tail_base + "/", args, seconds, script=lua)
            walked += result.requests
            return result.requests_per_sec

        print(f"long tail: filling the caches with {args.fill:,} distinct pages", flush=True)
        while walked < args.fill:
            rate = tail_run(10)
            print(f"   {walked:,} pages, {rate:.0f} req/s, worker RSS "
                  f"{', '.join(f'{mb:.0f}' for mb in worker_rss_mb(tail_pid))} MB", flush=True)
        run_wrk(plain_base + one_page, args, args.warmup)
        for round_no in range(args.rounds):
            sides = ["tail", "plain"] if round_no % 2 == 0 else ["plain", "tail"]
            for side in sides:
                wait_for_quiet(args.quiet_wait)
                if side == "tail":
                    pair.top.append(tail_run(args.duration))
                else:
                    result, _cpu, _other = run_wrk(plain_base + one_page, args, args.duration)
                    pair.bottom.append(result.requests_per_sec)
            print(f"   round {round_no + 1}: long tail {pair.top[-1]:.0f} req/s, one page "
                  f"uncached {pair.bottom[-1]:.0f} req/s, {walked:,} distinct pages so far",
                  flush=True)
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


def flat_cost(args: argparse.Namespace, small: Path, large: Path, tmp: Path) -> list[Pair]:
    headers = {size: {"Authorization": f"Bearer {api_token(db)}"}
               for size, db in (("small", small), ("large", large))}
    small_section = "small"
    paths = [
        ("article, oldest", f"/pages/article/{slug(0)}", False),
        ("article, newest (large: newest of its own)", None, False),
        ("section, large", "/pages/section/section-0", False),
        ("section, small (5 articles)", f"/pages/section/{small_section}", False),
        ("admin: articles, first page", f"/api/v1/articles?page_size={ADMIN_PAGE_SIZE}", True),
        ("admin: articles, last page", None, True),
        ("admin: sections", "/api/v1/sections", True),
        ("admin: authors, first page", f"/api/v1/authors?page_size={ADMIN_PAGE_SIZE}", True),
    ]
    pairs: list[Pair] = []
    with ExitStack() as stack:
        bases = {}
        for size, database in (("small", small), ("large", large)):
            port = free_port()
            bases[size], _ = stack.enter_context(gunicorn(
                server_env(database, port, "NullCache"), tmp / f"gunicorn-{size}.log", port))
        for label, path, admin in paths:
            pair = Pair(label)
            per_size = {}
            for size, count in (("small", SMALL), ("large", args.size)):
                if label.startswith("article, newest"):
                    per_size[size] = f"/pages/article/{slug(count - 1)}"
                elif label == "admin: articles, last page":
                    offset = count - ADMIN_PAGE_SIZE
                    per_size[size] = (f"/api/v1/articles?offset={offset}"
                                      f"&page_size={ADMIN_PAGE_SIZE}")
                else:
                    per_size[size] = str(path)
            scripts = {}
            for size in ("small", "large"):
                check(bases[size], per_size[size], headers[size] if admin else None)
                if admin:
                    script = tmp / f"auth-{size}.lua"
                    script.write_text(
                        f'wrk.headers["Authorization"] = "{headers[size]["Authorization"]}"\n')
                    scripts[size] = script
                requests_per_sec(bases[size] + per_size[size], args, args.warmup,
                                 scripts.get(size))
            for round_no in range(args.page_rounds):
                for size in (("small", "large") if round_no % 2 == 0 else ("large", "small")):
                    wait_for_quiet(args.quiet_wait)
                    (pair.bottom if size == "small" else pair.top).append(requests_per_sec(
                        bases[size] + per_size[size], args, args.duration, scripts.get(size)))
            print(f"   {label:<45} {statistics.median(pair.bottom):8.1f} req/s at {SMALL:,}, "
                  f"{statistics.median(pair.top):8.1f} at {args.size:,}: ratio "
                  f"{pair.ratio:.2f}", flush=True)
            pairs.append(pair)
    return pairs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000, help="articles (100,000)")
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
    parser.add_argument("--only", choices=("long-tail", "flat"), action="append")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write results as JSON")
    args = parser.parse_args(argv)
    small, large = archive_database(SMALL), archive_database(args.size)
    results: dict[str, object] = {"size": args.size, "small": SMALL}
    with tempfile.TemporaryDirectory(prefix="ls-archive-") as directory:
        tmp = Path(directory)
        try:
            if not args.only or "long-tail" in args.only:
                print(f"\n== long tail: {args.size:,} articles, {HOST}", flush=True)
                pair, rss = long_tail(args, large, tmp)
                print(f"long tail / one page uncached: {pair.ratio:.2f} (target >= 0.8); "
                      f"worker RSS after: {', '.join(f'{mb:.0f}' for mb in rss)} MB", flush=True)
                results["long_tail"] = {"ratio": pair.ratio, "tail": pair.top,
                                        "one_page_uncached": pair.bottom, "worker_rss_mb": rss}
            if not args.only or "flat" in args.only:
                print(f"\n== flat cost, uncached: {args.size:,} articles over {SMALL:,}",
                      flush=True)
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
