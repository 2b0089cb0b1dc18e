"""Signed, expiring tracking tokens (itsdangerous' TimestampSigner format).

A token names a decision, a slot, a line item, a creative and the user key the impression
counts against. One token serves every URL of a slot, the impression URL, the click URL and the
viewability URL: the replay guard is keyed by kind and token (``ad_token_uses``), so the token
counts one impression, one click, one measurable and one viewable impression at most, and
nothing else. A tampered, expired or foreign token (another secret) raises :class:`TokenError`
and counts nothing.

Tokens are signed here with the HMAC itsdangerous computes, its inner and outer hashes keyed
once (itsdangerous derives the key and builds an HMAC object again for every signature; a page
signs one token per filled slot), and verified by itsdangerous itself. Tokens of the previous
format (one per kind, the kind in the payload and the salt) are still accepted for their kind
(impression or click) until they expire; they were never shown with a viewability URL, so
viewability refuses them.

The secret is the ``SECRET_KEY`` setting; when it is unset, one is generated on first use and
kept in the instance folder (created atomically), so every gunicorn worker signs with the same.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import time
from binascii import b2a_base64
from collections.abc import Callable
from pathlib import Path
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner
from itsdangerous.encoding import base64_encode, int_to_bytes

from layoutserver.ads.counting import Kind, Tracked

SECRET_FILE = "secret_key"  # noqa: S105 - a file name
SALT = "layoutserver.ads.tracking"


class TokenError(ValueError):
    """A token that must not be counted; the message is short and safe to show."""


class _KeyKeepingSigner(TimestampSigner):
    """Derives its key once: itsdangerous derives it again on every signature."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._derived: dict[Any, bytes] = {}

    def derive_key(self, secret_key: str | bytes | None = None) -> bytes:
        key = self._derived.get(secret_key)
        if key is None:
            key = self._derived[secret_key] = super().derive_key(secret_key)
        return key


class Tokens:
    """Tokens are ``decision~slot~line item~creative~user key`` signed with a timestamp. A flat
    payload rather than a JSON one: every field is URL-safe by construction, and a page signs
    one of these per filled slot on every request."""

    def __init__(self, secret: str | bytes, max_age: int) -> None:
        self.max_age = max_age
        self._signer = _KeyKeepingSigner(secret, salt=SALT)
        self._inner, self._outer = _keyed(self._signer.derive_key(), self._signer.digest_method)
        self._stamp: tuple[int, bytes] = (-1, b"")
        self._legacy = {
            kind: _KeyKeepingSigner(secret, salt=f"layoutserver.ads.{kind}")
            for kind in ("impression", "click")
        }

    def sign(self, tracked: Tracked) -> str:
        """The token of ``tracked``, as ``TimestampSigner(secret, salt=SALT).sign`` makes it."""
        return self.signer()(tracked.decision_id, tracked.slot, tracked.line_item_id,
                             tracked.creative_id, tracked.user_key)

    def signer(self) -> Callable[[str, str, int, int, str | None], str]:
        """:meth:`sign` from a ``Tracked``'s fields, without making one, with the time stamp of
        now: for the tokens of one page (a page signs one per filled slot)."""
        stamp = b"." + self._timestamp()
        inner, outer = self._inner, self._outer

        def sign(decision_id: str, slot: str, line_item_id: int, creative_id: int,
                 user_key: str | None) -> str:
            payload = f"{decision_id}~{slot}~{line_item_id:d}~{creative_id:d}~{user_key or ''}"
            if payload.count(SEPARATOR) != 4:
                raise ValueError(f"a token field holds {SEPARATOR!r}: {payload!r}")
            value = payload.encode("ascii") + stamp
            mac = inner.copy()
            mac.update(value)
            tag = outer.copy()
            tag.update(mac.digest())
            signature = b2a_base64(tag.digest(), newline=False).rstrip(b"=").translate(_URLSAFE)
            return (value + b"." + signature).decode("ascii")

        return sign

    def _timestamp(self) -> bytes:
        now = int(time.time())
        second, stamp = self._stamp
        if second != now:
            stamp = base64_encode(int_to_bytes(now))
            self._stamp = (now, stamp)
        return stamp

    def verify(self, kind: Kind, token: str) -> Tracked:
        """What ``token`` names, for counting as ``kind``."""
        try:
            fields = self._fields(kind, token)
        except SignatureExpired:
            raise TokenError("expired token") from None
        except (BadSignature, UnicodeError):
            raise TokenError("invalid token") from None
        if not _well_formed(fields):
            raise TokenError("invalid token")
        decision_id, slot, line_item_id, creative_id, user_key = fields
        return Tracked(decision_id, slot, int(line_item_id), int(creative_id), user_key or None)

    def _fields(self, kind: Kind, token: str) -> list[str]:
        try:
            return self._signer.unsign(token, max_age=self.max_age).decode("ascii").split(
                SEPARATOR)
        except SignatureExpired:
            raise
        except BadSignature:
            pass
        # A token of the previous format: one per kind, the kind its first field.
        legacy = self._legacy.get(kind)
        if legacy is None:
            raise BadSignature("not a token of this format")
        kind_first = legacy.unsign(token, max_age=self.max_age).decode("ascii")
        legacy_kind, _, rest = kind_first.partition(SEPARATOR)
        return rest.split(SEPARATOR) if legacy_kind == kind else []


def _keyed(key: bytes, digest_method: Any) -> tuple[Any, Any]:
    """HMAC's inner and outer hashes with the key absorbed (RFC 2104): copying them is all a
    signature has left to do."""
    block = digest_method().block_size
    if len(key) > block:
        key = digest_method(key).digest()
    key = key.ljust(block, b"\0")
    return digest_method(key.translate(_IPAD)), digest_method(key.translate(_OPAD))


_URLSAFE = bytes.maketrans(b"+/", b"-_")
"""Base64 to its URL-safe alphabet, as itsdangerous writes signatures."""
_IPAD = bytes(x ^ 0x36 for x in range(256))
_OPAD = bytes(x ^ 0x5C for x in range(256))
SEPARATOR = "~"
_FIELD = re.compile(r"^[A-Za-z0-9_.:-]*$")


def _well_formed(fields: list[str]) -> bool:
    if len(fields) != 5 or not all(_FIELD.match(field) for field in fields):
        return False
    decision_id, slot, line_item_id, creative_id, _user_key = fields
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
