"""HTML forms to the service layer's dicts and back: no rules of the resources here.

A :class:`Field` names where its value goes in the service's input (``goal.amount`` is
``{"goal": {"amount": ...}}``) and how a form's text becomes that value. What the value must be
is the service's business: a field only turns text into the type the service reads (a number
when the text is one, else the text itself, for the service to refuse with its own message).
The service's ``Invalid.messages`` are mapped back to the fields they concern
(:func:`field_errors`), so each message shows beside its field.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from werkzeug.datastructures import MultiDict

FieldKind = Literal[
    "text", "textarea", "int", "bool", "select", "multi", "list", "lines", "datetime",
    "key_values", "caps", "dayparts",
]
Choices = Callable[[], Sequence[tuple[str, str]]]
FormChoices = Callable[[Mapping[str, Any]], Sequence[tuple[str, str]]]
"""Choices that depend on what the form holds (a line item's creatives on its campaign)."""
Errors = dict[str, list[str]]
FORM_ERRORS = "_form"
"""The errors no field claims: shown above the form."""

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_INT = re.compile(r"^-?\d{1,12}$")
_CAP = re.compile(r"^(\d{1,10})\s*/\s*([a-z]+)$")
_DAYPART = re.compile(r"^(\S+)\s+(\d{1,2})\s*-\s*(\d{1,2})$")
LOCAL_FORMAT = "%Y-%m-%dT%H:%M"
#: Kinds whose empty text is an empty list or mapping.
_LISTS = frozenset({"lines", "list", "key_values", "caps", "dayparts"})


class FormError(ValueError):
    """A field's text could not be read at all (its syntax, not its value)."""


@dataclass(frozen=True)
class Field:
    name: str
    """Dotted path into the service's input."""
    label: str
    kind: FieldKind = "text"
    help: str = ""
    choices: Choices | None = None
    choices_for: FormChoices | None = None
    """Used instead of ``choices`` when given: the choices for the form's current values."""
    empty: Literal["keep", "none", "omit", "parent"] = "keep"
    """What an empty text means: "" (keep), None (none), leave the field out (omit), or no
    object at all (parent: ``goal.metric`` left empty is no goal)."""
    group: str = ""
    """The fieldset it is shown in."""
    create_only: bool = False
    """The key: given when creating, shown read-only after."""
    prompt: str = ""
    """A select's first option, empty, shown until a choice is made: a new form then names
    no value the user did not choose (a browser would preselect the first choice)."""

    @property
    def html_id(self) -> str:
        return "f-" + re.sub(r"[^a-z0-9]+", "-", self.name.lower()).strip("-")

    def options(self, values: Mapping[str, Any] | None = None) -> Sequence[tuple[str, str]]:
        """The choices, for a form holding ``values`` (what each field shows)."""
        if self.choices_for is not None:
            choices = self.choices_for(values or {})
        else:
            choices = self.choices() if self.choices is not None else ()
        return [("", self.prompt), *choices] if self.prompt else choices


def read_form(fields: Sequence[Field], form: MultiDict[str, str], timezone: ZoneInfo,
              *, creating: bool) -> tuple[dict[str, Any], Errors]:
    """The service input the form gives, and the fields whose text could not be read."""
    data: dict[str, Any] = {}
    errors: Errors = {}
    dropped: list[list[str]] = []
    for spec in fields:
        if spec.create_only and not creating:
            continue
        try:
            value = _read(spec, form, timezone)
        except FormError as error:
            errors[spec.name] = [str(error)]
            continue
        if value is _OMIT:
            continue
        if value is _PARENT:
            dropped.append(spec.name.split(".")[:-1])
            continue
        _set(data, spec.name.split("."), value)
    for parent in dropped:
        _set(data, parent, None)
    return data, errors


_OMIT: Any = object()
_PARENT: Any = object()
_EMPTY = {"keep": "", "none": None, "omit": _OMIT, "parent": _PARENT}


def _read(spec: Field, form: MultiDict[str, str], timezone: ZoneInfo) -> Any:
    if spec.kind == "bool":
        return spec.name in form
    if spec.kind == "multi":
        return form.getlist(spec.name)
    raw = form.get(spec.name, "")
    text = raw if spec.kind == "textarea" else raw.strip()
    if not text and (spec.empty != "keep" or spec.kind not in _LISTS):
        return _EMPTY[spec.empty]
    reader = _READERS.get(spec.kind)
    return text if reader is None else reader(text, timezone)


def _int(text: str, _: ZoneInfo) -> Any:
    return int(text) if _INT.match(text) else text


def _items(text: str) -> list[str]:
    return [item.strip() for item in re.split(r"[,\n]", text) if item.strip()]


def _list(text: str, _: ZoneInfo) -> Any:
    return _items(text)


def _lines(text: str, _: ZoneInfo) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _datetime(text: str, timezone: ZoneInfo) -> str:
    """A ``datetime-local`` value, read in the site time zone, as ISO 8601 with its offset."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise FormError("Give a date and time, e.g. 2024-10-01T06:00.") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone)
    return moment.isoformat()


def _key_values(text: str, _: ZoneInfo) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in _lines(text, _):
        key, equals, values = line.partition("=")
        if not equals or not key.strip():
            raise FormError(f"Write one key per line as key=value1,value2 (not {line!r}).")
        found.setdefault(key.strip(), []).extend(_items(values))
    return found


def _caps(text: str, _: ZoneInfo) -> list[dict[str, Any]]:
    caps = []
    for line in _lines(text, _):
        match = _CAP.match(line.lower())
        if match is None:
            raise FormError(f"Write one cap per line as impressions/period, e.g. 3/day "
                            f"(not {line!r}).")
        caps.append({"impressions": int(match.group(1)), "period": match.group(2)})
    return caps


def _dayparts(text: str, _: ZoneInfo) -> list[dict[str, Any]]:
    parts = []
    for line in _lines(text, _):
        match = _DAYPART.match(line.lower())
        if match is None:
            raise FormError(f"Write one day part per line as days start-end, e.g. mon-fri 6-10 "
                            f"or * 18-24 (not {line!r}).")
        parts.append({"weekdays": _weekdays(match.group(1)),
                      "start_hour": int(match.group(2)), "end_hour": int(match.group(3))})
    return parts


def _weekdays(text: str) -> list[int]:
    if text in ("*", "all"):
        return list(range(7))
    days: list[int] = []
    for item in text.split(","):
        first, _, last = item.partition("-")
        if first not in WEEKDAYS or (last and last not in WEEKDAYS):
            raise FormError(f"Name days as {', '.join(WEEKDAYS)} (or * for every day), "
                            f"not {item!r}.")
        start = WEEKDAYS.index(first)
        end = WEEKDAYS.index(last) if last else start
        days.extend(range(start, end + 1) if start <= end else [*range(start, 7),
                                                                   *range(end + 1)])
    return sorted(set(days))


_READERS: dict[str, Callable[[str, ZoneInfo], Any]] = {
    "int": _int, "list": _list, "lines": _lines, "datetime": _datetime,
    "key_values": _key_values, "caps": _caps, "dayparts": _dayparts,
}


def _set(data: dict[str, Any], path: list[str], value: Any) -> None:
    for part in path[:-1]:
        data = data.setdefault(part, {})
    data[path[-1]] = value


def _get(data: Mapping[str, Any], path: Sequence[str]) -> Any:
    value: Any = data
    for part in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


# -- showing values ---------------------------------------------------------------------------

def form_values(fields: Sequence[Field], shown: Mapping[str, Any], timezone: ZoneInfo
                ) -> dict[str, Any]:
    """What each field shows for a resource as the service dumps it."""
    return {spec.name: _show(spec, _get(shown, spec.name.split(".")), timezone)
            for spec in fields}


def posted_values(fields: Sequence[Field], form: MultiDict[str, str]) -> dict[str, Any]:
    """What each field shows after a refused post: what was typed, kept."""
    return {spec.name: (spec.name in form if spec.kind == "bool" else
                        form.getlist(spec.name) if spec.kind == "multi" else
                        form.get(spec.name, ""))
            for spec in fields}


def _show(spec: Field, value: Any, timezone: ZoneInfo) -> Any:
    if spec.kind == "bool":
        return bool(value)
    if spec.kind == "multi":
        return list(value or [])
    if value is None:
        return ""
    if spec.kind == "list":
        return ", ".join(str(item) for item in value)
    if spec.kind == "lines":
        return "\n".join(str(item) for item in value)
    if spec.kind == "datetime":
        return datetime.fromisoformat(str(value)).astimezone(timezone).strftime(LOCAL_FORMAT)
    if spec.kind == "key_values":
        return "\n".join(f"{key}={','.join(values)}" for key, values in value.items())
    if spec.kind == "caps":
        return "\n".join(f"{cap['impressions']}/{cap['period']}" for cap in value)
    if spec.kind == "dayparts":
        return "\n".join(f"{_days(part['weekdays'])} {part['start_hour']}-{part['end_hour']}"
                         for part in value)
    return str(value)


def _days(weekdays: Sequence[int]) -> str:
    if sorted(weekdays) == list(range(7)):
        return "*"
    return ",".join(WEEKDAYS[day] for day in sorted(weekdays))


# -- the service's messages, beside their fields ----------------------------------------------

def field_errors(fields: Sequence[Field], messages: Mapping[Any, Any]) -> Errors:
    """``Invalid.messages`` (marshmallow's nested shape, or the importer's ``a.b[0]`` paths)
    by the field each concerns: the field whose name is the longest prefix of the message's
    path. A message no field claims goes to ``FORM_ERRORS``, with its path."""
    names = {tuple(spec.name.split(".")): spec.name for spec in fields}
    errors: Errors = {}
    for path, message in _flatten(messages, ()):
        owner = next((names[path[:n]] for n in range(len(path), 0, -1) if path[:n] in names),
                     None)
        if owner is None:
            where = ".".join(part for part in path if part != "_schema")
            errors.setdefault(FORM_ERRORS, []).append(f"{where}: {message}" if where
                                                      else message)
            continue
        depth = len(owner.split("."))
        rest = [part for part in path[depth:] if part.isdigit()]
        prefix = f"item {int(rest[0]) + 1}: " if rest else ""
        errors.setdefault(owner, []).append(prefix + message)
    return errors


def _flatten(messages: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], str]]:
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            yield from _flatten(value, path + _split(str(key)))
    elif isinstance(messages, list | tuple):
        for message in messages:
            yield from _flatten(message, path)
    else:
        yield tuple(part for part in path if part not in ("_schema", "value", "key")), \
            str(messages)


def _split(key: str) -> tuple[str, ...]:
    """``targeting.slots[0]`` -> (targeting, slots, 0)."""
    return tuple(part for part in re.split(r"[.\[\]]+", key) if part)


@dataclass
class FormState:
    """One form as a template shows it."""

    fields: Sequence[Field]
    values: dict[str, Any]
    errors: Errors = field(default_factory=dict)
    creating: bool = True
    seen: str = ""
    """The fingerprint of the stored resource the form was made from (editing only)."""

    def groups(self) -> list[tuple[str, list[Field]]]:
        found: dict[str, list[Field]] = {}
        for spec in self.fields:
            found.setdefault(spec.group, []).append(spec)
        return list(found.items())
