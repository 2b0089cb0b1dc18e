"""docs/plugins.md must mention every public name of the widget contract, every vary key and
every fixture plugin authors get (compare datasette's tests/test_docs.py); README.md's command
table every ``layoutserver`` command."""

from __future__ import annotations

import re
from importlib.metadata import entry_points
from pathlib import Path

import click
import pytest
from _pytest.fixtures import getfixturemarker

import layoutserver.testing
import layoutserver.widgets
from layoutserver.cli import main

DOC = Path(__file__).resolve().parent.parent / "docs" / "plugins.md"
README = DOC.parent.parent / "README.md"


def code_in(markdown: str) -> str:
    """The text of the fenced code blocks and inline code spans: where a name is *named*."""
    blocks = re.findall(r"^```[^\n]*\n(.*?)^```", markdown, re.M | re.S)
    prose = re.sub(r"^```[^\n]*\n.*?^```", "", markdown, flags=re.M | re.S)
    spans = re.findall(r"`([^`\n]+)`", prose)
    return "\n".join(blocks + spans)


@pytest.fixture(scope="module")
def documented_code() -> str:
    return code_in(DOC.read_text(encoding="utf-8"))


def fixtures_of(module: object) -> list[str]:
    return sorted(
        name for name, value in vars(module).items() if getfixturemarker(value) is not None
    )


PUBLIC_NAMES = sorted(layoutserver.widgets.__all__)
VARY_KEYS = sorted(layoutserver.widgets.VARY_KEYS)
FIXTURES = fixtures_of(layoutserver.testing)
BUILT_INS = sorted(point.name for point in entry_points(group="layoutserver.widgets")
                   if point.dist is not None and point.dist.name == "layoutserver")
COMMANDS = sorted(f"{group.name} {command}" for group in main.commands.values()
                  if isinstance(group, click.Group) for command in group.commands)


def test_the_lists_checked_are_not_empty() -> None:
    assert "Widget" in PUBLIC_NAMES
    assert "slug" in VARY_KEYS
    assert {"layoutserver_app", "layoutserver_widgets", "render_widget"} <= set(FIXTURES)
    assert {"layouts check", "widgets new", "tokens create"} <= set(COMMANDS)
    assert {"article_body", "ad_spot"} <= set(BUILT_INS)


def test_code_in_reads_spans_and_blocks_only() -> None:
    text = "Widget in prose.\n\n`RenderContext` here.\n\n```python\nclass Spam: ...\n```\n"
    found = code_in(text)
    assert "RenderContext" in found
    assert "Spam" in found
    assert "Widget" not in found


@pytest.mark.parametrize("name", PUBLIC_NAMES)
def test_public_name_is_documented(documented_code: str, name: str) -> None:
    assert re.search(rf"\b{re.escape(name)}\b", documented_code), (
        f"layoutserver.widgets.{name} is not mentioned (as code) in {DOC.name}"
    )


@pytest.mark.parametrize("key", VARY_KEYS)
def test_vary_key_is_documented(documented_code: str, key: str) -> None:
    assert re.search(rf"\b{re.escape(key)}\b", documented_code), (
        f"vary key {key!r} is not mentioned (as code) in {DOC.name}"
    )


@pytest.mark.parametrize("fixture", FIXTURES)
def test_fixture_is_documented(documented_code: str, fixture: str) -> None:
    assert re.search(rf"\b{re.escape(fixture)}\b", documented_code), (
        f"fixture {fixture} of layoutserver.testing is not mentioned (as code) in {DOC.name}"
    )


@pytest.mark.parametrize("command", COMMANDS)
def test_command_is_in_the_readmes_table(command: str) -> None:
    table = README.read_text(encoding="utf-8").split("## Commands", 1)[1].split("\n## ", 1)[0]
    assert command in table, f"layoutserver {command} is not in README.md's command table"


@pytest.mark.parametrize("widget", BUILT_INS)
def test_built_in_widget_is_listed_where_the_page_says_what_ships(widget: str) -> None:
    intro = DOC.read_text(encoding="utf-8").split("\n## ", 1)[0]
    assert f"`{widget}`" in intro, f"built-in widget {widget} is not in {DOC.name}'s opening"
