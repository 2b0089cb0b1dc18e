"""The one fact layoutserver reads from an IAB TCF v2 consent string: purpose 1 (store and/or
access information on a device).

The core string is the first ``.``-separated segment, base64url without padding. Its fields, in
bits: Version 6, Created 36, LastUpdated 36, CmpId 12, CmpVersion 12, ConsentScreen 6,
ConsentLanguage 12, VendorListVersion 12, TcfPolicyVersion 6, IsServiceSpecific 1,
UseNonStandardTexts 1, SpecialFeatureOptIns 12, then PurposesConsent 24, whose first bit is
purpose 1: bit 152 of the core string.
"""

from __future__ import annotations

import base64
import binascii

VERSION_BITS = 6
PURPOSES_CONSENT_OFFSET = 6 + 36 + 36 + 12 + 12 + 6 + 12 + 12 + 6 + 1 + 1 + 12
MAX_LENGTH = 10_000


def storage_consent(consent_string: str) -> bool | None:
    """True when purpose 1 is consented to, False when it is not, or when the string is not
    a TCF v2 string at all (a site that sends one means the reader's choice to count; one that
    cannot be read grants nothing); None for an empty string (no signal)."""
    text = consent_string.strip()
    if not text:
        return None
    if len(text) > MAX_LENGTH:
        return False
    core = text.split(".", 1)[0]
    try:
        data = base64.urlsafe_b64decode(core + "=" * (-len(core) % 4))
    except (binascii.Error, ValueError):
        return False
    if len(data) * 8 <= PURPOSES_CONSENT_OFFSET or _bits(data, 0, VERSION_BITS) != 2:
        return False
    return _bits(data, PURPOSES_CONSENT_OFFSET, 1) == 1


def _bits(data: bytes, start: int, count: int) -> int:
    value = 0
    for index in range(start, start + count):
        value = (value << 1) | ((data[index // 8] >> (7 - index % 8)) & 1)
    return value

