"""The layout editor in the system Chromium (Playwright), one server: ad ops move the second ad
spot below Must read by drag and drop, add an inline ad spot after the third paragraph for
phones only (a mistyped position refused beside its field first), preview the draft, publish,
see it on the seed page, and roll back in one click. Screenshots go to docs/screenshots/."""

from __future__ import annotations

from typing import Any

import pytest
from consolesupport import LAPTOP, PHONE, SHOTS, shot, sign_in_page
from flask import Flask
from support import PHONE_AGENT, SEED_PATH, SEED_SLUG

from layoutserver.ads import config_service
from layoutserver.db import get_database

INLINE_SLOT = {"code": "article-inline", "name": "Article, inside the text",
               "sizes": {"mobile": ["320x50"]}}


@pytest.fixture
def site(console_app: Flask, live_server: Any) -> str:
    with get_database(console_app).session() as session:
        config_service.create(session, "test", "slot", INLINE_SLOT)
    return str(live_server(console_app).url)


def reader_html(browser: Any, url: str, phone: bool) -> str:
    """The page as a reader on a phone (or a laptop) gets it, in a window of its own."""
    context = (browser.new_context(viewport=PHONE, user_agent=PHONE_AGENT) if phone
               else browser.new_context(viewport=LAPTOP))
    try:
        opened = context.new_page()
        opened.goto(url)
        return str(opened.content())
    finally:
        context.close()


def placed(html: str, *ids: str) -> list[int]:
    return [html.find(f'data-placement="{pid}"') for pid in ids]


def test_ad_ops_arrange_publish_and_roll_back_a_layout(site: str, page: Any, browser: Any
                                                       ) -> None:
    problems: list[str] = []  # script errors, and what the CSP refused (not the 422 answers)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda message: problems.append(message.text)
            if message.type == "error" and "Failed to load resource" not in message.text
            else None)
    sign_in_page(page, site, "adops")
    page.click("nav >> text=Layouts")
    page.click("a[href='/admin/layouts/article']")
    page.wait_for_selector("h1:has-text('Layout')")

    # drag the second ad spot below Must read (the script submits the spot's move form)
    page.set_viewport_size({"width": 1280, "height": 2000})  # both in view: a real drag
    must_read = page.locator("#p-must-read")
    low = must_read.bounding_box()["height"] - 4  # its lower half: the drop goes below it
    page.locator("#p-ad-article-2").drag_to(must_read, target_position={"x": 20, "y": low})
    page.wait_for_selector("text=Moved ad-article-2 to aside, position 2.")
    page.set_viewport_size(LAPTOP)
    assert page.locator("ol[data-region='aside'] > li").evaluate_all(
        "items => items.map(item => item.dataset.placement)") == ["must-read", "ad-article-2"]

    # an inline ad spot after the third paragraph, on phones only
    page.select_option("#add-main", "ad_spot")
    page.click("section:has(#add-main) button:has-text('Add')")
    page.select_option("#f-to", "main:1")  # after the article
    page.fill("#f-id", "ad-inline")
    page.check("#f-devices input[value='mobile']")
    page.select_option("#f-inside", "article")
    page.fill("#f-position", "after-para-3")  # a mistake: refused beside the field
    page.fill("#f-options-slot", "article-inline")
    page.click("button:has-text('Add to the draft')")
    error = page.locator("#f-position-error")
    assert "offers no position 'after-para-3'" in error.inner_text()
    assert page.input_value("#f-options-slot") == "article-inline"  # nothing typed is lost
    page.evaluate("document.querySelector('#f-id').scrollIntoView()")
    page.screenshot(path=str(SHOTS / "layout-placement-error.png"))
    page.fill("#f-position", "after-paragraph-3")
    page.click("button:has-text('Add to the draft')")
    page.wait_for_selector("text=Added ad-inline (ad_spot) to main.")
    assert 'position = "after-paragraph-3"' in page.inner_text("#p-ad-inline")
    page.locator("#r-main").evaluate("heading => heading.scrollIntoView()")
    page.screenshot(path=str(SHOTS / "layout-editor.png"))

    # the draft previewed on the seed article, on a phone; nothing served yet
    page.fill("#slug", SEED_SLUG)
    page.select_option("#device", "mobile")
    page.click(".preview-form button:has-text('Preview')")
    frame = page.frame_locator("iframe.preview-frame")
    inline = frame.locator("[data-placement='article'] [data-placement='ad-inline']")
    assert "slot article-inline" in inline.inner_text()  # outlined inside the article's text
    inline.evaluate("box => box.scrollIntoView({block: 'center'})")
    page.screenshot(path=str(SHOTS / "layout-preview.png"))
    html = reader_html(browser, site + SEED_PATH, phone=True)
    assert placed(html, "ad-inline") == [-1]

    page.goto(f"{site}/admin/layouts/article")
    page.click("button:has-text('Publish the draft')")
    page.wait_for_selector("text=Published version 2")
    html = reader_html(browser, site + SEED_PATH, phone=True)
    body = html[html.index('class="article-body__text"'):]
    paragraphs = [body.find("</p>", 0)]
    for _ in range(2):
        paragraphs.append(body.find("</p>", paragraphs[-1] + 1))
    assert paragraphs[2] < body.index('data-placement="ad-inline"') < body.find(
        "</p>", paragraphs[2] + 1)
    must_read, second = placed(html, "must-read", "ad-article-2")
    assert 0 < must_read < second
    html = reader_html(browser, site + SEED_PATH, phone=False)
    assert placed(html, "ad-inline") == [-1]  # phones only
    shot(page, "layout-versions")

    # roll back: version 1 again, in one click
    page.click("button:has-text('Restore version 1')")
    page.wait_for_selector("text=Restored version 1 as version 3")
    html = reader_html(browser, site + SEED_PATH, phone=True)
    second, must_read = placed(html, "ad-article-2", "must-read")
    assert placed(html, "ad-inline") == [-1] and 0 < second < must_read
    assert not problems, problems  # no script error, no refusal by the CSP
