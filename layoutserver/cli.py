"""The ``layoutserver`` command: Flask's CLI plus widgets, layouts, database and content commands.

    layoutserver widgets list        installed widgets: distribution, version, options; failures
    layoutserver widgets new NAME    a widget package to start from, with passing tests
    layoutserver layouts check [--strict]   validate config/layouts/*.toml without serving
    layoutserver layouts status / export [DIR] / import [FILE]...   layouts in the database
    layoutserver db upgrade          apply the schema migrations (db init is the same)
    layoutserver db revision -m MSG  autogenerate a migration from the models (for developers)
    layoutserver content import F    import content from a JSON or JSON Lines file, in batches
    layoutserver ads import F        import ads from a JSON or JSON Lines file, in batches
    layoutserver ads flush           copy the Redis ad counters into the database (idempotent)
    layoutserver demo load           migrate the schema and import the demo content and ads
    layoutserver tokens create NAME --role ROLE   a new API token, printed once
    layoutserver tokens revoke NAME  /  tokens list
    layoutserver users create NAME --role ROLE [--password-stdin]   a console user
    layoutserver users password NAME [--password-stdin]        a new password; sessions end
    layoutserver users role NAME ROLE  another role; sessions end
    layoutserver users delete NAME  /  users list
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext
from marshmallow import Schema, missing

from layoutserver import create_app, migrate
from layoutserver.ads.extension import get_ads
from layoutserver.ads.streaming import import_path as import_ads_path
from layoutserver.auth import tokens as api_tokens
from layoutserver.auth import users as console_users
from layoutserver.auth.roles import ROLES
from layoutserver.content.streaming import BATCH_SIZE, Progress, StoppedImport, import_path
from layoutserver.core import get_core
from layoutserver.db import get_database
from layoutserver.layouts import commands as layout_commands
from layoutserver.layouts.model import written_placements


def _cli_app() -> Flask:
    """The app the commands run in: an invalid layout is kept, not raised. ``layouts check``
    reports all that loading found (problems, failed and disabled widgets) itself, so loading
    logs nothing for it and each problem is printed once; any other command gets one line
    saying the layouts are invalid."""
    context = click.get_current_context(silent=True)
    checking = context is not None and context.command is layouts_check
    app = create_app({"LOG_LEVEL": "CRITICAL"} if checking else None, strict_layouts=False)
    error = get_core(app).layout_error
    if error is not None and not checking:
        click.echo(f"warning: {len(error.problems)} layout problem(s): `layoutserver layouts "
                   "check` lists them; the server does not start until they are fixed.",
                   err=True)
    return app


@click.group(cls=FlaskGroup, create_app=_cli_app, add_version_option=False)
def main() -> None:
    """layoutserver: pages assembled from widget plugins."""


@main.group()
def widgets() -> None:
    """Installed widgets."""


@widgets.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@with_appcontext
def widgets_list(as_json: bool) -> None:
    """List installed widgets with distribution, version and options, then any that failed
    to load or are disabled."""
    core = get_core()
    rows: list[dict[str, Any]] = [
        {
            "name": installed.name,
            "version": installed.widget.version,
            "description": installed.widget.description,
            "distribution": installed.distribution,
            "distribution_version": installed.distribution_version,
            "source": installed.source,
            "cache": _describe_cache(installed.widget.cache_policy),
            "options": describe_options(installed.widget.options_schema),
            "positions": [{"name": position.name, "description": position.description}
                          for position in installed.widget.positions],
        }
        for installed in core.registry
    ]
    failures = [vars(failure) for failure in core.registry.failures]
    disabled = [vars(core.registry.disabled[name]) for name in sorted(core.registry.disabled)]
    if as_json:
        click.echo(json.dumps({"widgets": rows, "failures": failures, "disabled": disabled},
                              indent=2))
        return
    for row in rows:
        click.echo(f"{row['name']} {row['version']}  ({row['distribution']} "
                   f"{row['distribution_version']}, {row['source']})  cache: {row['cache']}")
        if row["description"]:
            click.echo(f"    {row['description']}")
        for option in row["options"]:
            click.echo(f"    {option['name']}: {option['type']}"
                       f"{'' if option['required'] else ' = ' + repr(option['default'])}")
        for position in row["positions"]:
            click.echo(f"    inner position {position['name']}"
                       + (f": {position['description']}" if position["description"] else ""))
    for failure in failures:
        click.echo(f"FAILED {failure['name']} ({failure['distribution']}, {failure['source']}): "
                   f"{failure['error']}")
    for off in disabled:
        click.echo(f"DISABLED {off['name']} ({off['distribution']} "
                   f"{off['distribution_version']}, {off['source']}): not loaded, "
                   "WIDGETS_DISABLED names it")


@widgets.command("new", with_appcontext=False)
@click.argument("name")
@click.option("--directory", "-d", type=click.Path(file_okay=False, path_type=Path),
              default=Path(), show_default=True, help="Where to write the package's folder.")
def widgets_new(name: str, directory: Path) -> None:
    """Write a widget package to start from: NAME's widget, its entry point, and tests with
    layoutserver's fixtures that pass as written."""
    from layoutserver.new_widget import NewWidgetError, new_widget

    try:
        target = new_widget(name, directory)
    except NewWidgetError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"wrote {target}")
    click.echo(f"next: pip install -e '{target}[test]' && pytest {target}")


@main.group()
def layouts() -> None:
    """Page layouts."""


@layouts.command("check")
@click.option("--strict", is_flag=True,
              help="Also fail (exit status 1) when an installed widget failed to load: for CI.")
@with_appcontext
def layouts_check(strict: bool) -> None:
    """Validate every layout against the installed widgets, without serving."""
    core = get_core()
    failures = core.registry.failures
    if core.layout_error is not None:
        click.echo(str(core.layout_error), err=True)
    else:
        for layout in core.layouts:
            count = sum(1 for _ in layout.placements())
            variants = f", {len(layout.variants)} variant(s)" if layout.variants else ""
            click.echo(f"ok  {layout.source}: {layout.page_type} ({len(layout.regions)} "
                       f"regions, {count} placements{variants})")
    kind = "error" if strict else "warning"
    for failure in failures:
        click.echo(f"{kind}: widget {failure.name} failed to load: {failure.error}"
                   f"{_placed(core, failure.name)}", err=True)
    for name in sorted(core.registry.disabled):
        click.echo(f"note: widget {name} is disabled (WIDGETS_DISABLED){_placed(core, name)}",
                   err=True)
    if core.layout_error is not None or (strict and failures):
        sys.exit(1)


def _placed(core: Any, widget: str) -> str:
    """``; placed N times, rendering empty`` when valid layouts place ``widget``."""
    count = sum(1 for layout in core.layouts for placement in written_placements(layout)
                if placement.widget == widget)
    return f"; placed {count} time(s), rendering empty" if count else ""


for _command in (layout_commands.layouts_status, layout_commands.layouts_export,
                 layout_commands.layouts_import):
    layouts.add_command(_command)


@main.group("db")
def db_group() -> None:
    """The database."""


@db_group.command("upgrade")
@click.argument("revision", default="head")
@with_appcontext
def db_upgrade(revision: str) -> None:
    """Apply the schema migrations up to REVISION (default: the newest). A database made
    before there were migrations is stamped at the first one, not re-created."""
    _upgrade(revision)


@db_group.command("init")
@with_appcontext
def db_init() -> None:
    """Create the tables, or bring them up to date: the same as ``db upgrade``."""
    _upgrade("head")


@db_group.command("revision")
@click.option("-m", "--message", required=True, help="What the migration does.")
def db_revision(message: str) -> None:
    """Autogenerate a migration in layoutserver/migrations/versions from the difference between
    the models and the newest migration (on a scratch SQLite database); review it by hand."""
    click.echo(f"wrote {migrate.revision(message)}")


def _upgrade(revision: str) -> None:
    url = current_app.config["DATABASE_URL"]
    migrate.upgrade(url, revision)
    click.echo(f"database ready (revision {migrate.current(url)})")


@main.group()
def content() -> None:
    """Content."""


@content.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--progress/--no-progress", default=None,
              help="A progress bar on stderr (default: when stderr is a terminal).")
@click.option("--batch-size", type=click.IntRange(min=1), default=BATCH_SIZE, show_default=True,
              help="Items written per transaction.")
@with_appcontext
def content_import(path: Path, progress: bool | None, batch_size: int) -> None:
    """Import sections, authors, articles and editorial lists from a JSON file, or a JSON
    Lines file (.jsonl, .ndjson), in batches (docs/content-format.md)."""
    _import(path, progress, batch_size)


@main.group()
def ads() -> None:
    """Ad configuration."""


@ads.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--progress/--no-progress", default=None,
              help="A progress bar on stderr (default: when stderr is a terminal).")
@click.option("--batch-size", type=click.IntRange(min=1), default=BATCH_SIZE, show_default=True,
              help="Items written per transaction.")
@with_appcontext
def ads_import(path: Path, progress: bool | None, batch_size: int) -> None:
    """Import advertisers, creatives, ad slots, campaigns and line items from a JSON file, or a
    JSON Lines file (.jsonl, .ndjson), in batches (docs/ads.md)."""
    _import_ads(path, progress, batch_size)


FLUSH_WAIT_SECONDS = 30
"""How long ``ads flush`` waits for a flush another process is running (each takes well under a
second; the lock expires within seconds if its holder died)."""


@ads.command("flush")
@with_appcontext
def ads_flush() -> None:
    """Copy the Redis impression and click counters into the database now (what every host
    does every ADS_FLUSH_SECONDS); flushing twice counts once."""
    flusher = get_ads().flusher
    if flusher is None:
        click.echo("No REDIS_URL: counts already go straight to the database.")
        return
    deadline = time.monotonic() + FLUSH_WAIT_SECONDS
    report = flusher.flush()
    while report.skipped and time.monotonic() < deadline:  # a host's own flush is running
        time.sleep(0.1)
        report = flusher.flush()
    if report.skipped:
        raise click.ClickException(
            f"another process held the flush lock for {FLUSH_WAIT_SECONDS} s; try again")
    if report.waiting:
        raise click.ClickException(
            f"Redis lost its data: restored {report.guards_restored} replay guard(s) so far; "
            "counts wait in the database until all are restored; try again")
    click.echo(f"flushed {report.windows} hour window(s), {report.rows} count row(s) and "
               f"{report.guards_saved} replay guard(s); applied {report.pending_applied} "
               f"count(s) queued while Redis was unreachable ({report.pending_replays} "
               f"already counted); restored {report.guards_restored} replay guard(s); moved "
               f"{report.user_rows_moved} reader count(s); purged {report.guards_purged} "
               "expired replay guard(s)")


@main.group()
def demo() -> None:
    """The demo site."""


@demo.command("load")
@with_appcontext
def demo_load() -> None:
    """Migrate the schema, import the demo content (the seed article page) and the demo ad
    configuration, and seed the layouts from the files; idempotent."""
    _upgrade("head")
    with resources.as_file(resources.files("layoutserver") / "demo" / "content.json") as path:
        _import(path)
    with resources.as_file(resources.files("layoutserver") / "demo" / "ads.json") as path:
        _import_ads(path)
    layout_commands.seed_layouts()


@main.group()
def tokens() -> None:
    """API tokens (only their hashes are stored)."""


@tokens.command("create")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(ROLES), help="What the token may do.")
@with_appcontext
def tokens_create(name: str, role: str) -> None:
    """Create a token called NAME (its name in the audit log) and print it, once."""
    with _refused_as_error(), get_database().session() as session:
        token = api_tokens.create_token(session, name, role)
    click.echo(token)
    click.echo("Store this token now: it cannot be shown again (only its hash is kept).", err=True)


@tokens.command("revoke")
@click.argument("name")
@with_appcontext
def tokens_revoke(name: str) -> None:
    """Revoke the token called NAME; it stops working at once."""
    with _refused_as_error(), get_database().session() as session:
        api_tokens.revoke_token(session, name)
    click.echo(f"revoked {name}")


@tokens.command("list")
@with_appcontext
def tokens_list() -> None:
    """Every token: name, role, prefix, created, last used, revoked (never the token)."""
    with get_database().session() as session:
        rows = api_tokens.list_tokens(session)
    click.echo("name\trole\tprefix\tcreated\tlast used\trevoked")
    for row in rows:
        click.echo("\t".join([
            row.name, row.role, row.prefix, _when(row.created_at), _when(row.last_used_at),
            _when(row.revoked_at),
        ]))


@main.group()
def users() -> None:
    """Web console users (only salted password hashes are stored)."""


@users.command("create")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(ROLES), help="What the user may do.")
@click.option("--password-stdin", is_flag=True,
              help="Read the password from the first line of standard input (for scripts).")
@with_appcontext
def users_create(name: str, role: str, password_stdin: bool) -> None:
    """Create a user called NAME who signs in to /admin; the password is asked for (twice)
    unless --password-stdin is given."""
    password = _password(password_stdin)
    with _refused_as_error(), get_database().session() as session:
        console_users.create_user(session, name, role, password)
    click.echo(f"created user {name.strip()} ({role})")


@users.command("password")
@click.argument("name")
@click.option("--password-stdin", is_flag=True,
              help="Read the password from the first line of standard input (for scripts).")
@with_appcontext
def users_password(name: str, password_stdin: bool) -> None:
    """Give the user called NAME a new password; every console session of theirs ends."""
    password = _password(password_stdin)
    with _refused_as_error(), get_database().session() as session:
        console_users.set_password(session, name, password)
    click.echo(f"new password for {name.strip()}; their sessions have ended")


@users.command("role")
@click.argument("name")
@click.argument("role", type=click.Choice(ROLES))
@with_appcontext
def users_role(name: str, role: str) -> None:
    """Give the user called NAME another ROLE; every console session of theirs ends."""
    with _refused_as_error(), get_database().session() as session:
        console_users.set_role(session, name, role)
    click.echo(f"{name.strip()} is now {role}; their sessions have ended")


def _password(from_stdin: bool) -> str:
    """The first line of standard input, or a password asked for twice."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


@users.command("delete")
@click.argument("name")
@with_appcontext
def users_delete(name: str) -> None:
    """Delete the user called NAME; their console sessions end on their next request."""
    with _refused_as_error(), get_database().session() as session:
        console_users.delete_user(session, name)
    click.echo(f"deleted {name}")


@users.command("list")
@with_appcontext
def users_list() -> None:
    """Every user: name, role, created, last sign-in (never the password)."""
    with get_database().session() as session:
        rows = console_users.list_users(session)
    click.echo("name\trole\tcreated\tlast sign-in")
    for row in rows:
        click.echo("\t".join([row.name, row.role, _when(row.created_at),
                              _when(row.last_sign_in_at)]))


def _when(moment: datetime | None) -> str:
    return "-" if moment is None else moment.isoformat(timespec="seconds")


def _import(path: Path, progress: bool | None = False, batch_size: int = BATCH_SIZE,
            run: Callable[[int, Callable[[Progress], None]], Progress] | None = None) -> None:
    """An import in batches (content, unless ``run`` imports something else), with a summary;
    a progress bar on stderr when it is a terminal (or a line per tenth of the file with
    ``--progress`` when it is not)."""
    terminal = sys.stderr.isatty()
    show = terminal if progress is None else progress
    size = path.stat().st_size
    started = time.monotonic()
    bar_context = (click.progressbar(length=size, label="importing", file=sys.stderr)
                   if show and terminal else nullcontext())
    with bar_context as bar:
        tenths = [0]

        def advance(done: Progress) -> None:
            if bar is not None:
                bar.update(done.bytes_read - bar.pos)
            elif show and done.bytes_read * 10 >= (tenths[0] + 1) * size:
                tenths[0] = done.bytes_read * 10 // max(size, 1)
                rate = done.items / max(time.monotonic() - started, 1e-6)
                click.echo(f"importing: {done.bytes_read * 100 // max(size, 1)}%, "
                           f"{done_text(done)}, {rate:.0f} items/s", err=True)

        try:
            done = (run(batch_size, advance) if run is not None
                    else import_path(get_database(), path, batch_size, advance))
        except StoppedImport as exc:
            written = (f"{done_text(exc.done)} written before it; correct the document and run "
                       f"the import again to complete it" if exc.done.batches
                       else "nothing imported")
            click.echo(f"{path}: stopped at a bad item, {written}:\n{exc}", err=True)
            sys.exit(1)
    seconds = time.monotonic() - started
    click.echo(f"{path}: {done.report} ({done_text(done)} in {seconds:.1f} s)")


def _import_ads(path: Path, progress: bool | None = False, batch_size: int = BATCH_SIZE) -> None:
    timezone = get_core().timezone

    def run(size: int, advance: Callable[[Progress], None]) -> Progress:
        return import_ads_path(get_database(), path, timezone, size, advance)

    _import(path, progress, batch_size, run)


def done_text(done: Progress) -> str:
    return (f"{done.items} item{'s' if done.items != 1 else ''} in {done.batches} "
            f"batch{'es' if done.batches != 1 else ''}")


def _describe_cache(policy: Any) -> str:
    if not policy.shared:
        return "per request"
    vary = f", varies on {', '.join(policy.vary)}" if policy.vary else ""
    return f"shared {policy.ttl}s{vary}"


def describe_options(schema_class: type[Schema]) -> list[dict[str, Any]]:
    """Each option's name, type, whether it is required and its default."""
    options = []
    for name, field in schema_class().fields.items():
        default = field.load_default
        options.append({
            "name": name,
            "type": type(field).__name__,
            "required": field.required,
            "default": None if callable(default) or default is missing else default,
        })
    return options


@contextmanager
def _refused_as_error() -> Iterator[None]:
    """A ``ValueError`` (a store refusing a name, role or password) as ``error: ...`` on
    standard error and exit status 1."""
    try:
        yield
    except ValueError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
