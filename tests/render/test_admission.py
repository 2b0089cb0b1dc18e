"""The doorkeeper: a render is stored at its ``admit_after``-th time (render/admission.py)."""

from __future__ import annotations

from typing import Any

import pytest

from layoutserver.core import get_core
from layoutserver.render.admission import BYTES_PER_REMEMBERED_KEY, Doorkeeper
from layoutserver.settings import IN_PROCESS_CACHE, SettingsError
from tests.support import SEED_SLUG, timing_outcomes


def test_the_second_render_of_a_key_is_admitted_and_counting_starts_again() -> None:
    doorkeeper = Doorkeeper(admit_after=2, max_keys=10)
    assert [doorkeeper.admits("a") for _ in range(4)] == [False, True, False, True]
    assert doorkeeper.admits("b") is False
    assert doorkeeper.remembered() == 1


def test_every_render_is_admitted_with_one() -> None:
    doorkeeper = Doorkeeper(admit_after=1, max_keys=10)
    assert all(doorkeeper.admits("a") for _ in range(3))
    assert doorkeeper.remembered() == 0


def test_the_oldest_key_is_forgotten_past_the_bound() -> None:
    doorkeeper = Doorkeeper(admit_after=2, max_keys=3)
    for key in "abcd":
        assert doorkeeper.admits(key) is False
    assert doorkeeper.remembered() == 3
    assert doorkeeper.admits("a") is False  # forgotten: counted afresh
    assert doorkeeper.admits("d") is True


def test_a_count_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        Doorkeeper(admit_after=0, max_keys=1)


@pytest.mark.parametrize("value", [0, "2", True, 1.5])
def test_the_setting_must_be_a_whole_number_of_renders(make_app: Any, value: Any) -> None:
    with pytest.raises(SettingsError, match="CACHE_ADMIT_AFTER must be a whole number"):
        make_app(settings={"CACHE_ADMIT_AFTER": value})


def test_unset_it_is_two_with_the_in_process_cache_and_one_with_a_shared_one(
    make_app: Any,
) -> None:
    app = make_app(settings={"CACHE_ADMIT_AFTER": None})
    expected = 2 if app.config["CACHE_TYPE"] == IN_PROCESS_CACHE else 1  # Redis under services
    assert app.config["CACHE_ADMIT_AFTER"] == expected
    doorkeeper = get_core(app).fragments.doorkeeper
    assert doorkeeper.admit_after == expected
    assert doorkeeper.max_keys == app.config["CACHE_MAX_BYTES"] // BYTES_PER_REMEMBERED_KEY


def test_a_page_asked_for_once_is_not_stored_and_twice_is(make_app: Any) -> None:
    app = make_app(settings={"CACHE_TYPE": IN_PROCESS_CACHE, "CACHE_ADMIT_AFTER": 2,
                             "WIDGETS_DISABLED": ["ad_spot"]})  # ad spots render per request
    client = app.test_client()
    url = f"/fragments/article/{SEED_SLUG}"
    headers = {"Accept": "application/json"}
    backend = get_core(app).fragments.backend
    first = client.get(url, headers=headers)
    assert first.status_code == 200
    assert backend.stored_bytes() == (0, 0)  # nothing of a page asked for once
    assert set(timing_outcomes(client.get(url, headers=headers)).values()) == {
        "miss", "unavailable"}  # the disabled ad spots are unavailable
    fresh, last_good = backend.stored_bytes()
    assert fresh > 0 and last_good > 0  # rendered again: stored, fresh and last good
    third = client.get(url, headers=headers)
    assert set(timing_outcomes(third).values()) == {"page-cache"}
    assert third.get_data() == first.get_data()
