"""The ``layoutserver`` command, run through click's CliRunner with settings from the
environment, the way an operator runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, inspect, select
from test_registry import BROKEN_FAILURES, install_broken_dist

from layoutserver.cli import main
from layoutserver.content.models import Article, Section
from layoutserver.db import Database

REPO = Path(__file__).resolve().parent.parent
PROJECT_LAYOUTS = REPO / "config" / "layouts"
BUILT_INS = {"article_body", "author_box", "latest_news", "must_read", "date_bar",
             "section_title"}


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def count_rows(url: str, model: Any) -> int:
    database = Database(url)
    try:
        with database.session() as session:
            return session.scalar(select(func.count()).select_from(model)) or 0
    finally:
        database.dispose()


# --- widgets list ----------------------------------------------------------------------------


def test_widgets_list_shows_distribution_version_and_options(cli_database_url: str) -> None:
    result = run("widgets", "list")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    headers = {line.split()[0]: line for line in lines if not line.startswith(" ")}
    assert set(headers) >= BUILT_INS | {"newsletter_signup"}
    assert headers["latest_news"].startswith(
        "latest_news 1.0  (layoutserver 0.1.0, layoutserver.plugins.latest_news:LatestNews)"
    )
    assert "cache: shared 120s, varies on slug, date" in headers["latest_news"]
    assert headers["newsletter_signup"].startswith(
        "newsletter_signup 1.2.0  (layoutserver-example-widget 1.2.0, "
        "layoutserver_example_widget:NewsletterSignup)"
    )
    # Options, indented under their widget: a default after "=", none for a required one.
    start = lines.index(headers["latest_news"])
    options = []
    for line in lines[start + 1:]:
        if not line.startswith("    "):
            break
        options.append(line.strip())
    assert "count: Integer = 5" in options
    assert "heading: String = 'Latest news'" in options
    assert "    action: String" in lines
    assert "FAILED" not in result.output


def test_widgets_list_json(cli_database_url: str) -> None:
    result = run("widgets", "list", "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["failures"] == []
    widgets = {row["name"]: row for row in document["widgets"]}
    assert set(widgets) >= BUILT_INS | {"newsletter_signup"}
    signup = widgets["newsletter_signup"]
    assert signup["distribution"] == "layoutserver-example-widget"
    assert (signup["version"], signup["distribution_version"]) == ("1.2.0", "1.2.0")
    assert signup["cache"] == "shared 3600s, varies on locale"
    options = {option["name"]: option for option in signup["options"]}
    assert options["action"] == {"name": "action", "type": "String", "required": True,
                                 "default": None}
    assert options["button"]["default"] == "Sign up"
    assert widgets["date_bar"]["options"] == []


def test_widgets_list_shows_a_disabled_widget_as_disabled(
    cli_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAYOUTSERVER_WIDGETS_DISABLED", "date_bar")
    result = run("widgets", "list")
    assert result.exit_code == 0, result.output
    assert ("DISABLED date_bar (layoutserver 0.1.0, layoutserver.plugins.date_bar:DateBar): "
            "not loaded, WIDGETS_DISABLED names it") in result.stdout.splitlines()
    assert not any(line.startswith("date_bar ") for line in result.stdout.splitlines())
    document = json.loads(run("widgets", "list", "--json").stdout)
    assert document["disabled"] == [{
        "name": "date_bar", "source": "layoutserver.plugins.date_bar:DateBar",
        "distribution": "layoutserver", "distribution_version": "0.1.0"}]


def test_widgets_list_shows_a_failed_plugin_with_its_error(
    cli_database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install_broken_dist(tmp_path, monkeypatch)
    result = run("widgets", "list")
    assert result.exit_code == 0, result.output
    assert (
        "FAILED fails_on_import (broken_widgets, broken_widgets_import_error:Anything): "
        "ImportError: a dependency of this widget is missing"
    ) in result.stdout.splitlines()
    assert "working_extra 1  (broken_widgets 0.1" in result.stdout

    document = json.loads(run("widgets", "list", "--json").stdout)
    failures = {failure["name"]: failure for failure in document["failures"]}
    for name, error in BROKEN_FAILURES.items():
        assert error in failures[name]["error"]
        assert failures[name]["distribution"] == "broken_widgets"


# --- layouts check ----------------------------------------------------------------------------


def test_layouts_check_passes_on_the_project_layouts(cli_database_url: str) -> None:
    result = run("layouts", "check")
    assert result.exit_code == 0, result.output
    assert f"ok  {PROJECT_LAYOUTS / 'article.toml'}: article (3 regions, 11 placements)" in (
        result.stdout.splitlines()
    )
    assert f"ok  {PROJECT_LAYOUTS / 'section.toml'}: section (3 regions, 4 placements)" in (
        result.stdout.splitlines()
    )
    assert result.stderr == ""


def test_layouts_check_fails_naming_file_region_placement_and_field(
    cli_database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    layouts = tmp_path / "layouts"
    layouts.mkdir()
    bad = (PROJECT_LAYOUTS / "article.toml").read_text().replace(
        "count = 4", 'count = "four"'
    )
    (layouts / "article.toml").write_text(bad)
    monkeypatch.setenv("LAYOUTSERVER_LAYOUTS_DIR", str(layouts))
    result = run("layouts", "check")
    assert result.exit_code == 1
    expected = (f"{layouts / 'article.toml'}: region 'main': placement #6 (latest_news, id "
                f"'latest-news'): field 'options.count': Not a valid integer.")
    assert expected in result.stderr
    assert "ok  " not in result.stdout


def test_layouts_check_names_a_variants_problem_and_a_bad_inner_position(
    cli_database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    layouts = tmp_path / "layouts"
    layouts.mkdir()
    inline = ('\n[[regions.placements]]\nwidget = "ad_spot"\nid = "ad-inline"\n'
              'options = { slot = "inline-1" }\ninside = "article"\nposition = "POSITION"\n')
    article = (PROJECT_LAYOUTS / "article.toml").read_text().replace(
        '[[regions]]\nname = "aside"', inline + '\n[[regions]]\nname = "aside"')
    variant = ('\n[[variants]]\nname = "sports"\nsections = ["sports"]\n\n'
               '[[variants.regions]]\nname = "REGION"\n')
    (layouts / "article.toml").write_text(article.replace("POSITION", "after-paragraph-3")
                                          + variant.replace("REGION", "aside"))
    monkeypatch.setenv("LAYOUTSERVER_LAYOUTS_DIR", str(layouts))
    result = run("layouts", "check")
    assert result.exit_code == 0, result.output
    assert f"ok  {layouts / 'article.toml'}: article (3 regions, 12 placements, 1 variant(s))" in (
        result.stdout.splitlines())
    (layouts / "article.toml").write_text(article.replace("POSITION", "after-3")
                                          + variant.replace("REGION", "side"))
    result = run("layouts", "check")
    assert result.exit_code == 1
    where = f"{layouts / 'article.toml'}: "
    assert (f"{where}region 'main': placement #10 (ad_spot, id 'ad-inline'): field 'position': "
            "widget 'article_body' (placement 'article') offers no position 'after-3'; it "
            "offers: after-paragraph-{n} ({n}: a number from 1)") in result.stderr
    assert (f"{where}variant 'sports': region 'side': field 'name': not a region of the "
            "layout: a variant replaces the layout's regions by name (aside, header, main)"
            ) in result.stderr


def test_layouts_check_warns_about_a_failed_plugin_but_passes(
    cli_database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install_broken_dist(tmp_path, monkeypatch)
    result = run("layouts", "check")
    assert result.exit_code == 0, result.output
    assert "warning: widget fails_on_import failed to load: ImportError" in result.stderr


def test_layouts_check_strict_fails_on_a_widget_that_failed_to_load(
    cli_database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """For CI: a placed widget whose import fails renders empty in production; --strict
    makes that a failure rather than a warning."""
    install_broken_dist(tmp_path, monkeypatch)
    layouts = tmp_path / "layouts"
    layouts.mkdir()
    placed = '\n[[regions.placements]]\nwidget = "fails_on_import"\n'
    (layouts / "article.toml").write_text((PROJECT_LAYOUTS / "article.toml").read_text() + placed)
    monkeypatch.setenv("LAYOUTSERVER_LAYOUTS_DIR", str(layouts))
    assert run("layouts", "check").exit_code == 0
    result = run("layouts", "check", "--strict")
    assert result.exit_code == 1
    assert ("error: widget fails_on_import failed to load: ImportError: a dependency of this "
            "widget is missing; placed 1 time(s), rendering empty") in result.stderr.splitlines()
    assert f"ok  {layouts / 'article.toml'}: article" in result.stdout


def test_layouts_check_strict_passes_on_the_project_layouts(cli_database_url: str) -> None:
    assert run("layouts", "check", "--strict").exit_code == 0


def in_a_process(environment: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``layoutserver ARGS`` as a shell runs it: every line it and its logging write."""
    command = [str(Path(sys.executable).with_name("layoutserver")), *args]
    return subprocess.run(command, env={**os.environ, **environment}, capture_output=True,
                          text=True, timeout=60, check=False)


def test_layouts_check_prints_each_problem_once_and_a_disabled_widget_as_a_note(
    cli_database_url: str, tmp_path: Path,
) -> None:
    layouts = tmp_path / "layouts"
    layouts.mkdir()
    (layouts / "article.toml").write_text((PROJECT_LAYOUTS / "article.toml").read_text()
                                          .replace("count = 4", 'count = "four"'))
    (layouts / "section.toml").write_text((PROJECT_LAYOUTS / "section.toml").read_text())
    result = in_a_process({"LAYOUTSERVER_LAYOUTS_DIR": str(layouts),
                           "LAYOUTSERVER_WIDGETS_DISABLED": "date_bar"}, "layouts", "check")
    assert result.returncode == 1
    output = result.stdout + result.stderr
    assert output.count("field 'options.count': Not a valid integer.") == 1, output
    assert "note: widget date_bar is disabled (WIDGETS_DISABLED)" in result.stderr
    assert "ERROR" not in output  # switched off on purpose is not an error
    other = in_a_process({"LAYOUTSERVER_LAYOUTS_DIR": str(layouts)}, "widgets", "list")
    assert other.returncode == 0
    assert "Not a valid integer" not in other.stderr  # other commands: one line, not the list
    assert "warning: 1 layout problem(s): `layoutserver layouts check` lists them" in other.stderr


# --- db, demo and content ----------------------------------------------------------------------


def test_db_init_creates_the_tables(cli_database_url: str) -> None:
    result = run("db", "init")
    assert result.exit_code == 0, result.output
    assert "database ready" in result.stdout
    database = Database(cli_database_url)
    try:
        tables = set(inspect(database.engine).get_table_names())
    finally:
        database.dispose()
    assert {Article.__tablename__, Section.__tablename__} <= tables


def test_demo_load_is_idempotent(cli_database_url: str) -> None:
    first = run("demo", "load")
    assert first.exit_code == 0, first.output
    assert " 0 created" not in first.stdout
    articles = count_rows(cli_database_url, Article)
    assert articles > 0
    second = run("demo", "load")
    assert second.exit_code == 0, second.output
    assert "0 created, 0 updated" in second.stdout
    assert count_rows(cli_database_url, Article) == articles


def test_content_import_of_an_invalid_file_exits_1_and_writes_nothing(
    cli_database_url: str, tmp_path: Path
) -> None:
    assert run("db", "init").exit_code == 0
    document = {
        "sections": [{"slug": "world", "name": "World"}],
        "articles": [{"slug": "a-story", "title": "A story", "body_html": "<p>x</p>",
                      "published_at": "2024-10-10T09:00:00", "section": "world"}],
    }
    path = tmp_path / "content.json"
    path.write_text(json.dumps(document))
    result = run("content", "import", str(path))
    assert result.exit_code == 1
    assert "nothing imported" in result.stderr
    assert "articles[0].published_at" in result.stderr
    assert count_rows(cli_database_url, Section) == 0
    assert count_rows(cli_database_url, Article) == 0


def test_content_import_of_a_valid_file(cli_database_url: str, tmp_path: Path) -> None:
    assert run("db", "init").exit_code == 0
    document = {"sections": [{"slug": "world", "name": "World"}]}
    path = tmp_path / "content.json"
    path.write_text(json.dumps(document))
    result = run("content", "import", str(path))
    assert result.exit_code == 0, result.output
    assert f"{path}: 1 created, 0 updated, 0 unchanged" in result.stdout
    assert count_rows(cli_database_url, Section) == 1


def test_content_import_of_json_lines_with_a_progress_bar_and_a_summary(
    cli_database_url: str, tmp_path: Path
) -> None:
    assert run("db", "init").exit_code == 0
    path = tmp_path / "content.jsonl"
    path.write_text("".join(json.dumps({"section": {"slug": f"s{n}", "name": f"S{n}"}}) + "\n"
                            for n in range(7)))
    result = run("content", "import", "--progress", "--batch-size", "3", str(path))
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{path}: 7 created, 0 updated, 0 unchanged (7 items in 3 batches in "\
        f"{result.stdout.split(' in ')[-1]}"
    # Not a terminal: a line per tenth of the file (here, per batch) instead of a bar.
    assert result.stderr.splitlines()[-1].startswith("importing: 100%, 7 items in 3 batches, ")
    assert len(result.stderr.splitlines()) == 3
    assert count_rows(cli_database_url, Section) == 7
    quiet = run("content", "import", str(path))  # no terminal, no flag: no bar
    assert quiet.stderr == ""
    assert "0 created, 0 updated, 7 unchanged (7 items in 1 batch in " in quiet.stdout


def test_content_import_stopped_half_way_says_what_it_wrote(
    cli_database_url: str, tmp_path: Path
) -> None:
    assert run("db", "init").exit_code == 0
    path = tmp_path / "content.jsonl"
    lines = [json.dumps({"section": {"slug": f"s{n}", "name": f"S{n}"}}) for n in range(5)]
    lines.insert(3, json.dumps({"section": {"slug": "Not A Slug", "name": "Bad"}}))
    path.write_text("\n".join(lines) + "\n")
    result = run("content", "import", "--batch-size", "2", str(path))
    assert result.exit_code == 1
    assert result.stderr.startswith(
        f"{path}: stopped at a bad item, 2 items in 1 batch written before it; correct the "
        "document and run the import again to complete it:\n")
    assert "line 4 (section).slug: " in result.stderr
    assert count_rows(cli_database_url, Section) == 2
