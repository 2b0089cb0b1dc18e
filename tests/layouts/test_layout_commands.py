"""``layoutserver layouts export | import | status``: the files round-trip byte for byte."""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from pathlib import Path

from click.testing import Result
from flask import Flask
from support import PER_REQUEST

from layoutserver.core import get_core
from layoutserver.db import get_database
from layoutserver.layouts import store
from layoutserver.layouts.commands import layouts_export, layouts_import, layouts_status

REPO = Path(__file__).resolve().parents[2]


def invoke(app: Flask, command: object, *args: str) -> Result:
    return app.test_cli_runner().invoke(command, list(args))


def started(app: Flask) -> Flask:
    app.test_client().get("/healthz")
    return app


def test_export_gives_the_seeded_files_back_and_importing_them_changes_nothing(
    make_app: Callable[..., Flask], tmp_path: Path
) -> None:
    app = started(make_app())
    exported = invoke(app, layouts_export, str(tmp_path / "out"))
    assert exported.exit_code == 0, exported.output
    for path in sorted((REPO / "config" / "layouts").glob("*.toml")):
        assert (tmp_path / "out" / path.name).read_bytes() == path.read_bytes()
    imported = invoke(app, layouts_import, *map(str, sorted((tmp_path / "out").iterdir())))
    assert imported.exit_code == 0, imported.output
    assert imported.output == "article: unchanged\nsection: unchanged\n"


def test_a_version_made_through_the_api_round_trips(
    make_app: Callable[..., Flask], tmp_path: Path
) -> None:
    app = started(make_app(layouts={"article": PER_REQUEST}))
    document = tomllib.loads(PER_REQUEST)
    document["regions"][0]["label"] = 'The "main" story'
    document["regions"][0]["placements"][0]["options"] = {}
    registry = get_core(app).registry
    with get_database(app).session() as session:
        store.save_draft(session, "editor", "article", document, registry)
    with get_database(app).session() as session:
        store.publish_draft(session, "editor", "article", registry)
    assert invoke(app, layouts_export, str(tmp_path / "first")).exit_code == 0
    text = (tmp_path / "first" / "article.toml").read_text(encoding="utf-8")
    assert tomllib.loads(text) == document

    other = started(make_app(layouts={"article": PER_REQUEST}))
    imported = invoke(other, layouts_import, str(tmp_path / "first" / "article.toml"))
    assert imported.output == "article: published as a new version\n", imported.output
    assert invoke(other, layouts_export, str(tmp_path / "second")).exit_code == 0
    assert ((tmp_path / "second" / "article.toml").read_bytes()
            == (tmp_path / "first" / "article.toml").read_bytes())


def test_an_invalid_file_is_not_imported_and_every_problem_is_printed(
    make_app: Callable[..., Flask], tmp_path: Path
) -> None:
    app = started(make_app(layouts={"article": PER_REQUEST}))
    good = tmp_path / "section.toml"
    good.write_text(PER_REQUEST.replace('subject = "article"', 'subject = "section"'))
    bad = tmp_path / "article.toml"
    bad.write_text(PER_REQUEST.replace('widget = "test_per_request"', 'widget = "nope"')
                   + "colour = 1\n")
    result = invoke(app, layouts_import, str(good), str(bad))
    assert result.exit_code == 1
    assert "nothing imported: 2 layout problem(s)" in result.output
    assert f"{bad}: region 'main': placement #2 (nope, id 'reader'): field 'widget'" \
        in result.output
    with get_database(app).session() as session:
        assert [row.page_type for row in store.page_layouts(session)] == ["article"]


def test_status_shows_a_pending_deploy_file(
    make_app: Callable[..., Flask]
) -> None:
    first = started(make_app(layouts={"article": PER_REQUEST}))
    assert invoke(first, layouts_status).exit_code == 0
    runtime = tomllib.loads(PER_REQUEST)
    runtime["title"] = "Edited at runtime"
    registry = get_core(first).registry
    with get_database(first).session() as session:
        store.save_draft(session, "editor", "article", runtime, registry)
        store.publish_draft(session, "editor", "article", registry)
    deployed = started(make_app(
        layouts={"article": PER_REQUEST.replace('subject = "article"',
                                                'subject = "article"\ntitle = "Story"')},
        settings={"DATABASE_URL": first.config["DATABASE_URL"]}))
    result = invoke(deployed, layouts_status)
    assert result.exit_code == 2
    assert "article: version 2 published" in result.output
    assert "PENDING: the deployed file" in result.output
