"""Stored XSS: every payload of a corpus (``xss_payloads.txt``) goes into every text field a
reader or a console user sees, stored through the admin API (input ``a``) and through the
import files run by ``layoutserver content import`` and ``layoutserver ads import`` (input
``i``: it must store exactly what the API stores), typed into every text field of every console
form (refused, so shown back with what was typed and the messages) and put in query strings
the console and the site show back (``c``, ``r``). Chromium then loads the pages readers see
(every hostile article and section page of the API's records, a sample of the imported ones,
the seed page, a region fragment, a widget, pages whose ad slots serve every hostile creative,
ads decided on the server and by ``ads.js``) and the console pages showing those values (every
list page, a sample of edit forms plus every one whose values show nowhere else, reports, page
preview with explain), and asserts that no payload ran and none left markup that could run.

A payload that runs says so: a dialog with its number (``alert(N)``), the page's flag
(``top.__xss = N``) or a request to ``/__xss/<input>_<field>_<N>`` on the test server
(recorded). Beside those, the DOM of every page and frame (bar the creatives' own frames) is
read: no ``on*`` attribute at all, no ``javascript:``, ``vbscript:`` or hostile ``data:`` URL,
no ``srcdoc`` but the creatives', no script or style carrying a payload, no URL a payload made;
and no raw response holds ESI or SSI markup or the product of a template expression
(``ZZTPL``).

HTML creatives run their script by design, inside ``<iframe sandbox srcdoc>`` without
``allow-same-origin`` or ``allow-modals`` (``layoutserver/ads/markup.py``, docs/ads.md): for
them the test asserts that nothing reaches the top page (no dialog, the top's flag untouched,
the site's cookie and DOM unreadable: a probe creative reports what it could read), and that
their script did run (their marker requests arrive), so the harness is seen to detect.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.cli import ScriptInfo
from flask.testing import FlaskClient
from support import REPO, SEED_PATH
from werkzeug.security import generate_password_hash

from layoutserver.ads import config_service as ads_service
from layoutserver.ads.config_import import import_ads_file
from layoutserver.ads.explain import MAX_SLOTS
from layoutserver.ads.markup import SANDBOX
from layoutserver.ads.schemas import MAX_KEYS
from layoutserver.auth.models import User
from layoutserver.auth.tokens import create_token
from layoutserver.cli import main
from layoutserver.content import service as content_service
from layoutserver.core import get_core
from layoutserver.db import get_database
from layoutserver.keyset import Window

PAYLOAD_FILE = Path(__file__).with_name("xss_payloads.txt")
SETTINGS = {"SECRET_KEY": "xss-corpus-secret", "ADS_SEED": 7}
PASSWORD = "correct horse battery"
MARKER_PATH = re.compile(r"^/__xss/(([a-z])_([a-z]+)_(\d+))$")
PROBE_PATH = re.compile(r"^/__probe/")
SIZE = "300x250"
PUBLISHED = datetime(2024, 10, 10, 10, 0, tzinfo=UTC)  # before SITE_NOW: the newest articles
EDIT_SAMPLE = 4
"""Edit forms loaded per kind: the lists show every record's name; an edit form shows each
value the same way (an input's value, a textarea)."""
CONSOLE_PATHS = ("articles", "authors", "sections", "editorial-lists", "advertisers",
                 "campaigns", "creatives", "slots", "line-items")


def corpus() -> list[str]:
    lines = PAYLOAD_FILE.read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line and not line.startswith("# ")]


PAYLOADS = corpus()


def expand(payload: str, tag: str, number: int) -> str:
    """The payload with its markers: the dialog and the flag say its number, the request its
    ``tag`` too."""
    return (payload.replace("XSSFLAG", f"top.__xss={number}")
            .replace("XSSURL", f"/__xss/{tag}")
            .replace("XSS", f"alert({number})")
            .replace("XTAG", str(number)))


def hostile(channel: str, field_code: str) -> list[str]:
    """Every payload, tagged for one field of one input path."""
    return [expand(payload, f"{channel}_{field_code}_{number}", number)
            for number, payload in enumerate(PAYLOADS, 1)]


def pack(texts: list[str], limit: int, separator: str = " ", prefix: str = "") -> list[str]:
    """The texts joined into as few values of at most ``limit`` characters as they fit in (a
    text longer than a value may be is left out)."""
    chunks: list[str] = []
    current = ""
    for text in texts:
        if len(prefix) + len(text) > limit:
            continue
        joined = f"{current}{separator}{text}" if current else prefix + text
        if len(joined) > limit:
            chunks.append(current)
            joined = prefix + text
        current = joined
    return [*chunks, current] if current else chunks


def url_safe(texts: list[str]) -> list[str]:
    """The texts a URL field accepts in its path or query (no space, no backslash)."""
    return [text for text in texts if not any(c.isspace() or c == "\\" for c in text)]


def at(values: list[str], index: int) -> str:
    return values[index % len(values)]


# The probe: an HTML creative that tries what the sandbox must stop and reports what it got.
PROBE_HTML = (
    "<script>var c='blocked',t='blocked',f='blocked';"
    "try{c=document.cookie||'empty'}catch(e){}"
    "try{t=top.document.title}catch(e){}"
    "try{top.__xss='probe';f='set'}catch(e){}"
    "try{alert('probe')}catch(e){}"
    "new Image().src='/__probe/'+encodeURIComponent(c)+'/'+encodeURIComponent(t)+'/'+f;"
    "</script>"
)
PROBE_BLOCKED = "/__probe/blocked/blocked/blocked"


@dataclass
class Records:
    """One input path's hostile records, in the import format (docs/content-format.md,
    docs/ads.md)."""

    channel: str
    content: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    ads: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def articles(self) -> list[str]:
        return [item["slug"] for item in self.content["articles"]]

    @property
    def sections(self) -> list[str]:
        return [item["slug"] for item in self.content["sections"]]

    @property
    def slots(self) -> list[str]:
        return [item["code"] for item in self.ads["slots"]]

    @property
    def client_slug(self) -> str:
        """The article with the most commas in its tags: ads.js must send them whole (the page
        writes them as a JSON array), or /ads/decide refuses them and no slot fills."""
        return max(self.content["articles"],
                   key=lambda item: ",".join(item["tags"]).count(","))["slug"]

    @property
    def walls(self) -> dict[str, list[str]]:
        """Page types whose only region holds an ad spot for each of some hostile slots (at
        most MAX_SLOTS a page), with those slots."""
        codes = self.slots
        return {f"adwall-{self.channel}{start}": codes[start:start + MAX_SLOTS]
                for start in range(0, len(codes), MAX_SLOTS)}


def records(channel: str) -> Records:
    def values(code: str, limit: int) -> list[str]:
        return pack(hostile(channel, code), limit, prefix=f"{channel}-{code} ")

    def urls(code: str, limit: int, prefix: str) -> list[str]:
        return pack(url_safe(hostile(channel, code)), limit, "", prefix)

    def groups(code: str, limit: int, size: int) -> list[list[str]]:
        items = [text for text in hostile(channel, code) if len(text) <= limit]
        return [items[start:start + size] for start in range(0, len(items), size)]

    found = Records(channel)
    section_names = values("sn", 200)
    sections = [{"slug": f"{channel}-xss-section-{i}", "name": name}
                for i, name in enumerate(section_names)]
    names, bios, avatars = values("an", 200), values("ab", 5000), urls("av", 500, "/avatar/")
    authors = [{"slug": f"{channel}-xss-author-{i}", "name": at(names, i), "bio": at(bios, i),
                "avatar_url": at(avatars, i)}
               for i in range(max(len(names), len(bios), len(avatars)))]
    titles, excerpts, bodies = values("ti", 500), values("ex", 2000), values("bo", 500_000)
    tags = groups("tg", 100, 50)
    count = max(len(titles), len(excerpts), len(bodies), len(tags), len(authors))
    articles = [{
        "slug": f"{channel}-xss-article-{i}", "title": at(titles, i),
        "excerpt": at(excerpts, i), "body_html": at(bodies, i), "tags": tags[i % len(tags)],
        "section": sections[i % len(sections)]["slug"], "author": authors[i]["slug"]
        if i < len(authors) else authors[i % len(authors)]["slug"],
        "published_at": (PUBLISHED - timedelta(minutes=i + (0 if channel == "a" else 100))
                         ).isoformat(),
    } for i in range(count)]
    lists = [{"name": f"{channel}-xss-list-{i}", "title": title,
              "articles": [article["slug"] for article in articles][:100]}
             for i, title in enumerate(values("lt", 200))]
    found.content = {"sections": sections, "authors": authors, "articles": articles,
                     "editorial_lists": lists}

    advertisers = [{"name": name} for name in values("ad", 200)]
    campaigns = [{"name": name, "advertiser": advertisers[i % len(advertisers)]["name"]}
                 for i, name in enumerate(values("cp", 200))]
    texts, alts, htmls = values("ct", 500), values("ca", 500), values("ch", 100_000)
    images = urls("iu", 2000, "/img/")
    clicks = urls("cu", 2000, "https://click.example.com/?")
    bodies_by_kind: list[dict[str, str]] = (
        [{"kind": "text", "text": text} for text in texts]
        + [{"kind": "image", "alt": at(alts, i), "image_url": at(images, i)}
           for i in range(max(len(alts), len(images)))]
        + [{"kind": "html", "html": html} for html in htmls])
    creative_names = values("cn", 200)
    creatives = [{
        "name": creative_names[i] if i < len(creative_names) else f"{channel}-xss-creative-{i}",
        "advertiser": advertisers[i % len(advertisers)]["name"], "size": SIZE,
        "click_url": at(clicks, i), **bodies_by_kind[i % len(bodies_by_kind)],
    } for i in range(max(len(bodies_by_kind), len(creative_names), len(clicks)))]
    slot_names, labels = values("sm", 200), values("sl", 200)
    sizes = {device: [SIZE] for device in ("desktop", "tablet", "mobile")}
    slots = [{"code": f"{channel}-xss-{i}", "name": at(slot_names, i), "label": at(labels, i),
              "sizes": sizes}
             for i in range(max(len(creatives), len(slot_names), len(labels)))]
    item_names, exclusions = values("ln", 200), groups("lx", 200, 10)
    line_item = {"tier": "sponsorship", "priority": 1, "start": "2024-10-01T00:00:00",
                 "end": "2024-11-01T00:00:00"}
    line_items = [{
        **line_item,
        "name": item_names[i] if i < len(item_names) else f"{channel}-xss-line-item-{i}",
        "campaign": campaigns[i % len(campaigns)]["name"],
        "targeting": {"slots": [slots[i]["code"]] if i < len(slots) else []},
        "status": "active" if i < len(slots) else "paused",
        "creatives": [creatives[i % len(creatives)]["name"]],
        "exclusion_labels": exclusions[i] if i < len(exclusions) else [],
    } for i in range(max(len(slots), len(item_names)))]
    # Targeting never serves on the hostile pages: these show in the console only. A line item
    # takes at most MAX_KEYS key-value keys: the keys are spread over as many as they need.
    keys = [key for key in hostile(channel, "tk") if len(key) <= 100]
    for number, start in enumerate(range(0, len(keys), MAX_KEYS)):
        targeting: dict[str, Any] = {"key_values": {key: ["x"]
                                                    for key in keys[start:start + MAX_KEYS]}}
        if number == 0:
            targeting.update({
                "page_types": [t for t in hostile(channel, "tp") if len(t) <= 200],
                "sections": [t for t in hostile(channel, "ts") if len(t) <= 200],
                "tags": [t for t in hostile(channel, "tt") if len(t) <= 200],
                "paths": ["/" + path for path in url_safe(hostile(channel, "tq"))
                          if len(path) < 500]})
        line_items.append({
            **line_item, "name": f"{channel}-xss-targeting" + (f"-{number}" if number else ""),
            "campaign": campaigns[0]["name"], "status": "paused",
            "creatives": [creatives[0]["name"]], "targeting": targeting})
    if channel == "a":
        creatives.append({"name": "a-xss-probe", "advertiser": advertisers[0]["name"],
                          "kind": "html", "size": SIZE, "html": PROBE_HTML,
                          "click_url": "https://click.example.com/probe"})
        slots.append({"code": "a-xss-probe", "name": "probe", "sizes": sizes})
        line_items.append({**line_item, "name": "a-xss-probe", "status": "active",
                           "campaign": campaigns[0]["name"], "creatives": ["a-xss-probe"],
                           "targeting": {"slots": ["a-xss-probe"]}})
    found.ads = {"advertisers": advertisers, "campaigns": campaigns, "creatives": creatives,
                 "slots": slots, "line_items": line_items}
    return found


BY_API, BY_IMPORT = records("a"), records("i")


def adwall(codes: list[str]) -> str:
    placements = "".join(
        f'\n[[regions.placements]]\nwidget = "ad_spot"\nid = "ad-{code}"\n'
        f'options = {{ slot = "{code}" }}\n' for code in codes)
    return f'subject = "article"\ntitle = "Ad wall"\n\n[[regions]]\nname = "main"\n{placements}'


def layouts() -> dict[str, str]:
    project = REPO / "config" / "layouts"
    return {"article": (project / "article.toml").read_text(),
            "section": (project / "section.toml").read_text(),
            **{page_type: adwall(codes) for found in (BY_API, BY_IMPORT)
               for page_type, codes in found.walls.items()}}


# --- storing: the API, the import files through the CLI --------------------------------------

API_PATHS = {"sections": "sections", "authors": "authors", "articles": "articles",
             "editorial_lists": "editorial-lists", "advertisers": "advertisers",
             "campaigns": "campaigns", "creatives": "creatives", "slots": "ad-slots",
             "line_items": "line-items"}


def store_by_api(client: FlaskClient, token: str, found: Records) -> None:
    auth = {"Authorization": f"Bearer {token}"}
    for document in (found.content, found.ads):
        for kind in ("sections", "authors", "articles", "editorial_lists", "advertisers",
                     "campaigns", "creatives", "slots", "line_items"):
            for item in document.get(kind, []):
                answer = client.post(f"/api/v1/{API_PATHS[kind]}", json=item, headers=auth)
                assert answer.status_code == 201, (kind, answer.get_json())


def pick_must_read(client: FlaskClient, token: str, slugs: list[str]) -> None:
    """Every page's "Must read" list: the hostile articles, under a hostile title."""
    auth = {"Authorization": f"Bearer {token}"}
    current = client.get("/api/v1/editorial-lists/must-read", headers=auth)
    answer = client.patch("/api/v1/editorial-lists/must-read", headers={
        **auth, "If-Match": current.headers["ETag"]}, json={
        "title": pack(hostile("a", "mr"), 200)[0], "articles": slugs[:20]})
    assert answer.status_code == 200, answer.get_json()


SERVICE_KINDS = {"sections": "section", "authors": "author", "articles": "article",
                 "editorial_lists": "editorial_list", "advertisers": "advertiser",
                 "campaigns": "campaign", "creatives": "creative", "slots": "slot",
                 "line_items": "line_item"}
CHANNEL_MARKS = re.compile(r"\bi(?=-xss-|-[a-z]{2} )|(?<=/__xss/)i(?=_)")


def imported_as_by_api(app: Flask) -> None:
    """The import stored each value exactly as the API stored the same value (article HTML
    sanitized alike): what the browser sees of the API's records it would see of these."""
    def shown(service: Any, kind: str, channel: str) -> list[str]:
        rows = service.list_items(session, kind, Window(1000)).items
        found = []
        for row in rows:
            text = json.dumps({k: v for k, v in row.items() if k != "published_at"},
                              sort_keys=True, default=str)
            if f"{channel}-xss-" in text or f"/__xss/{channel}_" in text:
                found.append(CHANNEL_MARKS.sub("a", text))
        return sorted(found)

    with get_database(app).session() as session:
        for document, service in (("content", content_service), ("ads", ads_service)):
            for kind in getattr(BY_IMPORT, document):
                name = SERVICE_KINDS[kind]
                by_import, by_api = shown(service, name, "i"), shown(service, name, "a")
                # the probe and the "Must read" list are the API's alone
                by_api = [row for row in by_api if not re.search("a-xss-probe|/__xss/a_mr_", row)]
                assert by_import and by_import == by_api, kind


def store_by_import(app: Flask, found: Records, folder: Path) -> None:
    info = ScriptInfo(create_app=lambda: app)
    for command, document in (("content", found.content), ("ads", found.ads)):
        path = folder / f"{command}.json"
        path.write_text(json.dumps(document), encoding="utf-8")
        result = CliRunner().invoke(main, [command, "import", str(path)], obj=info)
        assert result.exit_code == 0, result.output
        assert "created" in result.output


# --- what the browser sees -------------------------------------------------------------------

IS_CREATIVE_FRAME = f"""el => el.tagName === 'IFRAME' && el.classList.contains('ad-spot__frame')
    && el.getAttribute('sandbox') === '{SANDBOX}'"""

DOM_CHECK = r"""() => {
  const bad = [];
  const say = (el, what) =>
    bad.push(('<' + el.tagName.toLowerCase() + '> ' + what).slice(0, 240));
  if (window.__xss !== undefined) bad.push('the page flag is set: ' + window.__xss);
  const urlish = new RegExp('^(href|src|action|formaction|data|poster|background|srcset|'
    + 'xlink:href|values|to|from|by|codebase|dynsrc|lowsrc|ping|cite|content)$');
  for (const el of document.querySelectorAll('*')) {
    const tag = el.tagName.toLowerCase();
    const creative = tag === 'iframe' && el.classList.contains('ad-spot__frame')
      && el.getAttribute('sandbox') === 'SANDBOX';
    if (tag.includes(':')) say(el, 'an element of a namespace prefix (ESI?)');
    // Structured data is a data block the browser never runs; it holds a payload as JSON
    // text (its < > & escaped), which is checked to parse and to stay one element.
    let data = false;
    if (tag === 'script' && el.getAttribute('type') === 'application/ld+json') {
      try { JSON.parse(el.textContent); data = !/[<>]/.test(el.textContent); } catch (e) {}
    }
    if ((tag === 'script' || tag === 'style') && !data && /alert\(|__xss/.test(el.textContent))
      say(el, 'with payload content: ' + el.textContent);
    // a <meta name|property> content is text (a description, a title), never a URL to follow;
    // a refresh (http-equiv) is
    const text = tag === 'meta' && !el.hasAttribute('http-equiv');
    for (const a of el.attributes) {
      const name = a.name.toLowerCase(), value = a.value;
      const bare = value.replace(/[\s\u0000-\u001f]/g, '').toLowerCase();
      if (name.startsWith('on')) say(el, 'a handler ' + name + '=' + value);
      const script = /^([\d.]*;url=)?(javascript|vbscript):/.test(bare)
        || /^data:(text\/html|image\/svg)/.test(bare)
        || (/^data:/.test(bare) && /alert\(|__xss/.test(bare));
      if (urlish.test(name) && script && !(text && name === 'content'))
        say(el, 'a script URL ' + name + '=' + value);
      if (name === 'srcdoc' && !creative) say(el, 'a srcdoc not of a creative');
      if (name === 'style' && value.includes('__xss'))
        say(el, 'a style from a payload: ' + value);
      const shown = ['value', 'title', 'alt'].includes(name) || name.startsWith('data-')
        || (text && name === 'content');
      if (!creative && !shown && /^([\d.]*;url=)?\/__xss\//.test(bare))
        say(el, 'a URL made by a payload ' + name + '=' + value);
    }
  }
  if (document.documentElement.outerHTML.includes('ZZTPL')) bad.push('a template expression ran');
  return bad;
}""".replace("SANDBOX", SANDBOX)

RAW_NEEDLES = ("<esi:", "<!--esi", "<!--#", "ZZTPL")


@dataclass
class Watch:
    """What the pages did: dialogs, and what each inspection found."""

    dialogs: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    loads: int = 0

    def attach(self, page: Any) -> None:
        def on_dialog(dialog: Any) -> None:
            self.dialogs.append(f"{page.url}: {dialog.type} {dialog.message}")
            dialog.dismiss()

        page.on("dialog", on_dialog)


def in_creative(frame: Any) -> bool:
    while frame.parent_frame is not None:
        try:
            if frame.frame_element().evaluate(IS_CREATIVE_FRAME):
                return True
        except Exception:  # a frame gone meanwhile: not one to read
            return True
        frame = frame.parent_frame
    return False


def inspect(page: Any, watch: Watch, where: str) -> None:
    for frame in list(page.frames):
        if frame.is_detached() or in_creative(frame):
            continue
        try:
            found = frame.evaluate(DOM_CHECK)
        except Exception as error:  # the document went away while read: navigated
            found = [f"not readable: {error}"[:240]]
        for problem in found:
            watch.problems.append(f"{where} (frame {frame.url[:100]}): {problem}")


def visit(page: Any, watch: Watch, url: str, where: str, status: int = 200,
          settle_ms: int = 0) -> None:
    try:
        response = page.goto(url, wait_until="load")
    except Exception as error:  # stuck, e.g. in a payload's dialogs: say what ran
        raise AssertionError(f"{where}: {error}\ndialogs: {watch.dialogs[:10]}\n"
                             f"found: {watch.problems[:10]}") from error
    watch.loads += 1
    assert response is not None and response.status == status, (where, response and
                                                               response.status)
    try:
        body = response.text()
    except Exception:  # gone: the page navigated away by itself
        watch.problems.append(f"{where}: the page left for {page.url}")
        return
    for needle in RAW_NEEDLES:
        if needle in body:
            watch.problems.append(f"{where}: the response holds {needle!r}")
    if settle_ms:
        page.wait_for_timeout(settle_ms)
    if page.url != response.url:
        watch.problems.append(f"{where}: the page left for {page.url}")
    inspect(page, watch, where)


def all_filled(filled: Any, count: int) -> bool:
    return bool(filled.count() == count)


def wait_for(check: Callable[[], bool], seconds: float = 10) -> bool:
    give_up = time.monotonic() + seconds
    while not check():
        if time.monotonic() > give_up:
            return False
        time.sleep(0.05)
    return True


# --- the test --------------------------------------------------------------------------------


@pytest.fixture
def app(make_app: Callable[..., Flask], tmp_path: Path) -> Flask:
    app = make_app(layouts=layouts(), settings=SETTINGS)
    import_ads_file(get_database(app), REPO / "layoutserver" / "demo" / "ads.json",
                    get_core(app).timezone)
    with get_database(app).session() as session:
        session.add(User(name="ops", role="admin", created_at=datetime.now(UTC),
                         password_hash=generate_password_hash(PASSWORD,
                                                              method="pbkdf2:sha256:1000")))
        token = create_token(session, "xss-token", "admin")
    store_by_import(app, BY_IMPORT, tmp_path)
    client = app.test_client()
    store_by_api(client, token, BY_API)
    pick_must_read(client, token, BY_API.articles + BY_IMPORT.articles)
    imported_as_by_api(app)
    return app


@pytest.fixture
def contexts(browser: Any) -> Iterator[Callable[[], Any]]:
    opened: list[Any] = []

    def new() -> Any:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        opened.append(context)
        return context

    yield new
    for context in opened:
        context.close()


def test_the_corpus_through_every_input_runs_on_no_page(
        app: Flask, live_server: Any, contexts: Callable[[], Any]) -> None:
    assert len(PAYLOADS) >= 80 and len(set(PAYLOADS)) == len(PAYLOADS)
    server = live_server(app)
    site = server.url
    watch = Watch()

    reader = contexts()
    reader.add_cookies([{"name": "reader", "value": "secret", "url": site}])
    page = reader.new_page()
    page.set_default_timeout(15_000)
    watch.attach(page)
    harness_detects(page, watch, site, server.requests)

    # The pages readers see, ads decided on the server, then by ads.js in the browser: every
    # record stored through the API; of those imported (stored as the API stores them: see
    # imported_as_by_api), a sample and every ad.
    for found, sample in ((BY_API, None), (BY_IMPORT, 1)):
        for slug in found.articles[:sample]:
            visit(page, watch, f"{site}/pages/article/{slug}", f"article {slug}")
        for slug in found.sections[:sample]:
            visit(page, watch, f"{site}/pages/section/{slug}", f"section {slug}")
        first = found.articles[0]
        visit(page, watch, f"{site}/fragments/article/{first}/main", f"fragment {first}")
        visit(page, watch, f"{site}/widgets/article/{first}/author", f"widget {first}")
        for page_type, codes in found.walls.items():
            visit(page, watch, f"{site}/pages/{page_type}/{first}", page_type, settle_ms=300)
            assert page.locator(".ad-spot").count() == len(codes), page_type
    assert wait_for(lambda: PROBE_BLOCKED in server.requests), [
        path for path in server.requests if PROBE_PATH.match(path)]
    visit(page, watch, site + SEED_PATH, "the seed page")
    get_core(app).config["ADS_DELIVERY"] = "client"
    try:
        for found in (BY_API,):
            for page_type, codes in found.walls.items():
                page.goto(f"{site}/pages/{page_type}/{found.client_slug}")
                filled = page.locator("[data-ls-filled='ad']")
                assert wait_for(partial(all_filled, filled, len(codes))), page_type
                page.wait_for_timeout(300)
                inspect(page, watch, f"{page_type} (ads.js)")
        visit(page, watch, site + SEED_PATH, "the seed page (ads.js)")
    finally:
        get_core(app).config["ADS_DELIVERY"] = "server"
    assert len(server.requests) and all(
        "/__probe/" not in path or path == PROBE_BLOCKED for path in server.requests)

    # The console: signed in, every list, edit form, report and preview showing the values.
    console = contexts().new_page()
    console.set_default_timeout(15_000)
    watch.attach(console)
    console.goto(f"{site}/admin/sign-in")
    console.fill("#name", "ops")
    console.fill("#password", PASSWORD)
    console.click("button:has-text('Sign in')")
    console.wait_for_selector("text=Hello, ops")
    console_pages(console, watch, site)
    console_forms(console, watch, site)
    reflected(console, watch, site)

    # Signed out: the sign-in form shows back the name typed.
    stranger = contexts().new_page()
    watch.attach(stranger)
    stranger.goto(f"{site}/admin/sign-in?next={quote('/admin/' + ' '.join(hostile('r', 'nx')))}")
    stranger.fill("#name", " ".join(pack(hostile("r", "si"), 2000)[:1]))
    stranger.fill("#password", "wrong")
    stranger.click("button:has-text('Sign in')")
    stranger.wait_for_load_state()
    inspect(stranger, watch, "sign-in refused")

    ran = [match.group(1) for path in server.requests if (match := MARKER_PATH.match(path))]
    by_creatives = [tag for tag in ran if tag.split("_")[1] == "ch"]
    assert by_creatives, "no HTML creative's script ran: the harness cannot see a payload run"
    assert watch.dialogs == []
    assert sorted(set(ran) - set(by_creatives)) == []
    assert watch.problems == [], "\n".join(watch.problems)
    assert watch.loads > 50


def harness_detects(page: Any, watch: Watch, site: str, requests: list[str]) -> None:
    """Each way of seeing a payload run sees one, on a page without the site's policy."""
    page.goto(f"{site}/__harness")  # a 404 page of the site: its origin, for the request
    page.set_content(expand(
        "<img src=x onerror=XSS><img src=x onerror=XSSFLAG><iframe src=XSSURL></iframe>",
        "h_selftest_0", 0))
    assert wait_for(lambda: bool(watch.dialogs) and "/__xss/h_selftest_0" in requests)
    found = page.evaluate(DOM_CHECK)
    assert any("flag" in problem for problem in found)
    assert any("a handler onerror" in problem for problem in found)
    watch.dialogs.clear()
    requests.remove("/__xss/h_selftest_0")


def console_pages(page: Any, watch: Watch, site: str) -> None:
    for path in CONSOLE_PATHS:
        visit(page, watch, f"{site}/admin/{path}", f"console {path}")
        number = 1
        while (following := page.locator("nav.pager a[rel=next]")).count():
            number += 1
            visit(page, watch, f"{site}{following.get_attribute('href')}",
                  f"console {path} {number}")
    keys = {"articles": "slug", "authors": "slug", "sections": "slug",
            "editorial-lists": "name", "advertisers": "name", "campaigns": "name",
            "creatives": "name", "slots": "code", "line-items": "name"}
    documents = {"articles": "articles", "authors": "authors", "sections": "sections",
                 "editorial-lists": "editorial_lists", "advertisers": "advertisers",
                 "campaigns": "campaigns", "creatives": "creatives", "slots": "slots",
                 "line-items": "line_items"}
    for found in (BY_API,):
        for path in CONSOLE_PATHS:
            kind = documents[path]
            items = (found.content if kind in found.content else found.ads)[kind]
            # and every line item carrying exclusion labels or targeting (edit form only)
            for item in items[:EDIT_SAMPLE] + [
                    item for item in items[EDIT_SAMPLE:] if item.get("exclusion_labels")
                    or len(item.get("targeting", {})) > 1]:
                key = quote(str(item[keys[path]]), safe="")
                visit(page, watch, f"{site}/admin/{path}/edit/{key}", f"console {path} edit")
    visit(page, watch, f"{site}/admin/editorial-lists/edit/must-read", "must-read")
    visit(page, watch, f"{site}/admin/reports", "console reports")
    for found in (BY_API, BY_IMPORT):
        served = found.ads["line_items"][0]["name"]
        visit(page, watch, f"{site}/admin/reports/line-item/{quote(served, safe='')}",
              "console line item report")
        for page_type in ("article", *found.walls):
            query = urlencode({"page_type": page_type, "slug": found.articles[0]})
            visit(page, watch, f"{site}/admin/preview?{query}", f"console preview {page_type}")
            frame = page.frame_locator("iframe.preview-frame")
            frame.locator(".pv-summary").wait_for()
            inspect(page, watch, f"console preview {page_type} (framed)")


def console_forms(page: Any, watch: Watch, site: str) -> None:
    """Every text field of every new form typed full of payloads; each form is refused (too
    long, a bad key) and shown again with what was typed and the messages."""
    for path in CONSOLE_PATHS:
        page.goto(f"{site}/admin/{path}/new")
        inputs = page.locator("form.form input[type='text'], form.form textarea")
        for index in range(inputs.count()):
            name = inputs.nth(index).get_attribute("name") or ""
            code = re.sub(r"[^a-z]", "", name.lower())[:12] or "x"
            inputs.nth(index).fill(" ".join(hostile("c", code)))
        page.click("form.form button:has-text('Create')")
        page.wait_for_load_state()
        watch.loads += 1
        assert page.locator("[role='alert']").count() >= 1, path
        inspect(page, watch, f"console {path} refused")


def reflected(page: Any, watch: Watch, site: str) -> None:
    """Values in query strings the console shows back."""
    every = " ".join(hostile("r", "q"))
    visit(page, watch, f"{site}/admin/preview?{urlencode({'page_type': 'article', 'slug': every})}",
          "console preview of a hostile slug")
    page.frame_locator("iframe.preview-frame").locator("body").wait_for()
    inspect(page, watch, "console preview of a hostile slug (framed)")
    for path, name in (("line-items", "name"), ("creatives", "html"), ("articles", "title")):
        visit(page, watch, f"{site}/admin/{path}/new?{urlencode({name: every})}",
              f"console {path} prefilled")
    visit(page, watch, f"{site}/admin/campaigns?{urlencode({'advertiser': every})}",
          "console campaigns filtered")
    visit(page, watch, f"{site}/pages/article/{quote(every, safe='')}", "site 404", status=404)
