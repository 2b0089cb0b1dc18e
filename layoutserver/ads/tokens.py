"""Signed, expiring tracking tokens (itsdangerous).

A token names a decision, a slot, a line item, a creative and the user key the impression
counts against; its kind (impression or click) is both in the payload and in the signing salt,
so an impression token is no click token. A tampered, expired or foreign token (another secret,
another kind) raises :class:`TokenError` and counts nothing.

The secret is the ``SECRET_KEY`` setting; when it is unset, one is generated on first use and
kept in the instance folder (created atomically), so every gunicorn worker signs with the same.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from layoutserver.ads.counting import Kind, Tracked

SECRET_FILE = "secret_key"  # noqa: S105 - a file name


class TokenError(ValueError):
    """A token that must not be counted; the message is short and safe to show."""


class _KeyKeepingSigner(TimestampSigner):
    """Derives its key once: itsdangerous derives it again on every signature, which was most
    of the cost of the ten tokens a page with five ad spots signs."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._derived: dict[Any, bytes] = {}

    def derive_key(self, secret_key: str | bytes | None = None) -> bytes:
        key = self._derived.get(secret_key)
        if key is None:
            key = self._derived[secret_key] = super().derive_key(secret_key)
        return key


class _Serializer(URLSafeTimedSerializer):
    """Keeps one signer (and so one derived key) instead of making one per call."""

    default_signer = _KeyKeepingSigner

    def make_signer(self, salt: str | bytes | None = None) -> Any:
        kept: dict[Any, Any] = self.__dict__.setdefault("_signers", {})
        signer = kept.get(salt)
        if signer is None:
            signer = kept[salt] = super().make_signer(salt)
        return signer


class Tokens:
    def __init__(self, secret: str | bytes, max_age: int) -> None:
        self.max_age = max_age
        self._serializers = {
            kind: _Serializer(secret, salt=f"layoutserver.ads.{kind}")
            for kind in ("impression", "click")
        }

    def sign(self, kind: Kind, tracked: Tracked) -> str:
        payload = [kind, tracked.decision_id, tracked.slot, tracked.line_item_id,
                   tracked.creative_id, tracked.user_key]
        token: str = self._serializers[kind].dumps(payload)
        return token

    def verify(self, kind: Kind, token: str) -> Tracked:
        try:
            payload: Any = self._serializers[kind].loads(token, max_age=self.max_age)
        except SignatureExpired:
            raise TokenError("expired token") from None
        except BadSignature:
            raise TokenError("invalid token") from None
        if not _well_formed(payload) or payload[0] != kind:
            raise TokenError("invalid token")
        _, decision_id, slot, line_item_id, creative_id, user_key = payload
        return Tracked(decision_id, slot, line_item_id, creative_id, user_key)


def _well_formed(payload: Any) -> bool:
    if not isinstance(payload, list) or len(payload) != 6:
        return False
    kind, decision_id, slot, line_item_id, creative_id, user_key = payload
    strings = all(isinstance(value, str) for value in (kind, decision_id, slot))
    ints = all(type(value) is int for value in (line_item_id, creative_id))
    return strings and ints and (user_key is None or isinstance(user_key, str))


def instance_secret(instance_path: str | os.PathLike[str]) -> str:
    """The secret kept in the instance folder, created on first use. Workers starting together
    agree: each writes a candidate file and hard-links it into place, and a link that finds
    the file already there loses (``os.link`` does not overwrite)."""
    path = Path(instance_path) / SECRET_FILE
    existing = _read(path)
    if existing:
        return existing
    path.parent.mkdir(parents=True, exist_ok=True)
    candidate = path.with_name(f".{SECRET_FILE}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(secrets.token_hex(32))
        with contextlib.suppress(FileExistsError):  # another worker was first: use its
            os.link(candidate, path)
    finally:
        candidate.unlink(missing_ok=True)
    secret = _read(path)
    if not secret:
        raise RuntimeError(f"could not create the secret in {path}")
    return secret


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return ""
