"""The generated archives of ``bench/archive.py``: made once per size and database, then reused.

An archive of ``size`` articles (20 sections, one of them holding five articles, 500 authors,
300 tags and one on every other article, ~5.7 KB bodies, dates over ten years) is written as
JSON Lines and imported with ``layoutserver content import`` (the command a publisher runs),
into a SQLite file under ``.cache/archive/`` or a database of its own on a PostgreSQL server
(``archive_<size>``). What the import took (seconds, its CPU, its peak resident memory, the
PostgreSQL server's CPU, how busy the machine was meanwhile) is kept with the archive, next to
the SQLite file or as the PostgreSQL database's comment, and shown by every later run.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pages import BIN, ROOT, BenchError, _stat, busy_cpu
from sqlalchemy import create_engine, make_url, text

CACHE_DIR = ROOT / ".cache" / "archive"
SECTIONS = 20
"""Sections: ``section-0`` .. ``section-18`` share the archive; ``small`` holds five articles."""
SMALL_SECTION_ARTICLES = 5
AUTHORS = 500
TAGS = 300
BIG_TAG = "news"
"""A tag on every other article: its list is half the archive."""
ARCHIVE_END = datetime(2024, 10, 9, 12, tzinfo=UTC)
"""The newest article's date: the day before the demo's pinned site clock (config/demo.toml)."""
ARCHIVE_YEARS = 10
PARAGRAPH = ("The council met on Tuesday to weigh the budget for the coming year, and the debate "
             "ran late into the evening as members argued over roads, schools and the harbour. "
             "Residents who spoke asked for clearer figures and for a plan the town can keep. ")
"""About 270 characters; 21 of them make a body of about 5.7 KB."""
BODY_PARAGRAPHS = 21


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
            "tags": [f"tag-{number % TAGS}", f"tag-{(number * 7 + 3) % TAGS}",
                     *([BIG_TAG] if number % 2 == 0 else [])],
        }})


@dataclass(frozen=True)
class Import:
    """What importing an archive took."""

    articles: int
    document_mb: float
    seconds: float
    cpu_seconds: float
    """The import command's own CPU (user and system)."""
    peak_rss_mb: float
    """The import command's peak resident memory."""
    server_cpu_seconds: float | None
    """The PostgreSQL server's CPU meanwhile (None on SQLite)."""
    machine_busy_cores: float
    """The whole machine's busy CPUs, on average, meanwhile (the import's, the server's and
    everyone else's)."""
    load_average: tuple[float, float]
    """The 1-minute load average at the start and at the end."""
    at: str

    def __str__(self) -> str:
        server = ("" if self.server_cpu_seconds is None
                  else f", PostgreSQL {self.server_cpu_seconds:.0f} s of CPU")
        return (f"{self.articles:,} articles ({self.document_mb:,.0f} MB of JSON Lines) imported "
                f"in {self.seconds:,.0f} s: {self.cpu_seconds:,.0f} s of CPU{server}, peak RSS "
                f"{self.peak_rss_mb:.0f} MB; the machine {self.machine_busy_cores:.1f} cores "
                f"busy meanwhile, load average {self.load_average[0]:.1f} -> "
                f"{self.load_average[1]:.1f} ({self.at})")


@dataclass(frozen=True)
class Archive:
    size: int
    url: str
    built: Import


def archive(size: int, postgresql: str | None) -> Archive:
    """The archive of ``size`` articles: a SQLite file, or (``postgresql``: a server's URL) a
    database on that server; imported now if it was not before."""
    if postgresql is None:
        return _sqlite_archive(size)
    return _postgresql_archive(size, postgresql)


def _sqlite_archive(size: int) -> Archive:
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    database = CACHE_DIR / f"archive-{size}.sqlite3"
    url = f"sqlite:///{database}"
    done = CACHE_DIR / f"archive-{size}.done"
    if done.exists() and database.exists():
        kept = _kept(done.read_text())
        if kept is not None:
            return Archive(size, url, kept)
    database.unlink(missing_ok=True)
    built = _import(url, size, None)
    done.write_text(json.dumps(asdict(built)))
    return Archive(size, url, built)


def _postgresql_archive(size: int, server_url: str) -> Archive:
    server = make_url(server_url)
    name = f"archive_{size}"
    url = server.set(database=name).render_as_string(hide_password=False)
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            comment = connection.scalar(text(
                "SELECT shobj_description(oid, 'pg_database') FROM pg_database "
                "WHERE datname = :name"), {"name": name})
            exists = connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"),
                                       {"name": name})
            kept = _kept(comment) if comment else None
            if kept is not None:
                return Archive(size, url, kept)
            if exists:
                connection.execute(text(f'DROP DATABASE "{name}"'))  # a build that stopped
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        built = _import(url, size, server.port or 5432)
        with admin.connect() as connection:
            made = json.dumps(asdict(built)).replace("'", "''")
            connection.execute(text(f"COMMENT ON DATABASE \"{name}\" IS '{made}'"))
    finally:
        admin.dispose()
    return Archive(size, url, built)


def _kept(text_: str) -> Import | None:
    """What the import of a built archive took; None for one an older bench built (of another
    shape: made again)."""
    try:
        values = json.loads(text_)
        values["load_average"] = tuple(values["load_average"])
        return Import(**values)
    except (ValueError, TypeError, KeyError):
        return None


def _import(url: str, size: int, postgresql_port: int | None) -> Import:
    """Write the archive's JSON Lines, run ``db upgrade`` and ``content import`` on ``url``,
    and measure the import."""
    lines = CACHE_DIR / f"archive-{size}.jsonl"
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    print(f"archive: writing {size:,} articles as JSON Lines", flush=True)
    with lines.open("w", encoding="utf-8") as handle:
        for line in archive_lines(size):
            handle.write(line + "\n")
    env = {**os.environ, "LAYOUTSERVER_DATABASE_URL": url}
    try:
        subprocess.run([str(BIN / "layoutserver"), "db", "upgrade"], cwd=ROOT, env=env,
                       check=True)
        print(f"archive: importing {size:,} articles into {make_url(url).database}", flush=True)
        server_before = postgres_cpu(postgresql_port) if postgresql_port else None
        busy_before, load_before, started = busy_cpu(), os.getloadavg()[0], time.monotonic()
        process = subprocess.Popen([str(BIN / "layoutserver"), "content", "import", "--progress",
                                    str(lines)], cwd=ROOT, env=env)
        _pid, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.monotonic() - started
        if process.returncode != 0:
            raise BenchError(f"content import of the archive exited {process.returncode}")
        server = (None if server_before is None or postgresql_port is None
                  else postgres_cpu(postgresql_port) - server_before)
        return Import(
            articles=size, document_mb=lines.stat().st_size / 1e6, seconds=seconds,
            cpu_seconds=usage.ru_utime + usage.ru_stime, peak_rss_mb=usage.ru_maxrss / 1024,
            server_cpu_seconds=server,
            machine_busy_cores=(busy_cpu() - busy_before) / seconds,
            load_average=(load_before, os.getloadavg()[0]),
            at=datetime.now(UTC).isoformat(timespec="seconds"))
    finally:
        lines.unlink(missing_ok=True)


def postgres_cpu(port: int) -> float:
    """CPU seconds of the PostgreSQL server on ``port``: its postmaster, the backends that
    ended (reaped into the postmaster's children's time) and those still running."""
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if command[0].endswith(b"postgres") and str(port).encode() in command:
            master = entry.name
            break
    else:
        raise BenchError(f"no PostgreSQL server on port {port} among this machine's processes")
    total = sum(_stat(master)[11:15])  # utime, stime, cutime, cstime
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = _stat(entry.name)
            except OSError:
                continue
            if str(stat[1]) == master:
                total += stat[11] + stat[12]
    return total / tick
