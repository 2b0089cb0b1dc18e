"""A layout document (the JSON form the API takes and gives) written as TOML text, in the shape
of ``config/layouts/*.toml``: keys with plain values first, then each list of tables as an array
of tables (``[[regions]]``, ``[[regions.placements]]``); every other table inline
(``options = { count = 4 }``).

Reading back with ``tomllib`` gives the document written. What TOML cannot hold (null, a lone
surrogate, a number that is neither an integer nor a float) raises :class:`NotToml` naming
where it is.
"""

from __future__ import annotations

import datetime
import json
import math
import re
import tomllib
from collections.abc import Mapping
from typing import Any

BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


class NotToml(ValueError):
    """A value TOML cannot hold; ``path`` is its dotted location in the document."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}")


def dump_layout(document: Mapping[str, Any]) -> str:
    """``document`` as TOML text, ending with one newline."""
    lines: list[str] = []
    _table(document, (), "", lines)
    return "\n".join(lines).strip("\n") + "\n"


def _is_table_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def _table(table: Mapping[str, Any], header: tuple[str, ...], where: str,
           lines: list[str]) -> None:
    """``header``: the table's keys as TOML writes them; ``where``: its location for errors."""
    prefix = f"{where}." if where else ""
    for key, value in table.items():
        if not _is_table_array(value):
            lines.append(f"{_key(key)} = {_value(value, f'{prefix}{key}')}")
    for key, value in table.items():
        if _is_table_array(value):
            path = (*header, _key(key))
            for index, item in enumerate(value, start=1):
                lines.extend(["", f"[[{'.'.join(path)}]]"])
                _table(item, path, f"{prefix}{key}[{index}]", lines)


def _key(key: Any) -> str:
    text = str(key)
    return text if BARE_KEY.match(text) else _string(text, text)


def _value(value: Any, path: str) -> str:
    if value is None:
        raise NotToml(path, "null is not allowed (TOML has no null): leave the key out")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _string(value, path)
    if isinstance(value, list):
        return "[" + ", ".join(_value(item, f"{path}[{i}]") for i, item in enumerate(value)) + "]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        inner = ", ".join(f"{_key(k)} = {_value(v, f'{path}.{k}')}" for k, v in value.items())
        return "{ " + inner + " }"
    raise NotToml(path, f"a {type(value).__name__} cannot be written as TOML")


def _string(text: str, path: str) -> str:
    """A TOML basic string: JSON's escapes are TOML's, but for DEL, which TOML escapes too."""
    if any(0xD800 <= ord(char) <= 0xDFFF for char in text):
        raise NotToml(path, "a lone surrogate is not text")
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def loads_document(text: str) -> dict[str, Any]:
    """A layout's TOML text as its JSON form (TOML's dates and times as ISO 8601 text)."""
    document: dict[str, Any] = _jsonable(tomllib.loads(text))
    return document


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_jsonable(item) for item in value]
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    return value
