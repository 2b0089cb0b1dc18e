"""A widget's options schema as a form (``console.option_fields``), without an app."""

from __future__ import annotations

from marshmallow import Schema, fields, validate
from werkzeug.datastructures import MultiDict

from layoutserver.console.option_fields import option_fields, read_options, shown_options


class Every(Schema):
    layout = fields.String(required=True, validate=validate.OneOf(
        ["grid", "list"], labels=["A grid", "A list"]),
        metadata={"title": "Layout", "description": "How the items are laid out."})
    count = fields.Integer(load_default=5, validate=validate.Range(min=1, max=50))
    ratio = fields.Float(load_default=1.5)
    heading = fields.String(load_default="Latest", validate=validate.Length(max=20))
    note = fields.String(load_default=None, allow_none=True)
    boxed = fields.Boolean(load_default=False)
    tags = fields.List(fields.String(), load_default=list)
    sizes = fields.List(fields.Integer())
    extra = fields.Dict()


def test_each_field_is_shown_as_its_type_with_its_help() -> None:
    specs = {spec.key: spec for spec in option_fields(Every())}
    assert {key: (spec.reads, spec.field.kind) for key, spec in specs.items()} == {
        "layout": ("text", "select"), "count": ("int", "int"), "ratio": ("float", "text"),
        "heading": ("text", "text"), "note": ("text", "text"), "boxed": ("bool", "bool"),
        "tags": ("list", "text"), "sizes": ("int_list", "text"), "extra": ("json", "textarea")}
    layout = specs["layout"].field
    assert (layout.name, layout.label, layout.options()) == (
        "options.layout", "Layout", [("grid", "A grid"), ("list", "A list")])
    assert layout.help == "How the items are laid out. Required."
    assert specs["count"].field.help == "From 1 to 50. Default: 5."
    assert specs["heading"].field.help == 'At most 20 characters. Default: "Latest".'
    assert specs["boxed"].field.help == "Default: off."
    assert specs["tags"].field.help == "Separate items with commas."
    assert specs["extra"].field.help == "Written as JSON."
    assert shown_options(list(specs.values()), {"count": 3, "tags": ["a", "b"]}) == {
        "options.layout": "", "options.count": "3", "options.ratio": "1.5",
        "options.heading": "Latest", "options.note": "", "options.boxed": False,
        "options.tags": "a, b", "options.sizes": "", "options.extra": ""}


def test_what_the_form_gives_back() -> None:
    specs = option_fields(Every())
    form = MultiDict({"options.layout": "grid", "options.count": "5", "options.ratio": "2",
                      "options.heading": "", "options.note": "", "options.tags": "a, ,b",
                      "options.sizes": "300, x", "options.extra": '{"a": [1]}'})
    options, errors = read_options(specs, form, stored={})
    # the count left at its default stays out; an empty heading (whose default is a text) is
    # the empty text; an empty note (default none) is no value; a number that is not one is
    # kept as typed, for the schema to refuse
    assert (options, errors) == ({"layout": "grid", "ratio": 2.0, "heading": "",
                                  "tags": ["a", "b"], "sizes": [300, "x"],
                                  "extra": {"a": [1]}}, {})
    kept, _ = read_options(specs, form, stored={"count": 5, "boxed": False})
    assert kept["count"] == 5 and kept["boxed"] is False  # set before: kept as set
    _, errors = read_options(specs, MultiDict({"options.extra": "{oops"}), stored={})
    assert errors == {"options.extra": [
        "Not JSON: Expecting property name enclosed in double quotes (line 1, column 2)."]}
