"""Layout files: what loads, and how every problem is reported (file, region, placement, field).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import pytest
from test_registry import install_broken_dist

from layoutserver.layouts import LayoutError, load_layouts
from layoutserver.layouts.loader import LayoutProblem
from layoutserver.registry import WidgetRegistry

REPO = Path(__file__).resolve().parents[2]
SEED_PATH = "/pages/article/east-turkistan-government-in-exile-condemns-china-pakistan-cooperation"

VALID = """\
subject = "article"
title = "Story"

[[regions]]
name = "top"

[[regions.placements]]
widget = "date_bar"

[[regions]]
name = "main"

[[regions.placements]]
widget = "latest_news"
options = { count = 4 }

[[regions.placements]]
widget = "latest_news"

[[regions.placements]]
widget = "latest_news"
id = "more"
options = { heading = "More", offset = 4 }

[[regions]]
name = "aside"

[[regions.placements]]
widget = "must_read"
"""


@pytest.fixture(scope="module")
def registry() -> WidgetRegistry:
    return WidgetRegistry.discover()


@pytest.fixture
def write(tmp_path: Path) -> Any:
    """``write({"article": TOML, ...})``: a layouts directory holding those files."""
    directory = tmp_path / "layouts"
    directory.mkdir()

    def make(files: dict[str, str]) -> Path:
        for page_type, text in files.items():
            (directory / f"{page_type}.toml").write_text(text, encoding="utf-8")
        return directory

    return make


def problems_of(directory: Path, registry: WidgetRegistry) -> list[LayoutProblem]:
    with pytest.raises(LayoutError) as error:
        load_layouts(directory, registry)
    assert error.value.problems
    for problem in error.value.problems:
        assert str(problem) in str(error.value)
    return error.value.problems


# --- valid layouts ---------------------------------------------------------------------------


def test_a_valid_layout_loads_with_regions_in_file_order_and_default_ids(
    write: Any, registry: WidgetRegistry
) -> None:
    layouts = load_layouts(write({"article": VALID}), registry)
    layout = layouts.get("article")
    assert layout is not None
    assert (layout.page_type, layout.subject, layout.title) == ("article", "article", "Story")
    assert [region.name for region in layout.regions] == ["top", "main", "aside"]
    assert [p.id for p in layout.placements()] == [
        "date-bar", "latest-news", "latest-news-2", "more", "must-read"
    ]
    main = layout.region("main")
    assert main is not None
    assert [p.region for p in main.placements] == ["main"] * 3
    assert all(p.available for p in layout.placements())


def test_options_are_loaded_by_the_widget_schema_with_defaults(
    write: Any, registry: WidgetRegistry
) -> None:
    layout = load_layouts(write({"article": VALID}), registry).get("article")
    assert layout is not None
    first, second, more = (layout.placement(i) for i in ("latest-news", "latest-news-2", "more"))
    assert first is not None and second is not None and more is not None
    assert first.options["count"] == 4
    assert first.options["offset"] == 0
    assert first.options["heading"] == "Latest news"
    assert second.options["count"] == 5
    assert (more.options["heading"], more.options["offset"]) == ("More", 4)
    assert first.options_key == '{"count":4}'
    assert second.options_key == "{}"


def test_the_project_layouts_load_against_the_installed_widgets(registry: WidgetRegistry) -> None:
    layouts = load_layouts(REPO / "config" / "layouts", registry)
    assert {layout.page_type for layout in layouts} >= {"article", "section"}
    section = layouts.get("section")
    assert section is not None and section.subject == "section"


def test_the_digest_changes_when_the_file_changes(write: Any, registry: WidgetRegistry) -> None:
    directory = write({"article": VALID})
    before = load_layouts(directory, registry).get("article")
    (directory / "article.toml").write_text(VALID.replace("count = 4", "count = 3"))
    after = load_layouts(directory, registry).get("article")
    assert before is not None and after is not None
    assert before.digest != after.digest


# --- problems --------------------------------------------------------------------------------

ONE_PLACEMENT = """\
subject = "article"

[[regions]]
name = "main"

[[regions.placements]]
{placement}
"""


@pytest.mark.parametrize(
    ("placement", "where", "field", "message"),
    [
        ('widget = "latest_news"\noptions = { count = "four" }',
         "#1 (latest_news, id 'latest-news')", "options.count",
         "Not a valid integer."),
        ('widget = "latest_news"\noptions = { count = 0 }',
         "#1 (latest_news, id 'latest-news')", "options.count",
         "greater than or equal to 1"),
        ('widget = "latest_news"\noptions = { count = 500 }',
         "#1 (latest_news, id 'latest-news')", "options.count",
         "less than or equal to 50"),
        ('widget = "latest_news"\noptions = { colour = "red" }',
         "#1 (latest_news, id 'latest-news')", "options.colour", "Unknown field."),
        ('widget = "latest_news"\ncolour = "red"',
         "#1 (latest_news)", "colour", "unknown key"),
        ('widget = "newsletter_signup"',
         "#1 (newsletter_signup, id 'newsletter-signup')", "options.action",
         "Missing data for required field."),
        ('id = "no-widget"', "#1", "widget", "required"),
        ('widget = "latest_news"\nid = "Not An Id"', "#1 (latest_news)", "id",
         "must match"),
    ],
    ids=["bad-type", "below-range", "above-range", "unknown-option", "unknown-placement-key",
         "missing-required-option", "no-widget", "bad-id"],
)
def test_a_placement_problem_names_file_region_placement_and_field(
    write: Any, registry: WidgetRegistry, placement: str, where: str, field: str, message: str
) -> None:
    directory = write({"article": ONE_PLACEMENT.format(placement=placement)})
    problems = problems_of(directory, registry)
    matching = [p for p in problems if p.field == field]
    assert len(matching) == 1, problems
    problem = matching[0]
    assert problem.file == str(directory / "article.toml")
    assert (problem.region, problem.placement) == ("main", where)
    text = str(problem)
    assert text.startswith(f"{directory / 'article.toml'}: region 'main': placement {where}: ")
    assert f"field {field!r}" in text
    assert message in text


def test_an_unknown_widget_lists_the_installed_widgets(
    write: Any, registry: WidgetRegistry
) -> None:
    directory = write({"article": ONE_PLACEMENT.format(placement='widget = "weather"')})
    [problem] = problems_of(directory, registry)
    assert (problem.region, problem.placement, problem.field) == (
        "main", "#1 (weather, id 'weather')", "widget"
    )
    assert "unknown widget 'weather'" in problem.message
    installed = problem.message.split("installed widgets: ", 1)[1].split(", ")
    assert installed == registry.names()
    assert "newsletter_signup" in installed


def test_unknown_keys_in_a_file_and_a_region(write: Any, registry: WidgetRegistry) -> None:
    text = 'layout_version = 2\n' + VALID.replace('name = "top"', 'name = "top"\nsticky = true')
    directory = write({"article": text})
    problems = problems_of(directory, registry)
    by_field = {p.field: p for p in problems}
    assert set(by_field) == {"layout_version", "sticky"}
    assert by_field["layout_version"].region is None
    assert "unknown key" in str(by_field["layout_version"])
    assert by_field["sticky"].region == "top"
    assert str(by_field["sticky"]).endswith("region 'top': field 'sticky': unknown key")


def test_a_placement_id_used_twice(write: Any, registry: WidgetRegistry) -> None:
    text = VALID.replace('id = "more"', 'id = "latest-news-2"')
    [problem] = problems_of(write({"article": text}), registry)
    assert problem.region == "main"
    assert problem.placement == "#3 (latest_news)"
    assert problem.field == "id"
    assert "'latest-news-2' is used twice" in problem.message


def test_an_explicit_id_and_a_default_id_do_not_clash(
    write: Any, registry: WidgetRegistry
) -> None:
    text = ONE_PLACEMENT.format(placement='widget = "date_bar"\nid = "latest-news"') + (
        '\n[[regions.placements]]\nwidget = "latest_news"\n'
    )
    layout = load_layouts(write({"article": text}), registry).get("article")
    assert layout is not None
    assert [p.id for p in layout.placements()] == ["latest-news", "latest-news-2"]


def test_a_region_name_used_twice(write: Any, registry: WidgetRegistry) -> None:
    text = VALID.replace('name = "aside"', 'name = "top"')
    [problem] = problems_of(write({"article": text}), registry)
    assert problem.region == "top"
    assert "region name used twice" in problem.message


def test_a_region_is_the_element_its_name_says_unless_the_layout_declares_one(
    write: Any, registry: WidgetRegistry
) -> None:
    text = VALID.replace('name = "top"', 'name = "top"\nelement = "header"').replace(
        'name = "aside"', 'name = "aside"\nlabel = " More to read "')
    layout = load_layouts(write({"article": text}), registry).get("article")
    assert layout is not None
    assert [(r.name, r.element, r.label) for r in layout.regions] == [
        ("top", "header", None), ("main", "main", None), ("aside", "aside", "More to read")]
    assert layout.main_region is layout.region("main")
    plain = load_layouts(write({"article": VALID.replace('name = "main"', 'name = "body"')}),
                         registry).get("article")
    assert plain is not None
    assert [r.element for r in plain.regions] == ["div", "div", "aside"]
    assert plain.main_region is None


@pytest.mark.parametrize(("key", "value", "message"), [
    ("element", '"banner"', "must be one of header, main, aside, footer, nav, section, div"),
    ("element", "3", "must be one of"),
    ("label", '""', "must be a text of 1 to 100 characters"),
    ("label", "true", "must be a text of 1 to 100 characters"),
])
def test_a_bad_region_element_or_label(write: Any, registry: WidgetRegistry, key: str,
                                       value: str, message: str) -> None:
    text = VALID.replace('name = "top"', f'name = "top"\n{key} = {value}')
    [problem] = problems_of(write({"article": text}), registry)
    assert (problem.region, problem.field) == ("top", key)
    assert message in problem.message


def test_a_page_has_one_main_region(write: Any, registry: WidgetRegistry) -> None:
    text = VALID.replace('name = "aside"', 'name = "aside"\nelement = "main"')
    [problem] = problems_of(write({"article": text}), registry)
    assert (problem.region, problem.field) == ("aside", "element")
    assert "one main landmark" in problem.message


def test_invalid_toml_names_the_file(write: Any, registry: WidgetRegistry) -> None:
    directory = write({"article": VALID, "broken": "[[regions]\nname = "})
    [problem] = problems_of(directory, registry)
    assert problem.file == str(directory / "broken.toml")
    assert str(problem).startswith(f"{directory / 'broken.toml'}: not valid TOML: ")


@pytest.mark.parametrize("subject", ['"gallery"', "3"])
def test_a_bad_subject(write: Any, registry: WidgetRegistry, subject: str) -> None:
    text = VALID.replace('subject = "article"', f"subject = {subject}")
    [problem] = problems_of(write({"article": text}), registry)
    assert problem.field == "subject"
    assert "article, section" in problem.message


def test_a_file_without_regions(write: Any, registry: WidgetRegistry) -> None:
    [problem] = problems_of(write({"article": 'subject = "article"\n'}), registry)
    assert problem.field == "regions"


def test_an_empty_directory(tmp_path: Path, registry: WidgetRegistry) -> None:
    [problem] = problems_of(tmp_path, registry)
    assert problem.file == str(tmp_path)
    assert "no layout files" in problem.message


def test_a_missing_directory(tmp_path: Path, registry: WidgetRegistry) -> None:
    [problem] = problems_of(tmp_path / "nowhere", registry)
    assert "not found" in problem.message


def test_every_problem_in_every_file_is_reported_at_once(
    write: Any, registry: WidgetRegistry
) -> None:
    bad_article = VALID.replace("count = 4", 'count = "four"').replace(
        'widget = "must_read"', 'widget = "weather"'
    )
    bad_section = VALID.replace('subject = "article"', 'subject = "gallery"')
    directory = write({"article": bad_article, "section": bad_section, "notes": "= nope"})
    problems = problems_of(directory, registry)
    described = {(Path(p.file).name, p.region, p.field) for p in problems}
    assert described == {
        ("article.toml", "main", "options.count"),
        ("article.toml", "aside", "widget"),
        ("notes.toml", None, None),
        ("section.toml", None, "subject"),
    }


# --- a widget that is installed but failed to load ---------------------------------------------

WITH_BROKEN = """\
subject = "article"

[[regions]]
name = "main"

[[regions.placements]]
widget = "latest_news"
options = { count = 2 }

[[regions.placements]]
widget = "fails_on_import"
id = "broken-box"
options = { anything = "goes" }
"""


def test_a_widget_that_failed_to_load_is_kept_unavailable_not_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, write: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    install_broken_dist(tmp_path, monkeypatch)
    registry = WidgetRegistry.discover()
    with caplog.at_level(logging.ERROR, logger="layoutserver.layouts"):
        layout = load_layouts(write({"article": WITH_BROKEN}), registry).get("article")
    assert layout is not None
    placement = layout.placement("broken-box")
    assert placement is not None
    assert placement.available is False
    assert placement.widget == "fails_on_import"
    other = layout.placement("latest-news")
    assert other is not None and other.available
    assert any("fails_on_import" in r.getMessage() and "failed to load" in r.getMessage()
               for r in caplog.records)


def test_a_page_renders_without_a_widget_that_failed_to_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make_app: Any
) -> None:
    install_broken_dist(tmp_path, monkeypatch)
    app = make_app(layouts={"article": WITH_BROKEN})
    response = app.test_client().get(SEED_PATH)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'data-placement="latest-news"' in html
    assert html.count('class="news-list__item"') == 2
    broken = re.search(r'data-placement="broken-box">(.*?)</div>', html, re.S)
    assert broken is not None
    assert broken.group(1) == ""
