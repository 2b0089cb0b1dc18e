"""``layoutserver layouts export | import | status``: the versions in the database and the
files on disk (``layouts check`` validates the files alone).

    layoutserver layouts status          each page type's published version, draft, pending file
    layoutserver layouts export [DIR]    the published versions as DIR/<page_type>.toml
    layoutserver layouts import [FILE]...  publish files as new versions (default: LAYOUTS_DIR)
"""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from layoutserver.core import get_core
from layoutserver.db import get_database
from layoutserver.layouts import store
from layoutserver.layouts.problems import unavailable

CLI_ACTOR = "cli"


def _layouts_dir() -> Path:
    return Path(current_app.config["LAYOUTS_DIR"])


@click.command("status")
@with_appcontext
def layouts_status() -> None:
    """Each page type's published version, its draft, and any deployed file held back."""
    registry = get_core().registry
    with get_database().session() as session:
        rows = store.page_layouts(session)
        published = {row.page_type: store.version(session, row.page_type, row.published)
                     for row in rows}
    if not rows:
        click.echo("no layouts in the database yet: the files are served until the first "
                   "start (or `layoutserver demo load`) seeds it")
    pending = 0
    for row in rows:
        version = published[row.page_type]
        click.echo(f"{row.page_type}: version {version.number} published "
                   f"{version.created_at:%Y-%m-%d %H:%M} UTC by {version.created_by} "
                   f"({version.origin}): {version.summary}")
        if row.draft_source is not None and row.draft_at is not None:
            click.echo(f"    draft by {row.draft_by}, {row.draft_at:%Y-%m-%d %H:%M} UTC "
                       f"(from version {row.draft_base})")
        if row.pending_since is not None:
            pending += 1
            click.echo(f"    PENDING: the deployed file (since {row.pending_since:%Y-%m-%d %H:%M}"
                       f" UTC) differs from the one seeded as version {row.seeded_version}, "
                       f"but version {row.published} was published since; the file is not "
                       f"served. Keep the runtime version: `layoutserver layouts export` and "
                       f"deploy the files; take the file: `layoutserver layouts import "
                       f"{_layouts_dir() / (row.page_type + '.toml')}`")
        layout, problems = store.compile_leniently(
            row.page_type, version.source, registry, store.version_name(row.page_type,
                                                                       version.number))
        for problem in problems:
            click.echo(f"    problem (the version served before is kept): {problem}")
        for line in unavailable(layout) if layout else ():
            click.echo(f"    {line}")
    if pending:
        raise SystemExit(2)


@click.command("export")
@click.argument("directory", required=False,
                type=click.Path(file_okay=False, path_type=Path))
@with_appcontext
def layouts_export(directory: Path | None) -> None:
    """Write each published version to DIRECTORY/<page_type>.toml (default: LAYOUTS_DIR). A
    version seeded or imported from a file is written back byte for byte."""
    target = directory or _layouts_dir()
    with get_database().session() as session:
        sources = store.export_sources(session)
    if not sources:
        raise click.ClickException("no layouts in the database yet: nothing to export")
    target.mkdir(parents=True, exist_ok=True)
    for page_type, text in sources.items():
        path = target / f"{page_type}.toml"
        path.write_bytes(text.encode("utf-8"))
        click.echo(f"wrote {path}")


@click.command("import")
@click.argument("files", nargs=-1,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def layouts_import(files: tuple[Path, ...]) -> None:
    """Publish each FILE (<page_type>.toml; default: every one in LAYOUTS_DIR) as a new version
    when it differs from the published one. All are validated first: one bad file, none is
    imported. Settles a pending deploy conflict in the file's favour."""
    paths = list(files) or sorted(_layouts_dir().glob("*.toml"))
    if not paths:
        raise click.ClickException(f"no layout files (*.toml) in {_layouts_dir()}")
    texts: dict[str, str] = {}
    locations = {path.stem: str(path) for path in paths}
    for path in paths:
        try:
            texts[path.stem] = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError as error:
            raise click.ClickException(f"{path}: not valid TOML: {error}") from error
    try:
        with get_database().session() as session:
            changed = store.import_files(session, CLI_ACTOR, texts, get_core().registry,
                                         locations)
    except store.LayoutInvalid as error:
        raise click.ClickException(
            f"nothing imported: {len(error.problems)} layout problem(s):\n"
            + "\n".join(f"  - {problem}" for problem in error.problems)) from error
    for page_type in sorted(texts):
        what = "published as a new version" if page_type in changed else "unchanged"
        click.echo(f"{page_type}: {what}")


def seed_layouts() -> None:
    """Seed the database from the layout files (what a process's first request does)."""
    core = get_core()
    if core.layout_error is None:
        core.layout_source.start()
