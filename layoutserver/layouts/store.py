"""Layouts as versioned data: drafts, publishing, restoring, and importing files.

Every write takes the layouts lock first (:func:`_lock`), so two writers (two API calls, two
workers seeding at start-up) never interleave. Publishing a version, restoring one and importing
a file are the same step (:func:`_publish`): a new version appended to the history, the layouts
version bumped and a purge of ``layout:<page_type>`` queued at the edges, in one transaction.
Nothing is published that does not validate exactly as ``layoutserver layouts check`` validates
a file; a published version that stops validating later (a widget uninstalled since) keeps
serving, its placements of a missing widget empty (``layouts.source``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from layoutserver import keyset
from layoutserver.auth.audit import record_change
from layoutserver.db import dialect_insert, increment
from layoutserver.edge.keys import layout_key
from layoutserver.edge.purge import enqueue_purge
from layoutserver.layouts.changes import summarize
from layoutserver.layouts.edit_rights import PARTS, Part, refused_changes
from layoutserver.layouts.loader import compile_layout, layout_digest
from layoutserver.layouts.model import Layout
from layoutserver.layouts.models import LayoutsState, LayoutVersion, PageLayout
from layoutserver.layouts.problems import LayoutProblem
from layoutserver.layouts.toml_text import NotToml, dump_layout, loads_document
from layoutserver.registry import WidgetRegistry
from layoutserver.services import ServiceError

log = logging.getLogger(__name__)

STATE_ID = 1
VERSION_SQL = "SELECT version FROM layouts_state WHERE id = 1"
"""One indexed read: what every serving process polls (``Database.read_version``)."""
DEPLOY_ACTOR = "deploy"
RESOURCE_TYPE = "layout"


class LayoutInvalid(ServiceError, ValueError):
    """A layout that does not validate; ``problems`` as ``layouts check`` reports them."""

    def __init__(self, problems: list[LayoutProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(problem) for problem in problems))


class NoSuchLayout(ServiceError, LookupError):
    pass


class NoDraft(ServiceError):
    """Publishing a page type that has no draft."""


class NotPermitted(ServiceError):
    """A change to a part of a layout the changer may not change (``layouts.edit_rights``);
    ``problems`` locate each such difference."""

    def __init__(self, problems: list[LayoutProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(problem) for problem in problems))


class StaleDraft(ServiceError):
    """The draft (or the published version) changed since the state the change was made
    from (:func:`draft_state`)."""


def version_name(page_type: str, number: int | None = None) -> str:
    """Where a stored layout's problems are located (a file's path for a file)."""
    return f"layout {page_type} ({'draft' if number is None else f'version {number}'})"


def draft_state(row: PageLayout) -> str:
    """What a change to the draft is made from: the published version and the draft's
    revision (bumped by every save, discard and publish). A form carries it; a change made from
    another state than the stored one is :class:`StaleDraft`."""
    return f"{row.published}.{row.draft_revision}"


def draft_source(session: Session, row: PageLayout) -> str:
    """The draft's text, or the published version's when there is no draft (the start of one)."""
    if row.draft_source is not None:
        return row.draft_source
    return version(session, row.page_type, row.published).source


def compile_strictly(page_type: str, text: str, registry: WidgetRegistry, where: str) -> Layout:
    """The layout ``text`` compiled, or :class:`LayoutInvalid` with every problem."""
    problems: list[LayoutProblem] = []
    layout = compile_layout(page_type, text, registry, problems, where=where,
                            source=Path(where))
    if layout is None or problems:
        raise LayoutInvalid(problems)
    return layout


def compile_leniently(page_type: str, text: str, registry: WidgetRegistry, where: str
                      ) -> tuple[Layout | None, list[LayoutProblem]]:
    """As a stored published version is served: a widget not installed renders empty."""
    problems: list[LayoutProblem] = []
    layout = compile_layout(page_type, text, registry, problems, where=where,
                            source=Path(where), uninstalled_render_empty=True)
    return (None if problems else layout), problems


def document_text(page_type: str, document: Mapping[str, Any]) -> str:
    """The JSON form of a layout as its TOML text; :class:`LayoutInvalid` for what TOML cannot
    hold."""
    try:
        return dump_layout(document)
    except NotToml as error:
        raise LayoutInvalid([LayoutProblem(version_name(page_type), error.message,
                                           field=error.path)]) from error


# -- reading ---------------------------------------------------------------------------------


def page_layouts(session: Session) -> list[PageLayout]:
    return list(session.scalars(select(PageLayout).order_by(PageLayout.page_type)))


def page_layout(session: Session, page_type: str) -> PageLayout:
    found = session.get(PageLayout, page_type)
    if found is None:
        raise NoSuchLayout(f"there is no layout {page_type!r}")
    return found


def version(session: Session, page_type: str, number: int) -> LayoutVersion:
    found = session.get(LayoutVersion, (page_type, number))
    if found is None:
        raise NoSuchLayout(f"layout {page_type!r} has no version {number}")
    return found


def versions(session: Session, page_type: str) -> list[LayoutVersion]:
    """Every published version of ``page_type``, newest first."""
    page_layout(session, page_type)
    return list(session.scalars(
        select(LayoutVersion).where(LayoutVersion.page_type == page_type)
        .order_by(LayoutVersion.number.desc())))


#: A page type's versions, newest first (the number is unique within the page type).
VERSIONS_KEY = keyset.SortKey("layout-versions", (LayoutVersion.number,), descending=True)


def history(session: Session, page_type: str, window: keyset.Window
            ) -> keyset.Page[LayoutVersion]:
    """A page of the versions of ``page_type``, newest first, by keyset on its primary key."""
    page_layout(session, page_type)
    query = select(LayoutVersion).where(LayoutVersion.page_type == page_type)
    return keyset.fetch(session, query, VERSIONS_KEY, window)


def published_sources(session: Session) -> list[tuple[str, int, str]]:
    """(page type, version number, TOML text) of every published version."""
    # from the few page types to each one's version by its key: versions grow with every
    # publish, and are never read whole
    rows = session.execute(
        select(PageLayout.page_type, LayoutVersion.number, LayoutVersion.source)
        .select_from(PageLayout)
        .join(LayoutVersion, (LayoutVersion.page_type == PageLayout.page_type)
              & (LayoutVersion.number == PageLayout.published))
        .order_by(PageLayout.page_type))
    return [(page_type, number, source) for page_type, number, source in rows]


def read_layouts_version(session: Session) -> int:
    return int(session.scalar(select(LayoutsState.version).where(
        LayoutsState.id == STATE_ID)) or 0)


# -- drafts ----------------------------------------------------------------------------------


def save_draft(session: Session, actor: str, page_type: str, document: Mapping[str, Any],
               registry: WidgetRegistry, now: datetime | None = None, *,
               parts: Iterable[Part] = PARTS, expected: str | None = None) -> PageLayout:
    """Create or replace the draft of ``page_type`` with ``document`` (the layout's JSON
    form), validated as a file is: :class:`LayoutInvalid` with every problem, nothing stored.
    Every difference from the draft (or the published version) must lie in ``parts``
    (:class:`NotPermitted`); ``expected``, when given, must be the :func:`draft_state`."""
    _lock(session)
    row = page_layout(session, page_type)
    _check_state(row, expected)
    text = document_text(page_type, document)
    compile_strictly(page_type, text, registry, version_name(page_type))
    _check_rights(loads_document(draft_source(session, row)), dict(document), parts, registry,
                  version_name(page_type))
    before = _shown(row)
    if row.draft_source is None:
        row.draft_base = row.published
    row.draft_source = text
    row.draft_revision += 1
    row.draft_by, row.draft_at = actor, now or datetime.now(UTC)
    record_change(session, actor, "update", RESOURCE_TYPE, page_type, before, _shown(row))
    return row


def discard_draft(session: Session, actor: str, page_type: str,
                  registry: WidgetRegistry | None = None, *, parts: Iterable[Part] = PARTS,
                  expected: str | None = None) -> PageLayout:
    """Throw the draft away: every difference it makes to the published version must lie in
    ``parts`` (``registry`` tells ad widgets from others: needed when ``parts`` is not all)."""
    _lock(session)
    row = page_layout(session, page_type)
    _check_state(row, expected)
    if row.draft_source is None:
        raise NoDraft(f"layout {page_type!r} has no draft")
    _check_rights(loads_document(row.draft_source), _published_document(session, row), parts,
                  registry, version_name(page_type))
    before = _shown(row)
    _clear_draft(row)
    record_change(session, actor, "update", RESOURCE_TYPE, page_type, before, _shown(row))
    return row


def publish_draft(session: Session, actor: str, page_type: str, registry: WidgetRegistry, *,
                  parts: Iterable[Part] = PARTS, expected: str | None = None) -> LayoutVersion:
    """Publish the draft as the next version (validated again: a widget may have gone); every
    difference it makes to the published version must lie in ``parts``."""
    _lock(session)
    row = page_layout(session, page_type)
    _check_state(row, expected)
    if row.draft_source is None:
        raise NoDraft(f"layout {page_type!r} has no draft to publish")
    layout = compile_strictly(page_type, row.draft_source, registry, version_name(page_type))
    _check_rights(_published_document(session, row), loads_document(row.draft_source), parts,
                  registry, version_name(page_type))
    published = _publish(session, actor, row, row.draft_source, layout, "draft", registry)
    _clear_draft(row)
    return published


def restore(session: Session, actor: str, page_type: str, number: int,
            registry: WidgetRegistry, *, parts: Iterable[Part] = PARTS) -> LayoutVersion:
    """Publish a new version equal to version ``number`` (the history only grows); every
    difference it makes to the published version must lie in ``parts``."""
    _lock(session)
    row = page_layout(session, page_type)
    old = version(session, page_type, number)
    layout = compile_strictly(page_type, old.source, registry, version_name(page_type, number))
    _check_rights(_published_document(session, row), loads_document(old.source), parts,
                  registry, version_name(page_type, number))
    return _publish(session, actor, row, old.source, layout, "restore", registry,
                    restored_from=number)


# -- files -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SeedResult:
    """What a deploy's files did: page types created, imported as a new version, and left
    pending because the published version is a newer runtime edit."""

    created: tuple[str, ...] = ()
    imported: tuple[str, ...] = ()
    conflicts: tuple[str, ...] = ()


def seed_from_files(session: Session, files: Mapping[str, str], registry: WidgetRegistry,
                    now: datetime | None = None) -> SeedResult:
    """Bring the database up to the deployed layout files (page type -> TOML text, valid).

    The deploy rule: a page type seen for the first time is created from its file. A file that
    differs from the one last seeded is imported as a new published version only while the
    published version is still the one seeded from the previous file (or when it already equals
    the file); otherwise a runtime edit is newer than the file, and the file is recorded as a
    pending conflict (``layouts status``, the API, a WARNING at start-up) and not served."""
    now = now or datetime.now(UTC)
    _lock(session)
    rows = {row.page_type: row for row in page_layouts(session)}
    created, imported, conflicts = [], [], []
    for page_type, text in sorted(files.items()):
        digest = layout_digest(text)
        row = rows.get(page_type)
        if row is None:
            layout = compile_strictly(page_type, text, registry, page_type)
            row = PageLayout(page_type=page_type, published=0, draft_revision=0)
            session.add(row)
            _publish(session, DEPLOY_ACTOR, row, text, layout, "file", registry, now=now)
            row.seeded_digest, row.seeded_version = digest, row.published
            created.append(page_type)
            continue
        if digest == row.seeded_digest:
            _clear_pending(row)
            continue
        published = version(session, page_type, row.published)
        if published.digest == digest:
            row.seeded_digest, row.seeded_version = digest, row.published
            _clear_pending(row)
        elif row.published == row.seeded_version:
            layout = compile_strictly(page_type, text, registry, page_type)
            _publish(session, DEPLOY_ACTOR, row, text, layout, "file", registry, now=now)
            row.seeded_digest, row.seeded_version = digest, row.published
            _clear_pending(row)
            imported.append(page_type)
        else:
            if row.pending_digest != digest:
                row.pending_source, row.pending_digest, row.pending_since = text, digest, now
            conflicts.append(page_type)
    return SeedResult(tuple(created), tuple(imported), tuple(conflicts))


def import_files(session: Session, actor: str, files: Mapping[str, str],
                 registry: WidgetRegistry, locations: Mapping[str, str] | None = None
                 ) -> list[str]:
    """Publish each file (page type -> TOML text) as a new version when it differs from the
    published one: an operator's explicit choice, so it also settles a pending conflict (a
    deploy's file imported so becomes the seeded one). Every file is validated before any is
    stored: :class:`LayoutInvalid` with the problems of all, located at ``locations`` (page
    type -> a file's path). The page types published."""
    _lock(session)
    problems: list[LayoutProblem] = []
    compiled: dict[str, Layout] = {}
    for page_type, text in sorted(files.items()):
        try:
            compiled[page_type] = compile_strictly(
                page_type, text, registry, (locations or {}).get(page_type, page_type))
        except LayoutInvalid as error:
            problems.extend(error.problems)
    if problems:
        raise LayoutInvalid(problems)
    changed: list[str] = []
    for page_type, layout in compiled.items():
        text = files[page_type]
        row = session.get(PageLayout, page_type)
        if row is None:
            row = PageLayout(page_type=page_type, published=0, draft_revision=0)
            session.add(row)
        elif version(session, page_type, row.published).digest == layout.digest:
            continue
        _publish(session, actor, row, text, layout, "import", registry)
        if row.pending_digest == layout.digest or row.seeded_digest is None:
            row.seeded_digest, row.seeded_version = layout.digest, row.published
        if row.pending_digest is not None:
            _clear_pending(row)
        changed.append(page_type)
    return changed


def export_sources(session: Session) -> dict[str, str]:
    """Page type -> the published version's TOML text (a seeded file's text byte for byte)."""
    return {page_type: source for page_type, _, source in published_sources(session)}


# -- the one write path of a version ---------------------------------------------------------


def _publish(session: Session, actor: str, row: PageLayout, text: str, layout: Layout,
             origin: str, registry: WidgetRegistry, *, restored_from: int | None = None,
             now: datetime | None = None) -> LayoutVersion:
    before_shown = None if row.published == 0 else _shown(row)
    previous = None
    if row.published:
        old = version(session, row.page_type, row.published)
        previous, _ = compile_leniently(row.page_type, old.source, registry,
                                        version_name(row.page_type, old.number))
    session.flush()  # a new row's INSERT before its first version's
    number = 1 + int(session.scalar(select(func.coalesce(func.max(LayoutVersion.number), 0))
                                    .where(LayoutVersion.page_type == row.page_type)) or 0)
    summary = summarize(previous, layout)
    if restored_from is not None:
        summary = f"restored version {restored_from}: {summary}"
    created = LayoutVersion(
        page_type=row.page_type, number=number, source=text, digest=layout.digest,
        origin=origin, restored_from=restored_from, created_by=actor,
        created_at=now or datetime.now(UTC), summary=summary)
    session.add(created)
    if row.published:  # a first version: nothing at the edges was built from an older one
        enqueue_purge(session, [layout_key(row.page_type)])
    row.published = number
    increment(session, LayoutsState, {"id": STATE_ID})
    if origin != "file":  # a deploy's file: in the version history, not a person's change
        record_change(session, actor, "create" if before_shown is None else "update",
                      RESOURCE_TYPE, row.page_type, before_shown, _shown(row))
    return created


def _published_document(session: Session, row: PageLayout) -> dict[str, Any]:
    return loads_document(version(session, row.page_type, row.published).source)


def _check_state(row: PageLayout, expected: str | None) -> None:
    if expected is not None and expected != draft_state(row):
        raise StaleDraft(f"the draft of layout {row.page_type!r} changed since it was read")


def _check_rights(before: Mapping[str, Any], after: Mapping[str, Any], parts: Iterable[Part],
                  registry: WidgetRegistry | None, where: str) -> None:
    """:class:`NotPermitted` for each difference outside ``parts``."""
    allowed = frozenset(parts)
    if allowed >= PARTS:
        return
    if registry is None:
        raise TypeError("telling ad placements from others takes the widget registry")
    problems = refused_changes(before, after, allowed, registry.places_ads, where)
    if problems:
        raise NotPermitted(problems)


def _lock(session: Session) -> None:
    """Serialize layout writes: the layouts state row locked (created at 0 when missing)."""
    # The INSERT (a write, even when it inserts nothing) takes SQLite's write lock; on
    # PostgreSQL the SELECT ... FOR UPDATE locks the row.
    session.execute(dialect_insert(session.get_bind(), LayoutsState)
                    .values(id=STATE_ID, version=0).on_conflict_do_nothing())
    session.execute(select(LayoutsState.id).where(LayoutsState.id == STATE_ID)
                    .with_for_update())


def _clear_draft(row: PageLayout) -> None:
    row.draft_source = row.draft_base = row.draft_by = row.draft_at = None
    row.draft_revision += 1


def _clear_pending(row: PageLayout) -> None:
    row.pending_source = row.pending_digest = row.pending_since = None


def _shown(row: PageLayout) -> dict[str, Any]:
    """What the audit log keeps of a layout's state."""
    return {"page_type": row.page_type, "published": row.published,
            "draft": row.draft_source, "draft_base": row.draft_base}
