"""Form text to service input and the service's messages back to fields (no app needed)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest
from werkzeug.datastructures import MultiDict

from layoutserver.console.forms import (
    FORM_ERRORS,
    Field,
    field_errors,
    form_values,
    posted_values,
    read_form,
)
from layoutserver.console.resources import LINE_ITEM, SLOT

NEW_YORK = ZoneInfo("America/New_York")


def read(fields: tuple[Field, ...], creating: bool = True, **values: str | list[str]) -> tuple:
    form: MultiDict[str, str] = MultiDict()
    for name, value in values.items():
        for item in value if isinstance(value, list) else [value]:
            form.add(name.replace("__", "."), item)
    return read_form(fields, form, NEW_YORK, creating=creating)


def test_a_line_item_form_becomes_the_service_input() -> None:
    data, errors = read(
        LINE_ITEM.fields, name="Spring", campaign="C", status="active", creatives=["a", "b"],
        tier="standard", priority="3", weight="x1", start="2024-10-01T06:00",
        end="2024-10-31T00:00", dayparts="mon-fri 6-10\n* 20-24\nsat,sun 8-9",
        targeting__slots=["article-1"], targeting__sections="world, politics",
        targeting__key_values="topic=travel,finance\nkw=x", targeting__paths="/pages/*\n",
        goal__metric="impressions", goal__amount="1000", goal__period="lifetime",
        pacing="even", caps="3/day\n10 / week", exclusion_labels="airline", roadblock="1",
    )
    assert errors == {}
    assert data["priority"] == 3
    assert data["weight"] == "x1"  # not a number: passed on for the service to refuse
    assert data["start"] == "2024-10-01T06:00:00-04:00"  # site time, with its offset
    assert data["dayparts"] == [
        {"weekdays": [0, 1, 2, 3, 4], "start_hour": 6, "end_hour": 10},
        {"weekdays": list(range(7)), "start_hour": 20, "end_hour": 24},
        {"weekdays": [5, 6], "start_hour": 8, "end_hour": 9},
    ]
    assert data["targeting"]["slots"] == ["article-1"]
    assert data["targeting"]["sections"] == ["world", "politics"]
    assert data["targeting"]["key_values"] == {"topic": ["travel", "finance"], "kw": ["x"]}
    assert data["targeting"]["paths"] == ["/pages/*"]
    assert data["targeting"]["devices"] == []
    assert data["goal"] == {"metric": "impressions", "amount": 1000, "period": "lifetime"}
    assert data["caps"] == [{"impressions": 3, "period": "day"},
                            {"impressions": 10, "period": "week"}]
    assert data["roadblock"] is True


def test_no_goal_metric_is_no_goal() -> None:
    data, _ = read(LINE_ITEM.fields, goal__metric="", goal__amount="", goal__period="lifetime")
    assert data["goal"] is None


@pytest.mark.parametrize(("field", "text", "message"), [
    ("caps", "three a day", "impressions/period"),
    ("dayparts", "weekdays 6-10", "Name days as"),
    ("dayparts", "mon 6", "days start-end"),
    ("targeting__key_values", "topic", "key=value1,value2"),
    ("start", "next tuesday", "date and time"),
])
def test_text_that_cannot_be_read_is_an_error_of_its_field(
    field: str, text: str, message: str
) -> None:
    _, errors = read(LINE_ITEM.fields, **{field: text})
    assert message in errors[field.replace("__", ".")][0]


def test_the_key_is_read_only_when_editing() -> None:
    data, _ = read(SLOT.fields, creating=False, code="other", name="Top")
    assert "code" not in data
    assert data["name"] == "Top"


def test_empty_sizes_of_a_device_are_left_out() -> None:
    data, _ = read(SLOT.fields, code="top", sizes__desktop="728x90, 970x250", sizes__mobile="")
    assert data["sizes"] == {"desktop": ["728x90", "970x250"]}


def test_marshmallow_messages_go_beside_their_fields() -> None:
    messages = {
        "sizes": {"desktop": {"value": {1: ["Not a size."]}}, "phone": {"key": ["Bad key."]}},
        "goal": {"amount": ["Must be at least 1."]},
        "targeting": {"slots": {0: ["Not a valid code."]}},
        "caps": {0: {"period": ["Must be one of: hour."]}},
        "end": ["Must be after start."],
        "_schema": ["Something about the whole."],
        "nonsense": ["Unknown field."],
    }
    fields = (*SLOT.fields, *LINE_ITEM.fields)
    errors = field_errors(fields, messages)
    assert errors["sizes.desktop"] == ["item 2: Not a size."]
    assert errors["goal.amount"] == ["Must be at least 1."]
    assert errors["targeting.slots"] == ["item 1: Not a valid code."]
    assert errors["caps"] == ["item 1: Must be one of: hour."]
    assert errors["end"] == ["Must be after start."]
    assert "Something about the whole." in errors[FORM_ERRORS]
    assert "sizes.phone: Bad key." in errors[FORM_ERRORS]
    assert "nonsense: Unknown field." in errors[FORM_ERRORS]


def test_the_importers_paths_go_beside_their_fields() -> None:
    errors = field_errors(LINE_ITEM.fields, {"targeting.slots[0]": ["Unknown slot 'x'."],
                                             "creatives[1]": ["Unknown creative 'y'."]})
    assert errors == {"targeting.slots": ["item 1: Unknown slot 'x'."],
                      "creatives": ["item 2: Unknown creative 'y'."]}


def test_values_shown_round_trip() -> None:
    shown = {
        "start": "2024-10-01T10:00:00+00:00", "caps": [{"impressions": 3, "period": "day"}],
        "dayparts": [{"weekdays": [0, 1, 2, 3, 4], "start_hour": 6, "end_hour": 10}],
        "targeting": {"key_values": {"topic": ["a", "b"]}, "slots": ["x"], "sections": ["w"]},
        "goal": None, "roadblock": False,
    }
    values = form_values(LINE_ITEM.fields, shown, NEW_YORK)
    assert values["start"] == "2024-10-01T06:00"
    assert values["caps"] == "3/day"
    assert values["dayparts"] == "mon,tue,wed,thu,fri 6-10"
    assert values["targeting.key_values"] == "topic=a,b"
    assert values["targeting.slots"] == ["x"]
    assert values["targeting.sections"] == "w"
    assert values["goal.metric"] == ""
    assert values["roadblock"] is False
    again, errors = read(LINE_ITEM.fields, start=values["start"], caps=values["caps"],
                         dayparts=values["dayparts"])
    assert errors == {}
    assert again["caps"] == shown["caps"]
    assert again["dayparts"] == shown["dayparts"]


def test_a_refused_post_shows_what_was_typed() -> None:
    form = MultiDict([("name", "x"), ("creatives", "a"), ("creatives", "b"), ("roadblock", "1")])
    values = posted_values(LINE_ITEM.fields, form)
    assert values["name"] == "x"
    assert values["creatives"] == ["a", "b"]
    assert values["roadblock"] is True
    assert values["pacing"] == ""
