"""The user key and consent: a cookie when storage is allowed; no cookie, no key and no capped
line items when a consent header or an IAB TCF v2 string denies it."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest
from adsupport import AD_LAYOUT, ADS_SETTINGS, DEMO_ADS, reader_counts
from flask import Flask
from flask.testing import FlaskClient
from support import SEED_PATH, SEED_SLUG

from layoutserver.ads import tcf
from layoutserver.ads.config_import import import_ads_file
from layoutserver.core import get_core
from layoutserver.db import Database, get_database

PAGE = {"page_type": "article", "slug": "a-story", "path": "/pages/article/a-story"}
CAPS = {"caps": [{"impressions": 3, "period": "day"}]}


def tcf_string(purposes: set[int], version: int = 2, segments: str = "") -> str:
    """A TCF core string built field by field from the specification's bit layout."""
    fields = [
        (version, 6), (1_700_000_000, 36), (1_700_000_000, 36),  # Version, Created, LastUpdated
        (10, 12), (2, 12), (1, 6), (0, 12), (150, 12), (4, 6),  # Cmp.., Screen, Lang, GVL, Policy
        (0, 1), (0, 1), (0, 12),  # IsServiceSpecific, UseNonStandardTexts, SpecialFeatureOptIns
    ]
    bits = "".join(format(value, f"0{width}b") for value, width in fields)
    assert len(bits) == 152
    bits += "".join("1" if n in purposes else "0" for n in range(1, 25))  # PurposesConsent
    bits += "0" * 24 + "0" + "0" * 12 + "0" * 34 + "0" * 12  # LI, PurposeOne.., vendors, restr.
    bits += "0" * (-len(bits) % 8)
    raw = int(bits, 2).to_bytes(len(bits) // 8, "big")
    return base64.urlsafe_b64encode(raw).decode().rstrip("=") + segments


@pytest.mark.parametrize(
    ("consent_string", "expected"),
    [
        (tcf_string({1, 2, 3}), True),
        (tcf_string({1}), True),
        (tcf_string({2, 3, 4}), False),
        (tcf_string(set()), False),
        (tcf_string({1}, segments=".YAAAAAAAAAAA"), True),
        (tcf_string({1}, version=1), False),
        ("not base64 !!", False),
        ("CPX", False),
        ("", None),
        ("   ", None),
    ],
)
def test_purpose_1_is_read_from_the_core_string(consent_string: str, expected: bool | None) -> None:
    assert tcf.storage_consent(consent_string) is expected


def test_purpose_1_is_the_first_purposes_consent_bit() -> None:
    """Only bit 152 decides: every other purpose on, purpose 1 off, is a denial."""
    assert tcf.storage_consent(tcf_string(set(range(2, 25)))) is False
    assert tcf.PURPOSES_CONSENT_OFFSET == 152


def decide(client: FlaskClient, query: str = "", **kwargs: Any) -> Any:
    response = client.post(f"/ads/decide{query}", json={"page": PAGE, "slots": ["top"]},
                           **kwargs)
    assert response.status_code == 200, response.json
    return response


def cookies(response: Any) -> list[str]:
    return response.headers.getlist("Set-Cookie")


def test_a_reader_gets_a_first_party_cookie_and_keeps_it(
    small_app: Callable[..., Flask],
) -> None:
    client = small_app(**CAPS).test_client()
    first = decide(client)
    (cookie,) = cookies(first)
    assert cookie.startswith("ls_uid=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Max-Age=34128000" in cookie
    assert first.json["decisions"][0]["line_item_id"] == 1  # the capped sponsorship
    assert cookies(decide(client)) == []  # the cookie came back: nothing new to set


DENIALS = {
    "consent header": {"headers": {"X-Storage-Consent": "no"}},
    "TCF parameter": {"query": f"?gdpr_consent={tcf_string({2, 3})}"},
    "TCF cookie": {"cookie": tcf_string({2, 3})},
    "unreadable TCF": {"query": "?gdpr_consent=garbage"},
}


@pytest.mark.parametrize("denial", sorted(DENIALS))
def test_denied_storage_sets_no_cookie_and_skips_capped_line_items(
    small_app: Callable[..., Flask], fresh_database: Callable[[Flask], Database], denial: str
) -> None:
    app = small_app(**CAPS)
    client = app.test_client()
    how = DENIALS[denial]
    if "cookie" in how:
        client.set_cookie("euconsent-v2", how["cookie"])
    for _ in range(3):
        response = decide(client, how.get("query", ""), headers=how.get("headers", {}))
        assert cookies(response) == []
        ad = response.json["decisions"][0]
        assert ad["line_item_id"] == 2  # the house line item, not the capped sponsorship
        client.get(ad["impression_url"].removeprefix("http://localhost"))
    assert reader_counts(app) == {}


def test_a_given_user_key_is_ignored_when_storage_is_denied(
    small_app: Callable[..., Flask],
) -> None:
    client = small_app(**CAPS).test_client()
    response = client.post("/ads/decide", json={"page": PAGE, "slots": ["top"],
                                                "user_key": "site-reader-42"},
                           headers={"X-Storage-Consent": "denied"})
    assert response.json["decisions"][0]["line_item_id"] == 2


def test_consent_given_by_tcf_allows_the_cookie(small_app: Callable[..., Flask]) -> None:
    client = small_app(**CAPS).test_client()
    response = decide(client, f"?gdpr_consent={tcf_string({1})}")
    assert len(cookies(response)) == 1


def test_the_sites_header_is_the_key_and_sets_no_cookie(
    small_app: Callable[..., Flask], fresh_database: Callable[[Flask], Database]
) -> None:
    app = small_app(**CAPS)
    client = app.test_client()
    response = decide(client, headers={"X-User-Key": "site-reader-42"})
    assert cookies(response) == []
    client.get(response.json["decisions"][0]["impression_url"].removeprefix("http://localhost"))
    assert reader_counts(app) == {("site-reader-42", 1): 1}


@pytest.mark.parametrize(("headers", "cookie_set"),
                         [({}, True), ({"X-Storage-Consent": "no"}, False)])
def test_an_assembled_page_sets_the_cookie_only_with_consent(
    make_app: Callable[..., Flask], headers: dict[str, str], cookie_set: bool
) -> None:
    app = make_app(layouts={"article": AD_LAYOUT}, settings=ADS_SETTINGS)
    import_ads_file(get_database(app), DEMO_ADS, get_core(app).timezone)
    response = app.test_client().get(f"/pages/article/{SEED_SLUG}", headers=headers)
    assert response.status_code == 200
    assert response.text.count('class="ad-spot"') == 5
    assert bool(cookies(response)) is cookie_set


@pytest.mark.parametrize(("value", "setting", "keyed"), [
    ("garbage", "deny", False),
    ("maybe", "deny", False),
    ("garbage", "unstated", True),
    ("yes", "deny", True),
    ("", "deny", True),  # no header value: nothing stated
])
def test_only_an_explicit_yes_is_consent_unless_told_otherwise(
    make_app: Callable[..., Flask], value: str, setting: str, keyed: bool
) -> None:
    app = make_app(settings={**ADS_SETTINGS, "CONSENT_UNRECOGNISED": setting})
    import_ads_file(get_database(app), DEMO_ADS, get_core(app).timezone)
    response = app.test_client().get(SEED_PATH, headers={"X-Storage-Consent": value})
    assert ("ls_uid=" in response.headers.get("Set-Cookie", "")) is keyed
