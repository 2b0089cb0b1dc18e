"""Validation rules the input schemas share, written so that the OpenAPI document states exactly
what the server enforces.

* :class:`FullMatch`: a pattern the whole value must match. marshmallow's ``Regexp`` uses
  ``re.match``, whose ``$`` also matches before a final newline (``"abc\\n"`` would pass
  ``^[a-z]+$``); JSON Schema's does not. The same pattern is shown in the document.
* :data:`HTTP_URL`, :data:`SITE_URL`: URL rules as patterns, validated with those very
  patterns, so the document's ``pattern`` and the server agree on every value.
* :func:`references` and :func:`rule`: what a schema cannot say (a name that must be of an
  existing resource, a rule between fields), as the ``x-references`` and ``x-rule`` notes of
  the field in the document (``docs/api.md``, "What the document states").
"""

from __future__ import annotations

import re
from typing import Any

from marshmallow import ValidationError, validate

#: Characters no URL here may hold: C0 and C1 controls, DEL, every kind of whitespace
#: (``str.isspace`` and ECMAScript's ``\\s``) and the backslash (``/\\host`` is another site
#: to a browser). A regular-expression class body, the same in Python and ECMAScript.
_NOT_IN_URL = (r"\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
               r"\ufeff\\")
_HTTP = (rf"[hH][tT][tT][pP][sS]?://[^/?#\[\]{_NOT_IN_URL}]+"
         rf"(?:[/?#][^{_NOT_IN_URL}]*)?")
_SITE_PATH = rf"/(?:[^/{_NOT_IN_URL}][^{_NOT_IN_URL}]*)?"

HTTP_URL = rf"^{_HTTP}$"
"""An absolute http(s) URL with a host (no brackets: no IPv6 literals)."""
SITE_URL = rf"^(?:{_HTTP}|{_SITE_PATH})$"
"""An http(s) URL or a site-relative path (``/...``, not ``//host``)."""


class FullMatch(validate.Regexp):
    """:class:`marshmallow.validate.Regexp` matching the whole value (see the module doc)."""

    def __call__(self, value: Any) -> Any:
        if self.regex.fullmatch(value) is None:
            raise ValidationError(self._format_error(value))
        return value


def references(what: str) -> dict[str, Any]:
    """Field metadata: the value names ``what``, which must exist (422 otherwise)."""
    return {"x-references": what}


def rule(text: str) -> dict[str, Any]:
    """Field metadata: a rule the schema cannot state (422 when broken)."""
    return {"x-rule": text}


def notes(*parts: dict[str, Any], **metadata: Any) -> dict[str, Any]:
    """``parts`` (of :func:`references` and :func:`rule`) and ``metadata`` as one metadata
    dict."""
    merged = dict(metadata)
    for part in parts:
        merged.update(part)
    return merged


def pattern(expression: str, error: str) -> FullMatch:
    return FullMatch(re.compile(expression), error=error)
