"""Tracking tokens: signed, expiring, one per slot of a decision, under one secret; and the shared
secret file."""

from __future__ import annotations

import threading
from pathlib import Path

import itsdangerous.timed
import pytest

from layoutserver.ads.counting import Tracked
from layoutserver.ads.tokens import SALT, TokenError, Tokens, instance_secret

TRACKED = Tracked("decision-1", "article-1", 4, 12, "reader-key-1")


def test_a_token_names_what_it_was_signed_for() -> None:
    """One token serves the slot's impression URL and its click URL."""
    tokens = Tokens("secret", max_age=60)
    token = tokens.sign(TRACKED)
    assert tokens.verify("impression", token) == TRACKED
    assert tokens.verify("click", token) == TRACKED
    house = Tracked("decision-2", "news-2", 0, 3, None)
    assert tokens.verify("click", tokens.sign(house)) == house


def test_a_token_is_only_valid_for_its_own_decision() -> None:
    """Each token names its own decision and slot; the signature of one does not carry
    another's payload."""
    tokens = Tokens("secret", max_age=60)
    other = Tracked("decision-9", "article-1", 4, 12, "reader-key-1")
    mine, theirs = tokens.sign(TRACKED), tokens.sign(other)
    assert tokens.verify("click", mine).decision_id == "decision-1"
    assert tokens.verify("click", theirs).decision_id == "decision-9"
    swapped = mine.rsplit(".", 1)[0] + "." + theirs.rsplit(".", 1)[1]
    with pytest.raises(TokenError, match="invalid token"):
        tokens.verify("click", swapped)
    with pytest.raises(TokenError, match="invalid token"):
        tokens.verify("click", mine.replace("decision-1", "decision-9"))


def test_tokens_are_itsdangerous_timestamp_tokens() -> None:
    """Signed here without itsdangerous (faster), in its format: its signer agrees both ways."""
    tokens = Tokens("secret", max_age=60)
    signer = itsdangerous.TimestampSigner("secret", salt=SALT)
    assert signer.unsign(tokens.sign(TRACKED), max_age=60) == \
        b"decision-1~article-1~4~12~reader-key-1"
    assert tokens.verify("click", signer.sign("d~top~1~2~").decode()) == \
        Tracked("d", "top", 1, 2, None)


def test_a_token_of_the_previous_format_counts_for_its_kind_only() -> None:
    """Pages served before the upgrade carry a token per kind (the kind its first field, and
    its salt): accepted for that kind until they expire."""
    tokens = Tokens("secret", max_age=60)
    legacy = itsdangerous.TimestampSigner("secret", salt="layoutserver.ads.click")
    token = legacy.sign("click~d~top~1~2~").decode()
    assert tokens.verify("click", token) == Tracked("d", "top", 1, 2, None)
    with pytest.raises(TokenError, match="invalid token"):
        tokens.verify("impression", token)
    impression = itsdangerous.TimestampSigner("secret", salt="layoutserver.ads.impression")
    with pytest.raises(TokenError, match="invalid token"):  # the kind in the payload, too
        tokens.verify("impression", impression.sign("click~d~top~1~2~").decode())


def test_viewability_takes_the_slots_token_and_no_token_of_the_previous_format() -> None:
    """The viewability URL carries the slot's one token; pages of the previous format had no
    viewability URL, so none of their tokens counts there."""
    tokens = Tokens("secret", max_age=60)
    assert tokens.verify("viewable", tokens.sign(TRACKED)) == TRACKED
    for kind in ("impression", "click"):
        legacy = itsdangerous.TimestampSigner("secret", salt=f"layoutserver.ads.{kind}")
        token = legacy.sign(f"{kind}~d~top~1~2~").decode()
        assert tokens.verify(kind, token) == Tracked("d", "top", 1, 2, None)
        for viewability in ("measurable", "viewable"):
            with pytest.raises(TokenError, match="invalid token"):
                tokens.verify(viewability, token)


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
    token = tokens.sign(TRACKED)
    for kind in ("click", "impression"):
        with pytest.raises(TokenError, match="invalid token"):
            tokens.verify(kind, forge(token))  # type: ignore[operator]


def test_a_token_of_another_secret_is_foreign() -> None:
    ours, theirs = Tokens("secret", max_age=60), Tokens("other secret", max_age=60)
    with pytest.raises(TokenError, match="invalid token"):
        ours.verify("click", theirs.sign(TRACKED))


def test_a_signed_payload_of_another_shape_is_rejected() -> None:
    """Even under the right secret (and salt), only the five fields are accepted: a payload
    that carries a destination URL is not a token."""
    tokens = Tokens("secret", max_age=60)
    for salt, prefix in ((SALT, ""), ("layoutserver.ads.click", "click~")):
        signer = itsdangerous.TimestampSigner("secret", salt=salt)
        for payload in ("d~top~1~2~~https://evil.example.com/",
                        "d~top~https://evil.example.com/~2~",
                        "d~top~1~2~https://evil.example.com/",
                        "https://evil.example.com/"):
            with pytest.raises(TokenError, match="invalid token"):
                tokens.verify("click", signer.sign(prefix + payload).decode())


def test_a_token_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    tokens = Tokens("secret", max_age=60)
    token = tokens.sign(TRACKED)
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
