"""Accessibility: axe-core (npm, installed by ``make test`` under ``.cache/node``) run in
Chromium on the seed article, a section front and the console (signed out and signed in) finds
no violation of impact serious or critical; the lesser ones are printed. And what axe cannot
judge alone: the landmarks a layout's regions make, one ``h1`` per page, the skip link as the
first Tab stop, the ad label's contrast."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from support import REPO, SEED_PATH, SEED_SLUG
from werkzeug.security import generate_password_hash

# The ads tables: Database.create_all makes the tables of the models imported so far, and run
# alone this module imports none of the ads' (the console's home reads ads_state).
import layoutserver.ads.models  # noqa: F401
from layoutserver.ads.config_import import import_ads_file
from layoutserver.auth.models import User
from layoutserver.core import get_core
from layoutserver.db import get_database

DEMO_ADS = REPO / "layoutserver" / "demo" / "ads.json"
AXE = REPO / ".cache" / "node" / "node_modules" / "axe-core" / "axe.min.js"
SECTION_PATH = "/pages/section/world"
PASSWORD = "correct horse battery"
SERIOUS = ("serious", "critical")
# WCAG 2.x A and AA, and axe's best practices (landmarks, one main, headings, skip links).
RUN_AXE = """async () => {
  const result = await axe.run(document, {resultTypes: ['violations'],
      runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa',
                                      'wcag22aa', 'best-practice']}});
  return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.map(n => n.target.join(' '))}));
}"""


def axe_source() -> str:
    """axe-core's script; a skip when it is missing, or a failure under ``make test``
    (``LAYOUTSERVER_TEST_EDGE=required``: its ``node`` target installs it)."""
    if not AXE.is_file():
        message = (f"axe-core is not installed ({AXE}): run "
                   "`npm install --prefix .cache/node axe-core@4` (make test does)")
        if os.environ.get("LAYOUTSERVER_TEST_EDGE") == "required":
            pytest.fail(message)
        pytest.skip(message)
    return Path(AXE).read_text()


def with_ads_and_a_user(app: Flask) -> None:
    """The demo's ad configuration (its five slots serve, labels and all) and a console user."""
    import_ads_file(get_database(app), DEMO_ADS, get_core(app).timezone)
    with get_database(app).session() as session:
        session.add(User(name="ops", role="admin", created_at=datetime.now(UTC),
                         password_hash=generate_password_hash(PASSWORD,
                                                              method="pbkdf2:sha256:1000")))


def audit(page: Any, source: str) -> list[dict[str, Any]]:
    page.add_script_tag(content=source)
    violations: list[dict[str, Any]] = page.evaluate(RUN_AXE)
    return violations


def test_axe_finds_nothing_serious_on_the_site_and_the_console(
        make_app: Callable[..., Flask], live_server: Any, browser: Any) -> None:
    source = axe_source()
    app = make_app(settings={"SECRET_KEY": "a11y-secret"})
    with_ads_and_a_user(app)
    server = live_server(app)
    # bypass_csp for the audit only: the site's and the console's Content-Security-Policy
    # (rightly) refuse the inline script that injects axe-core. tests/security checks the
    # policies themselves in a context that does not bypass them.
    context = browser.new_context(bypass_csp=True, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    found: dict[str, list[dict[str, Any]]] = {}

    def check(name: str, path: str) -> None:
        page.goto(server.url + path)
        page.wait_for_load_state("load")
        found[name] = audit(page, source)

    check("seed article", SEED_PATH)
    check("section front", SECTION_PATH)
    check("console sign-in", "/admin/sign-in")
    page.fill("#name", "ops")
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_selector("text=Hello, ops")
    check("console home", "/admin/")
    check("console list", "/admin/articles")
    check("console form", "/admin/articles/new")
    check("console reports", "/admin/reports")
    check("console preview", f"/admin/preview?page_type=article&slug={SEED_SLUG}")
    context.close()
    for name, violations in found.items():
        for violation in violations:
            print(f"{name}: {violation['impact']} {violation['id']} ({violation['help']}): "
                  f"{len(violation['nodes'])} node(s) {violation['nodes'][:3]}")
    serious = {name: [v for v in violations if v["impact"] in SERIOUS]
               for name, violations in found.items()}
    assert {name: v for name, v in serious.items() if v} == {}, json.dumps(serious, indent=1)


class Outline(HTMLParser):
    """A page's landmarks (element, class, id, aria-label), its h1s, and its first element
    in the body."""

    LANDMARKS = ("header", "main", "aside", "footer", "nav")

    def __init__(self, html: str) -> None:
        super().__init__()
        self.landmarks: list[tuple[str, str, str | None, str | None]] = []
        self.h1 = 0
        self.first_in_body: tuple[str, dict[str, str | None]] | None = None
        self._in_body = False
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if self._in_body and self.first_in_body is None:
            self.first_in_body = (tag, values)
        self._in_body = self._in_body or tag == "body"
        if tag in self.LANDMARKS:
            self.landmarks.append((tag, values.get("class") or "", values.get("id"),
                                   values.get("aria-label")))
        self.h1 += tag == "h1"


def test_regions_are_landmarks_with_one_h1_and_a_skip_link_first(demo_client: Any) -> None:
    region = "ls-region ls-region--{0}"
    for path in (SEED_PATH, SECTION_PATH, "/pages/section/no-such-section"):
        outline = Outline(demo_client.get(path).get_data(as_text=True))
        assert outline.h1 == 1, path
        assert outline.first_in_body == ("a", {"class": "ls-skip", "href": "#main"}), path
        assert [(tag, id_) for tag, _, id_, _ in outline.landmarks].count(("main", "main")) == 1
    for path in (SEED_PATH, SECTION_PATH):
        outline = Outline(demo_client.get(path).get_data(as_text=True))
        assert outline.landmarks == [("header", region.format("header"), None, None),
                                     ("main", region.format("main"), "main", None),
                                     ("aside", region.format("aside"), None, "Must read")]
    aside = demo_client.get("/fragments/section/world/aside").get_data(as_text=True)
    assert aside.startswith('<aside class="ls-region ls-region--aside" data-region="aside" '
                            'aria-label="Must read">')


def luminance(rgb: str) -> float:
    """The relative luminance of a computed ``rgb(r, g, b)`` colour (WCAG 2)."""
    channels = [int(value) / 255 for value in re.findall(r"\d+", rgb)[:3]]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(foreground: str, background: str) -> float:
    lighter, darker = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


LABEL_STYLE = """() => {
  const label = document.querySelector('.ad-spot__label');
  const style = getComputedStyle(label);
  return [label.textContent, style.color, style.fontSize, style.fontWeight,
          getComputedStyle(document.body).backgroundColor];
}"""
FOCUSED = """() => {
  const el = document.activeElement, box = el.getBoundingClientRect();
  return [el.className, el.textContent, box.top, box.height,
          Boolean(el.closest('main'))];
}"""


def test_in_chromium_the_skip_link_is_the_first_tab_stop_and_ad_labels_are_legible(
        make_app: Callable[..., Flask], live_server: Any, browser: Any) -> None:
    app = make_app()
    with_ads_and_a_user(app)
    server = live_server(app)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(server.url + SEED_PATH)
    label, color, size, weight, background = page.evaluate(LABEL_STYLE)
    assert label == "- Advertisement -"
    # Small text (under 18.66 px bold, 24 px otherwise): WCAG AA asks 4.5:1.
    assert float(size.removesuffix("px")) >= 12 and int(weight) < 700
    assert contrast(color, background) >= 4.5, (color, background)
    assert page.evaluate("() => document.activeElement === document.body")  # nothing yet
    hidden = page.evaluate("() => document.querySelector('.ls-skip').getBoundingClientRect()"
                           ".bottom")
    assert hidden <= 0  # out of sight until focused
    page.keyboard.press("Tab")
    name, text, top, height, _ = page.evaluate(FOCUSED)
    assert (name, text) == ("ls-skip", "Skip to content")
    assert top >= 0 and height > 0  # shown while it has focus
    page.keyboard.press("Enter")
    assert page.evaluate("() => location.hash") == "#main"
    page.keyboard.press("Tab")
    assert page.evaluate(FOCUSED)[4], "the Tab after the skip link lands inside <main>"
    context.close()
