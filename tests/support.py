"""Helpers shared by test modules (importable as ``support``: tests/ is on sys.path)."""

from __future__ import annotations

import ast
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event

SEED_SLUG = "east-turkistan-government-in-exile-condemns-china-pakistan-cooperation"
SEED_PATH = f"/pages/article/{SEED_SLUG}"
JSON = {"Accept": "application/json"}
DESKTOP_AGENT = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
                 "Chrome/126.0 Safari/537.36")
PHONE_AGENT = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148"
TABLET_AGENT = "Mozilla/5.0 (Linux; Android 14; SM-X710) AppleWebKit/537.36 Safari/537.36"
REPO = Path(__file__).resolve().parent.parent

#: The demo's settings (config/demo.toml), on a throwaway database.
DEMO_SETTINGS = {
    "LAYOUTS_DIR": str(REPO / "config" / "layouts"),
    "SITE_NAME": "layoutserver demo",
    "SITE_TIMEZONE": "America/New_York",
    "SITE_NOW": "2024-10-10T12:00:00",
    # Generous, so a loaded CI machine never turns a render into a fallback; the budget tests
    # set their own.
    "WIDGET_BUDGET_MS": 5000,
    # Tests flush the Redis counters themselves, and read versions on every request even on
    # PostgreSQL (a test may change content through a second app, as another host would).
    "ADS_FLUSH_SECONDS": 0,
    "VERSION_POLL_SECONDS": 0,
    # Tests write the traffic record themselves (TrafficRecorder.flush).
    "ADS_TRAFFIC_FLUSH_SECONDS": 0,
    # What a render stores is what most tests look at: every render is stored, so a page's
    # second request is a hit. The default's doorkeeper (2 with the in-process cache) has its
    # own tests (tests/render/test_admission.py).
    "CACHE_ADMIT_AFTER": 1,
}

#: An article layout with the article alone: every response of it is shared.
ARTICLE_ONLY = """\
subject = "article"

[[regions]]
name = "main"

[[regions.placements]]
widget = "article_body"
id = "article"
"""
#: An article layout with a shared widget and a per-request one (``test_per_request``).
PER_REQUEST = ARTICLE_ONLY + """
[[regions.placements]]
widget = "test_per_request"
id = "reader"
"""

TIMING_ENTRY = re.compile(r'([\w-]+);dur=[\d.]+;desc="\w+ ([\w-]+)"')


def imported_names(path: Path) -> set[str]:
    """The absolute module names ``path`` imports (``from a import b`` gives ``a`` and ``a.b``)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def timing_outcomes(response: Any) -> dict[str, str]:
    """Placement id -> outcome, read from Server-Timing (``id;dur=..;desc="widget outcome"``)."""
    found = TIMING_ENTRY.findall(response.headers["Server-Timing"])
    return {placement: outcome for placement, outcome in found if placement != "total"}


def trust(app: Any, *widgets: str) -> None:
    """Give ``widgets`` the record of fast renders that puts them in a page's batch."""
    from layoutserver.core import get_core
    from layoutserver.render.track import TRUST_AFTER

    track = get_core(app).renderer.track
    for name in widgets:
        for _ in range(TRUST_AFTER):
            track.record(name, 0.0)


#: The seed's five slots, filled by an ad widget of another package: one placement for the
#: first three, the built-in ad spot for the others.
OUTSIDE_AD_LAYOUT = (
    'subject = "article"\n\n[[regions]]\nname = "main"\n\n'
    '[[regions.placements]]\nwidget = "test_house_ad"\nid = "house"\n'
    'options = { slots = ["article-1", "article-2", "article-3"] }\n\n'
    + "".join(f'[[regions.placements]]\nwidget = "ad_spot"\nid = "ad-{code}"\n'
              f'options = {{ slot = "{code}" }}\n\n' for code in ("news-1", "news-2")))


def shared(ttl: int) -> str:
    """The Cache-Control of a shared response with ``ttl`` and the default stale allowances."""
    return f"public, max-age={ttl}, stale-while-revalidate=30, stale-if-error=86400"


def image_bytes(image_format: str, size: tuple[int, int] = (2, 2)) -> bytes:
    """A real image file of ``image_format`` (Pillow's name: PNG, JPEG, GIF, WEBP)."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, format=image_format)
    return out.getvalue()


@contextmanager
def json_log_lines(logger_name: str) -> Iterator[list[dict[str, Any]]]:
    """The lines ``logger_name`` logs inside the block, as the app's JSON log format writes
    them (request id included), parsed: the list is filled when the block ends."""
    import json
    import logging

    from layoutserver.logs import JsonFormatter, RequestIdFilter

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    logger = logging.getLogger(logger_name)
    logger.addHandler(handler)
    lines: list[dict[str, Any]] = []
    try:
        yield lines
    finally:
        logger.removeHandler(handler)
        lines.extend(json.loads(line) for line in stream.getvalue().splitlines())


@contextmanager
def statements_run(engine: Engine) -> Iterator[list[str]]:
    """The SQL statements run on ``engine`` meanwhile. SQLite's dialect writes ``LIMIT ?
    OFFSET ?`` for any limit: an offset of 0 skips nothing, and is left out of what is kept
    (any other offset fails here)."""
    found: list[str] = []

    def record(connection: Any, cursor: Any, statement: str, parameters: Any, *rest: Any
               ) -> None:
        if "OFFSET ?" in statement:
            assert parameters[-1] == 0, statement
            statement = statement.replace("OFFSET ?", "")
        found.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield found
    finally:
        event.remove(engine, "before_cursor_execute", record)


def import_peak(write: str, imports: str, call: str, url: str, path: Path, count: int
                ) -> tuple[int, int]:
    """In a fresh interpreter, run ``write`` (a script that writes a document of ``count`` items
    to ``path``, with ``url``, ``path`` and ``count`` set), then, after ``imports``, the
    streaming import ``call`` (an expression of ``database`` and ``path`` returning its
    progress) under tracemalloc: (peak bytes of the import, rows it created)."""
    import json
    import subprocess
    import sys
    import textwrap

    script = "\n".join((
        "import json, sys, tracemalloc",
        "from layoutserver.db import Database",
        imports,
        "url, path, count = sys.argv[1], sys.argv[2], int(sys.argv[3])",
        textwrap.dedent(write),
        "database = Database(url)",
        "tracemalloc.start()",
        f"done = {call}",
        'print(json.dumps({"peak": tracemalloc.get_traced_memory()[1],'
        ' "created": done.report.created}))',
    ))
    result = subprocess.run([sys.executable, "-c", script, url, str(path), str(count)],
                            capture_output=True, text=True, check=True, timeout=300)
    measured = json.loads(result.stdout.splitlines()[-1])
    return int(measured["peak"]), int(measured["created"])


# -- in Chromium: layout shifts and the room ad slots reserve ------------------------------------

#: The page's cumulative layout shift (CLS) without input, after half a second more.
LAYOUT_SHIFTS = """() => new Promise(done => {
  let total = 0;
  new PerformanceObserver(list => {
    for (const entry of list.getEntries()) { if (!entry.hadRecentInput) total += entry.value; }
  }).observe({type: 'layout-shift', buffered: true});
  setTimeout(() => done(total), 500);
})"""
#: Each empty ``.ad-slot``: where it is, its height, the grey box its room shows, its label.
SLOT_BOXES = """() => Object.fromEntries([...document.querySelectorAll('.ad-slot')].map(slot => {
  const rect = slot.getBoundingClientRect();
  const before = getComputedStyle(slot, '::before');
  const label = parseFloat(getComputedStyle(document.documentElement).fontSize) * 1.2;
  return [slot.dataset.slot, {top: rect.top + window.scrollY, height: rect.height,
    box: before.content === 'none' ? null : [parseFloat(before.width), parseFloat(before.height)],
    label: slot.classList.contains('ad-slot--labelled') ? label : 0,
    filled: slot.dataset.lsFilled || null}];
}))"""
ALL_FILLED = "() => [...document.querySelectorAll('.ad-slot')].every(s => s.dataset.lsFilled)"


def held_decisions(page: Any) -> list[Any]:
    """Holds every ``/ads/decide`` request of the page until released (``route.continue_``)."""
    held: list[Any] = []
    page.route("**/ads/decide*", lambda route: held.append(route))
    return held


# -- a layout with device-only placements, one inside the article's text, and a variant --------

#: A main region with the article's body (placement ``article``) first.
MAIN_WITH_ARTICLE = """\
[[regions]]
name = "main"

[[regions.placements]]
widget = "article_body"
id = "article"
"""
VARIANTS_BASE = 'subject = "article"\n\n' + MAIN_WITH_ARTICLE + """
[[regions.placements]]
widget = "ad_spot"
id = "ad-inline"
options = { slot = "article-2" }
inside = "article"
position = "after-paragraph-3"
devices = ["mobile"]

[[regions.placements]]
widget = "latest_news"
id = "desktop-news"
options = { count = 2, heading = "Desktop news" }
devices = ["desktop", "tablet"]

[[regions.placements]]
widget = "ad_spot"
id = "ad-bottom"
options = { slot = "article-3" }

[[regions]]
name = "aside"
label = "Must read"

[[regions.placements]]
widget = "must_read"
options = { list = "must-read" }
"""
#: The sports variant: another sidebar on sports' (and football's) pages.
VARIANTS_SPORTS = """
[[variants]]
name = "sports"
sections = ["sports", "football"]

[[variants.regions]]
name = "aside"

[[variants.regions.placements]]
widget = "latest_news"
id = "sports-news"
options = { count = 3, heading = "More sports", same_section = true }
"""
VARIANTS_LAYOUT = VARIANTS_BASE + VARIANTS_SPORTS

