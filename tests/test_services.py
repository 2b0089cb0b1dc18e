"""What the domains' services share: the importer's problems as nested field messages."""

from __future__ import annotations

from layoutserver.services import import_messages


def test_problem_paths_become_nested_field_messages() -> None:
    assert import_messages([
        "line_items[0].targeting.slots[2]: Unknown slot 'x'.",
        "line_items[0].creatives[0]: Unknown creative 'c'.",
        "line_items[0].creatives[1]: Unknown creative 'd'.",
        "line_items[0].end: Must be after start.",
        "(document): Not valid JSON.",
    ]) == {
        "targeting": {"slots": {2: ["Unknown slot 'x'."]}},
        "creatives": {0: ["Unknown creative 'c'."], 1: ["Unknown creative 'd'."]},
        "end": ["Must be after start."],
        "_schema": ["(document): Not valid JSON."],
    }


def test_a_field_with_messages_of_its_own_and_nested_ones_keeps_both() -> None:
    assert import_messages([
        "editorial_lists[0].articles: Too many.",
        "editorial_lists[0].articles[1]: Unknown article 'x'.",
        "editorial_lists[0].articles: Not sorted.",
    ]) == {"articles": {"_schema": ["Too many.", "Not sorted."],
                        1: ["Unknown article 'x'."]}}
