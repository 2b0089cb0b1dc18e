"""Tracking tokens: signed, expiring, of one kind, under one secret; and the shared secret file."""

from __future__ import annotations

import threading
from pathlib import Path

import itsdangerous.timed
import pytest

from layoutserver.ads.counting import Tracked
from layoutserver.ads.tokens import TokenError, Tokens, instance_secret

TRACKED = Tracked("decision-1", "article-1", 4, 12, "reader-key-1")


def test_a_token_names_what_it_was_signed_for() -> None:
    tokens = Tokens("secret", max_age=60)
    assert tokens.verify("impression", tokens.sign("impression", TRACKED)) == TRACKED
    house = Tracked("decision-2", "news-2", 0, 3, None)
    assert tokens.verify("click", tokens.sign("click", house)) == house


def tampered(token: str) -> str:
    """The same token with its payload changed (creative 12 -> 99), signature kept."""
    assert "~12~" in token
    return token.replace("~12~", "~99~")


@pytest.mark.parametrize(
    "forge",
    [
        tampered,
        lambda token: token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
        lambda token: token.rsplit(".", 2)[0],
        lambda token: "",
        lambda token: "not-a-token",
    ],
    ids=["payload", "signature", "unsigned", "empty", "garbage"],
)
def test_a_tampered_token_is_rejected(forge: object) -> None:
    tokens = Tokens("secret", max_age=60)
    token = tokens.sign("click", TRACKED)
    with pytest.raises(TokenError, match="invalid token"):
        tokens.verify("click", forge(token))  # type: ignore[operator]


def test_a_token_of_another_secret_or_kind_is_foreign() -> None:
    ours, theirs = Tokens("secret", max_age=60), Tokens("other secret", max_age=60)
    with pytest.raises(TokenError, match="invalid token"):
        ours.verify("click", theirs.sign("click", TRACKED))
    with pytest.raises(TokenError, match="invalid token"):
        ours.verify("click", ours.sign("impression", TRACKED))


def test_a_signed_payload_of_another_shape_is_rejected() -> None:
    """Even under the right secret and kind, only the six fields are accepted: a payload that
    carries a destination URL is not a token."""
    signer = itsdangerous.TimestampSigner("secret", salt="layoutserver.ads.click")
    tokens = Tokens("secret", max_age=60)
    for payload in ("click~d~top~1~2~~https://evil.example.com/",
                    "click~d~top~https://evil.example.com/~2~",
                    "click~d~top~1~2~https://evil.example.com/",
                    "https://evil.example.com/"):
        with pytest.raises(TokenError, match="invalid token"):
            tokens.verify("click", signer.sign(payload).decode())


def test_a_token_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    tokens = Tokens("secret", max_age=60)
    token = tokens.sign("impression", TRACKED)
    real = itsdangerous.timed.time.time
    monkeypatch.setattr(itsdangerous.timed.time, "time", lambda: real() + 59)
    assert tokens.verify("impression", token) == TRACKED
    monkeypatch.setattr(itsdangerous.timed.time, "time", lambda: real() + 62)
    with pytest.raises(TokenError, match="expired token"):
        tokens.verify("impression", token)


def test_the_instance_secret_is_made_once_and_shared(tmp_path: Path) -> None:
    folder = tmp_path / "instance"
    found: list[str] = []
    threads = [threading.Thread(target=lambda: found.append(instance_secret(folder)))
               for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(found)) == 1 and len(found[0]) == 64
    assert instance_secret(folder) == found[0]
    assert sorted(path.name for path in folder.iterdir()) == ["secret_key"]
    assert (folder / "secret_key").stat().st_mode & 0o077 == 0
