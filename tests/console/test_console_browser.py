"""The console in the system Chromium (Playwright): an ad ops user sets up a campaign that
serves on the seed page, sees its impression in the report; a refused field, a forged post and
a viewer. Screenshots of the main screens go to docs/screenshots/ (shown in the README)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from consolesupport import LAPTOP, PHONE, SHOTS, shot
from consolesupport import sign_in_page as sign_in
from flask import Flask
from support import SEED_PATH, SEED_SLUG

AD_TEXT = "Spring sale at Tailwind Gardens"


@pytest.fixture
def server(console_app: Flask, live_server: Any) -> Any:
    return live_server(console_app)


@pytest.fixture
def site(server: Any) -> str:
    return str(server.url)


def submit(page: Any, label: str = "Create") -> None:
    page.click(f"form.form button:has-text('{label}')")
    page.wait_for_load_state()


def test_an_ad_ops_user_sets_up_a_campaign_that_serves_and_is_reported(
    site: str, page: Any, browser: Any
) -> None:
    fetched: list[str] = []
    page.context.on("request", lambda request: fetched.append(request.url))
    page.goto(f"{site}/admin/")
    assert "/admin/sign-in" in page.url
    shot(page, "sign-in")
    sign_in(page, site, "adops")

    page.goto(f"{site}/admin/advertisers/new")
    page.fill("#f-name", "Tailwind Gardens")
    submit(page)
    page.goto(f"{site}/admin/campaigns/new")
    page.fill("#f-name", "Tailwind spring")
    page.select_option("#f-advertiser", "Tailwind Gardens")
    submit(page)

    page.goto(f"{site}/admin/creatives/new")
    page.fill("#f-name", "tailwind-rectangle")
    page.select_option("#f-advertiser", "Tailwind Gardens")
    page.select_option("#f-kind", "text")
    page.fill("#f-size", "300 by 250")  # a mistake: refused beside the field
    page.fill("#f-click-url", "https://tailwind.example.com/spring")
    page.fill("#f-text", AD_TEXT)
    submit(page)
    error = page.locator("#f-size-error")
    error.scroll_into_view_if_needed()
    assert "Not a size" in error.inner_text()
    assert page.locator("#f-size").get_attribute("aria-invalid") == "true"
    assert page.input_value("#f-text") == AD_TEXT  # nothing typed is lost
    page.evaluate("document.querySelector('#f-kind').scrollIntoView()")
    page.screenshot(path=str(SHOTS / "validation-error.png"))
    page.fill("#f-size", "300x250")
    submit(page)
    page.wait_for_selector("text=Created creative tailwind-rectangle")
    assert AD_TEXT in page.locator(".creative-preview").inner_text()

    page.goto(f"{site}/admin/line-items/new")
    page.fill("#f-name", "Tailwind spring, news")
    page.select_option("#f-campaign", "Tailwind spring")
    page.select_option("#f-status", "active")
    page.check("input[name='creatives'][value='tailwind-rectangle']")
    page.select_option("#f-tier", "sponsorship")
    page.fill("#f-priority", "0")
    page.check("input[name='targeting.slots'][value='news-2']")
    page.fill("#f-targeting-page-types", "article")
    page.select_option("#f-goal-metric", "impressions")
    page.fill("#f-goal-amount", "3000")
    page.select_option("#f-pacing", "asap")  # even pacing may hold a new item back
    shot(page, "line-item-form")
    submit(page)
    page.wait_for_selector("text=Created line item Tailwind spring, news")

    page.goto(f"{site}/admin/preview?page_type=article&slug={SEED_SLUG}")
    frame = page.frame_locator("iframe.preview-frame")
    label = frame.locator("[data-slot='news-2'] .pv-label")
    assert "Tailwind spring, news" in label.inner_text()
    assert AD_TEXT in frame.locator("[data-slot='news-2']").inner_text()
    shot(page, "page-preview")

    reader = browser.new_context(viewport=LAPTOP)
    article = reader.new_page()
    article.goto(site + SEED_PATH)
    ad = article.locator("[data-ad-slot='news-2']")
    ad.scroll_into_view_if_needed()  # a lazy slot: rendered, its beacon loaded, when near
    ad.locator(".ad-spot__beacon").wait_for(state="attached")
    assert AD_TEXT in ad.inner_text()
    # the beacon loaded: the impression is counted (polled from here: wait_for_function
    # compiles its predicate in the page, which the site's CSP, without 'unsafe-eval', refuses)
    beacon = ad.locator(".ad-spot__beacon")
    give_up = time.monotonic() + 10
    while beacon.evaluate("img => img.naturalWidth") == 0 and time.monotonic() < give_up:
        article.wait_for_timeout(50)
    assert beacon.evaluate("img => img.naturalWidth") > 0
    reader.close()

    page.goto(f"{site}/admin/reports")
    row = page.locator("tr", has_text="Tailwind spring, news")
    assert row.locator("[data-label='impressions']").inner_text() == "1"
    row.locator("a").click()
    page.wait_for_selector("svg.chart")
    assert page.locator("svg.chart rect title", has_text="2024-10-10: 1").count() == 1
    # impressions, viewable impressions, clicks, and the running total against the goal
    assert page.locator("svg.chart").count() == 4
    assert page.locator("line.chart-pace").count() == 1
    shot(page, "report")

    page.goto(f"{site}/admin/line-items")
    shot(page, "line-items")
    page.set_viewport_size(PHONE)
    page.goto(f"{site}/admin/line-items")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1
    shot(page, "line-items-phone")

    # Nothing the console showed came from anywhere but this server (no CDN, font, script).
    assert fetched and all(url.startswith(site) or url.startswith(("data:", "about:"))
                           for url in fetched), [u for u in fetched if not u.startswith(site)]

    # A post without the CSRF token (as another site's form would send) is refused.
    status = page.evaluate("""async () => (await fetch('/admin/advertisers/new', {
        method: 'POST', body: new URLSearchParams({name: 'Forged'})})).status""")
    assert status == 400
    page.goto(f"{site}/admin/advertisers")
    assert page.locator("text=Forged").count() == 0


def test_a_viewer_cannot_edit(site: str, page: Any) -> None:
    sign_in(page, site, "viewer")
    page.goto(f"{site}/admin/line-items")
    assert page.locator("text=New line item").count() == 0
    assert page.locator("button:has-text('Pause')").count() == 0
    page.click("text=Northwind fall fares roadblock")
    assert page.locator("#f-priority").is_disabled()  # inside the disabled fieldset
    assert page.locator("button:has-text('Save')").count() == 0
    assert page.locator("text=may look, not change").count() == 1
    # Even a hand-made post, with a valid token, is refused by role.
    status = page.evaluate("""async () => {
        const token = document.querySelector('input[name=csrf_token]').value;
        const response = await fetch(location.pathname, {method: 'POST',
            body: new URLSearchParams({csrf_token: token, priority: '9'})});
        return response.status; }""")
    assert status == 403
    shot(page, "viewer-read-only")
