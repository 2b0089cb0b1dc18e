"""/ads/decide's memo of validated bodies (``layoutserver/api/decide_memo.py``): a body seen before
is not validated again, and nothing that validation would refuse, or one reader's body, is kept."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask

from layoutserver.api import decide_memo
from layoutserver.api.decide import DECIDE_REQUEST, DecideRequest

PAGE = {"page_type": "article", "slug": "a-story", "section": "world", "tags": ["china"],
        "path": "/pages/article/a-story", "key_values": {"campaign": "autumn"}}
BODY = {"page": PAGE, "slots": ["news-1", "news-2"]}


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """Each validation of a decide body, as the schema loads it."""
    seen: list[Any] = []
    load = DECIDE_REQUEST.load

    def counting(data: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(data)
        return load(data, *args, **kwargs)

    monkeypatch.setattr(DECIDE_REQUEST, "load", counting)
    yield seen


def post(app: Flask, body: Any, content_type: str = "application/json") -> Any:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return app.test_client().post("/ads/decide", data=raw, content_type=content_type)


def memo_of(app: Flask) -> decide_memo.DecideBodyMemo:
    memo = decide_memo.get_memo(app)
    assert memo is not None
    return memo


def test_a_body_seen_before_is_not_validated_again(ads_app: Flask, loads: list[Any]) -> None:
    first = post(ads_app, BODY)
    second = post(ads_app, BODY)
    assert first.status_code == second.status_code == 200
    assert len(loads) == 1
    assert len(memo_of(ads_app)) == 1
    assert ([d["slot"] for d in first.json["decisions"]]
            == [d["slot"] for d in second.json["decisions"]] == ["news-1", "news-2"])
    # the kept body is what validation gave, unchanged by the requests that used it
    (kept,) = memo_of(ads_app)._kept.values()
    assert kept == DecideRequest().load(BODY)
    # other bytes for the same document are another body
    post(ads_app, json.dumps(BODY, indent=1).encode())
    assert len(loads) == 2


def test_refused_bodies_are_refused_every_time(ads_app: Flask, loads: list[Any]) -> None:
    bad = {"page": PAGE, "slots": ["Bad Code"]}
    for _ in range(2):
        response = post(ads_app, bad)
        assert response.status_code == 422
        assert response.json["errors"]["json"] == {"slots": {"0": ["Not a slot code."]}}
    assert len(loads) == 2
    assert len(memo_of(ads_app)) == 0


def test_the_same_bytes_as_another_content_type_are_no_json_body(ads_app: Flask) -> None:
    assert post(ads_app, BODY).status_code == 200
    assert post(ads_app, BODY, content_type="text/plain").status_code == 400


def test_one_readers_body_is_not_kept(ads_app: Flask, loads: list[Any]) -> None:
    body = {**BODY, "user_key": "reader-0001"}
    assert post(ads_app, body).status_code == 200
    assert post(ads_app, body).status_code == 200
    assert len(loads) == 2
    assert len(memo_of(ads_app)) == 0


def test_large_bodies_are_not_kept(ads_app: Flask) -> None:
    body = {**BODY, "page": {**PAGE, "key_values": {f"k{n}": "v" * 90 for n in range(45)}}}
    assert len(json.dumps(body)) > decide_memo.MAX_BODY_BYTES
    assert post(ads_app, body).status_code == 200
    assert len(memo_of(ads_app)) == 0


def test_a_full_memo_starts_again(small_app: Callable[..., Flask]) -> None:
    app = small_app(settings={"DECIDE_BODY_MEMO": 2})
    for slot in ("top", "news-1", "news-2"):
        assert post(app, {"page": PAGE, "slots": [slot]}).status_code == 200
    assert len(memo_of(app)) == 1


def test_zero_turns_it_off(small_app: Callable[..., Flask], loads: list[Any]) -> None:
    app = small_app(settings={"DECIDE_BODY_MEMO": 0})
    assert decide_memo.get_memo(app) is None
    assert post(app, BODY).status_code == post(app, BODY).status_code == 200
    assert len(loads) == 2


@pytest.mark.parametrize("size", [-1, "many", 2.5, True])
def test_a_size_that_is_no_count_is_refused(make_app: Callable[..., Flask], size: Any) -> None:
    with pytest.raises(ValueError, match="DECIDE_BODY_MEMO must be a whole number"):
        make_app(settings={"DECIDE_BODY_MEMO": size})
