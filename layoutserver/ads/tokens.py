"""Signed, expiring tracking tokens (itsdangerous' TimestampSigner).

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
import re
import secrets
from pathlib import Path
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner

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


class Tokens:
    """Tokens are ``kind~decision~slot~line item~creative~user key`` signed with a timestamp
    (itsdangerous' TimestampSigner, salted by kind). A flat payload rather than a JSON one:
    every field is URL-safe by construction, and a page signs ten of these per request."""

    def __init__(self, secret: str | bytes, max_age: int) -> None:
        self.max_age = max_age
        self._signers = {
            kind: _KeyKeepingSigner(secret, salt=f"layoutserver.ads.{kind}")
            for kind in ("impression", "click")
        }

    def sign(self, kind: Kind, tracked: Tracked) -> str:
        fields = (kind, tracked.decision_id, tracked.slot, str(tracked.line_item_id),
                  str(tracked.creative_id), tracked.user_key or "")
        if any(SEPARATOR in field for field in fields):
            raise ValueError(f"a token field holds {SEPARATOR!r}: {fields!r}")
        return self._signers[kind].sign(SEPARATOR.join(fields)).decode("ascii")

    def verify(self, kind: Kind, token: str) -> Tracked:
        try:
            payload = self._signers[kind].unsign(token, max_age=self.max_age).decode("ascii")
        except SignatureExpired:
            raise TokenError("expired token") from None
        except (BadSignature, UnicodeError):
            raise TokenError("invalid token") from None
        fields = payload.split(SEPARATOR)
        if not _well_formed(fields) or fields[0] != kind:
            raise TokenError("invalid token")
        _, decision_id, slot, line_item_id, creative_id, user_key = fields
        return Tracked(decision_id, slot, int(line_item_id), int(creative_id), user_key or None)


SEPARATOR = "~"
_FIELD = re.compile(r"^[A-Za-z0-9_.:-]*$")


def _well_formed(fields: list[str]) -> bool:
    if len(fields) != 6 or not all(_FIELD.match(field) for field in fields):
        return False
    _, decision_id, slot, line_item_id, creative_id, _user_key = fields
    return bool(decision_id and slot) and line_item_id.isdigit() and creative_id.isdigit()


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
