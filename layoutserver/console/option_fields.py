"""A widget's options as a form, made from its marshmallow options schema.

Each schema field becomes a form :class:`~layoutserver.console.forms.Field`: a text box, a
number, a checkbox, a choice (a ``OneOf`` validator's choices and labels), a comma-separated
list, or JSON for anything else (a nested table). The label is the field's ``title`` metadata
or its name; the help is its ``description`` (or ``help``) metadata, with what its validators
allow and its default. What the values must be is the schema's business, as it is for a file:
the form only turns text into the type the schema reads (a number when the text is one, the
text itself otherwise, for the schema to refuse with its own message).

An option that the placement does not set shows its default; it is written into the layout
only when it is set to something else, so a form saved unchanged changes nothing.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from marshmallow import Schema, fields, missing, validate
from werkzeug.datastructures import MultiDict

from layoutserver.console.forms import Errors, Field, FieldKind

_INT = re.compile(r"^-?\d{1,15}$")
_NUMBER = re.compile(r"^-?\d{1,15}(\.\d{1,15})?$")


#: Where the options' fields are in the form (``options.count``): the place a layout problem
#: names (``field 'options.count'``), so each problem finds its field.
PREFIX = "options."


@dataclass(frozen=True)
class OptionField:
    """One option: how the form shows it, and how its text is read back."""

    key: str
    """The option's name in the layout."""
    field: Field
    """Its form field, named ``options.<key>``."""
    reads: str
    """``text``, ``int``, ``float``, ``bool``, ``list`` (of text), ``int_list`` or ``json``."""
    default: Any
    """The schema's ``load_default`` (``missing``: none, the option is required or unset)."""

    @property
    def name(self) -> str:
        return self.field.name


def option_fields(schema: Schema) -> list[OptionField]:
    """The form fields of ``schema``'s fields (those it loads), in the schema's order."""
    found = []
    for name, spec in schema.fields.items():
        if spec.dump_only:
            continue
        key = spec.data_key or name
        reads, kind = _kind(spec)
        default = spec.load_default() if callable(spec.load_default) else spec.load_default
        choices = _choices(spec)
        if choices is not None:
            kind = "select"
        metadata = spec.metadata
        label = str(metadata.get("title") or key.replace("_", " ").capitalize())
        found.append(OptionField(key, Field(
            name=PREFIX + key, label=label, kind=kind, help=_help(spec, reads, default),
            choices=None if choices is None else functools.partial(list, choices),
            prompt="(default)" if choices is not None and not spec.required else "",
            group="Options"), reads, default))
    return found


def _kind(spec: fields.Field[Any]) -> tuple[str, FieldKind]:
    if isinstance(spec, fields.Boolean):
        return "bool", "bool"
    if isinstance(spec, fields.Integer):
        return "int", "int"
    if isinstance(spec, fields.Number):
        return "float", "text"
    if isinstance(spec, fields.List) and isinstance(spec.inner, fields.Integer):
        return "int_list", "text"
    if isinstance(spec, fields.List) and isinstance(spec.inner, fields.String):
        return "list", "text"
    if isinstance(spec, fields.String):
        return "text", "text"
    return "json", "textarea"


def _choices(spec: fields.Field[Any]) -> list[tuple[str, str]] | None:
    for validator in spec.validators:
        if isinstance(validator, validate.OneOf):
            return [(str(value), str(label)) for value, label in validator.options()]
    return None


def _help(spec: fields.Field[Any], reads: str, default: Any) -> str:
    parts = [str(spec.metadata.get("description") or spec.metadata.get("help") or "")]
    parts += [_allowed(validator) for validator in spec.validators]
    if reads in ("list", "int_list"):
        parts.append("Separate items with commas.")
    if reads == "json":
        parts.append("Written as JSON.")
    if spec.required:
        parts.append("Required.")
    elif default is not missing and default is not None and (
            bool(default) or isinstance(default, int | float)):  # 0 and off are defaults
        shown = _text(default, reads)
        parts.append(f"Default: {json.dumps(shown) if reads == 'text' else shown}.")
    return " ".join(part for part in parts if part)


def _allowed(validator: Any) -> str:
    if isinstance(validator, validate.Range):
        low, high = validator.min, validator.max
        if low is not None and high is not None:
            return f"From {low} to {high}."
        return f"At least {low}." if low is not None else f"At most {high}."
    if isinstance(validator, validate.Length) and validator.max is not None:
        return f"At most {validator.max} characters."
    return ""


def _text(value: Any, reads: str) -> str:
    if reads in ("list", "int_list") and isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value)
    if reads == "json":
        return json.dumps(value, ensure_ascii=False)
    if reads == "bool":
        return "on" if value else "off"
    return str(value)


def shown_options(specs: Sequence[OptionField], options: Mapping[str, Any]) -> dict[str, Any]:
    """What each field shows for a placement's options: its value, or its default."""
    shown: dict[str, Any] = {}
    for spec in specs:
        value = options.get(spec.key, spec.default)
        if spec.reads == "bool":
            shown[spec.name] = bool(value) if value is not missing else False
        elif value is missing or value is None:
            shown[spec.name] = ""
        else:
            shown[spec.name] = _text(value, spec.reads)
    return shown


def posted_options(specs: Sequence[OptionField], form: MultiDict[str, str]) -> dict[str, Any]:
    """What each field shows after a refused post: what was typed."""
    return {spec.name: (spec.name in form) if spec.reads == "bool" else form.get(spec.name, "")
            for spec in specs}


def read_options(specs: Sequence[OptionField], form: MultiDict[str, str],
                 stored: Mapping[str, Any]) -> tuple[dict[str, Any], Errors]:
    """The options the form gives, and the fields whose text could not be read. An option the
    ``stored`` options did not set and that is left at its default stays unset; an empty text
    (or a field not posted) is no value (the default applies), but for a text option that has
    a default of its own, where an empty text is the empty text."""
    options: dict[str, Any] = {}
    errors: Errors = {}
    for spec in specs:
        try:
            value = _read(spec, form)
        except ValueError as error:
            errors[spec.name] = [str(error)]
            continue
        if value is missing:
            continue
        if spec.key not in stored and value == spec.default:
            continue
        options[spec.key] = value
    return options, errors


def _read(spec: OptionField, form: MultiDict[str, str]) -> Any:
    if spec.reads == "bool":
        return spec.name in form
    if spec.name not in form:  # not in the form at all (a browser posts every text box)
        return missing
    text = form[spec.name].strip()
    if not text:
        keeps_empty = spec.reads == "text" and spec.default not in (missing, None, "")
        return "" if keeps_empty and spec.field.kind != "select" else missing
    if spec.reads == "int":
        return _int(text)
    if spec.reads == "float":
        return float(text) if _NUMBER.match(text) else text
    if spec.reads in ("list", "int_list"):
        items = [item for item in (part.strip() for part in text.split(",")) if item]
        return [_int(item) for item in items] if spec.reads == "int_list" else items
    if spec.reads == "json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as error:
            raise ValueError(f"Not JSON: {error.msg} (line {error.lineno}, column "
                             f"{error.colno}).") from None
    return text


def _int(text: str) -> Any:
    """A whole number, or the text as it is for the schema to refuse with its message."""
    return int(text) if _INT.match(text) else text
