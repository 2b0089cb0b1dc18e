"""Every query the site, the admin API and the console make reads by index: none scans a table
that grows with the archive, so a page costs the same at a thousand articles as at a million.

Each case below calls one query function (the content repository, the sitemaps' source, the
content and ads services, the audit log) or one admin API list, on a seeded archive, with every
statement it runs recorded (SQLAlchemy's ``before_cursor_execute``). Each recorded statement is
then explained with its parameters: SQLite's ``EXPLAIN QUERY PLAN`` (a ``SCAN`` of a table is a
full scan; ``SCAN ... USING INDEX`` walks a whole index), PostgreSQL's ``EXPLAIN`` with
``enable_seqscan`` off on ``ANALYZE``d rows (a ``Seq Scan``; an index scan without an index
condition walks a whole index; a ``Sort``). A full scan of a table outside
:data:`SMALL_TABLES` fails, and so does an index walk or a sort (SQLite's temporary B-tree for
the ORDER BY: every row the query reads is sorted before the first is known), unless the case
declares it (an unfiltered list in its index's order, which stops at its page's ``LIMIT``, or an
``offset``, documented as slower). PostgreSQL plans by its statistics, so there only tables of
:data:`POSTGRESQL_LARGE` rows or more count, a sort only of more than :data:`SORTED_AT_MOST`
rows, and the plan is of the parameters given (a prepared statement's generic plan may differ:
see ``repository.one_of_few``).

No query escapes: every public function of the query modules must have a case (or be named in
:data:`NOT_QUERIES` with why), and so must every list endpoint of ``/api/v1``. A new query
without a case fails :func:`test_every_query_function_has_a_case`; one with a case and without
an index fails :func:`test_every_query_reads_by_index`, naming the case and the plan.
"""

from __future__ import annotations

import inspect
import json
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, insert, text
from sqlalchemy.engine import Connection

from layoutserver.ads import change_log, forecast_source, specs
from layoutserver.ads import config_service as ads_service
from layoutserver.ads.decisions.model import PageRequest
from layoutserver.ads.extension import get_ads
from layoutserver.ads.forecast.traffic import PageKind
from layoutserver.ads.forecast_source import KindCache
from layoutserver.ads.models import AdCount, AdSlot, Advertiser, Campaign, Creative, LineItem
from layoutserver.ads.traffic import TrafficRecorder, digest, kind_row
from layoutserver.ads.traffic_models import AdTraffic, AdTrafficKind, AdTrafficProfile
from layoutserver.auth import audit
from layoutserver.auth.models import AuditEntry
from layoutserver.auth.tokens import create_token
from layoutserver.content import service as content_service
from layoutserver.content.models import (
    Article,
    Author,
    ContentScope,
    ContentState,
    EditorialList,
    EditorialPick,
    Section,
    Tag,
    article_tags,
)
from layoutserver.content.repository import ContentRepository
from layoutserver.content.sitemaps import SitemapSource
from layoutserver.db import Base, Database, get_database
from layoutserver.keyset import Window

#: Tables that stay small whatever the archive's size, so reading all of one is flat.
SMALL_TABLES = {
    "content_state": "one row",
    "ads_state": "one row",
    "api_tokens": "one per client of the API",
    "layouts": "one row per page type",
    "layouts_state": "one row",
    "ad_slots": "the ad configuration: every ad decision's snapshot holds it in memory",
    "ad_advertisers": "the ad configuration (see ad_slots)",
    "ad_campaigns": "the ad configuration (see ad_slots)",
    "ad_line_items": "the ad configuration (see ad_slots)",
    "ad_creatives": "the ad configuration (see ad_slots)",
    "ad_line_item_creatives": "the ad configuration (see ad_slots)",
}

#: The ad configuration's tables that grow with a network's line items.
AD_CONFIGURATION = ("ad_line_items", "ad_creatives", "ad_line_item_creatives")

#: Public functions of the query modules that make no query, or are planned through another.
NOT_QUERIES = {
    "ContentRepository.version": "the one row of content_state, by its key (on the driver's "
                                 "cursor, which SQLAlchemy's events do not see)",
    "content.service.input_schema": "a schema, no query",
    "content.service.dump": "shows a row it is given",
    "content.service.create": "writes through the importer (import's own queries)",
    "content.service.update": "writes through the importer",
    "content.service.delete": "writes; its lookups are by key",
    "ads.config_service.input_schema": "a schema, no query",
    "ads.config_service.dump": "shows a row it is given",
    "ads.config_service.create": "writes through the importer",
    "ads.config_service.update": "writes through the importer",
    "ads.config_service.delete": "writes; reads the bounded ad configuration",
    "ads.config_service.sniff_image": "no query",
    "ads.config_service.image_size": "no query",
    "ads.config_service.image_filename": "no query",
    "ads.config_service.store_image": "a creative by name, then a write",
    "auth.audit.record_change": "an insert",
    "ads.specs.slot_spec": "converts a row it is given",
    "ads.specs.servable": "reads a row it is given",
    "ads.specs.creative_spec": "converts a row it is given",
    "ads.specs.line_item_spec": "converts a row it is given",
    "ads.specs.targeting": "converts a value it is given",
    "TrafficRecorder.note": "counts in memory (the serving path): no query",
    "TrafficRecorder.pending": "counts in memory",
}

#: The modules and classes whose public functions are the queries, by the name cases use.
QUERY_OWNERS: dict[str, Any] = {
    "ContentRepository": ContentRepository,
    "SitemapSource": SitemapSource,
    "content.service": content_service,
    "ads.config_service": ads_service,
    "auth.audit": audit,
    "ads.change_log": change_log,
    "ads.specs": specs,
    "ads.forecast_source": forecast_source,
    "KindCache": KindCache,
    "TrafficRecorder": TrafficRecorder,
}

#: Lists of /api/v1 that read nothing from the database.
NOT_DATABASE_LISTS = {
    "/api/v1/widgets": "the installed widgets",
    "/api/v1/explain": "the in-memory ads snapshot",
}

#: Enough that PostgreSQL's planner, on ANALYZEd rows, plans as it would for an archive.
ARTICLES = 50_000
SECTIONS = 20
SMALL_SECTION = "tiny"  # 5 articles, spread over the whole archive
AUTHORS = 2000
TAGS = 10_000
BIG_TAG = "news"  # on every other article
AUDIT_ENTRIES = 10_000
SITE_ZONE = ZoneInfo("UTC")
TRAFFIC_KINDS = [PageKind(("top",), device, f"section-{n}", "article", True)
                 for n in range(1, 14) for device in ("desktop", "mobile")]
#: PostgreSQL plans by its statistics: a table of fewer rows than this may be read whole
#: because that is cheap at this size (and only at this size); SQLite's plans (no ANALYZE,
#: as a site's database has none) do not depend on the rows, and are checked on every table.
POSTGRESQL_LARGE = 5000
#: Why reading line items may sort their creatives: the relationship keeps a line item's
#: creatives by id, loaded for a chunk (``IN_CHUNK``) or a batch (``specs.BATCH``) of line
#: items at a time, so a sort is of those few creatives, whatever the configuration's size.
CREATIVES_IN_ORDER = ("the creatives of a chunk or batch of line items are sorted by id (the "
                      "relationship's order), a bounded few")
#: PostgreSQL sorts rows it expects to be few (by its statistics: a small section's, an
#: author's, the last ones after a cursor), after reading them by index, where a walk in order
#: would cost more; a sort of more than this many rows is one that grows with the archive.
#: (An incremental sort, of the ties of an index's order, is bounded by the LIMIT.) SQLite's
#: plans do not depend on the rows: every sort there is one.
SORTED_AT_MOST = 1000
NOW = datetime(2024, 10, 10, 12, tzinfo=UTC)
FIRST = datetime(2000, 1, 1, tzinfo=UTC)
WALK_STOPS_AT_LIMIT = "an unfiltered list in its index's order: the walk stops at the LIMIT"
OFFSET_IS_SLOWER = "an offset: documented as slower (follow the cursor instead)"


@dataclass
class Archive:
    """The seeded app, its database, a client and an admin token's headers."""

    app: Flask
    database: Database
    client: FlaskClient
    headers: dict[str, str]

    def api(self, path: str) -> Any:
        response = self.client.get(path, headers=self.headers)
        assert response.status_code == 200, (path, response.get_data(as_text=True)[:300])
        return response


@dataclass(frozen=True)
class Case:
    name: str
    """``owner.function: what`` for a query function, or the API request."""
    run: Callable[[Archive], object]
    walks: tuple[str, ...] = ()
    """Tables this case may read by walking an index in order, and why (``why``)."""
    why: str = ""
    reads_all: tuple[str, ...] = ()
    """Tables this case reads whole by design (a scan or a walk), and why (``why``)."""
    counts_large: tuple[str, ...] = ()
    """Tables of :data:`SMALL_TABLES` that count as large here: every process reads them on
    every ad configuration change, and a network's line items run to 100,000. On SQLite, which
    plans by the query's shape; PostgreSQL plans by its statistics, and the seed holds a few
    rows of them."""
    sorts: tuple[str, ...] = ()
    """Tables whose rows this case may sort (a bounded few), and why (``why``)."""


def seed(database: Database) -> None:
    """An archive of :data:`ARTICLES` over :data:`SECTIONS` sections and a small one, with
    authors, tags, an editorial list, audit entries, content scopes and ad counts."""
    step = (NOW - FIRST) / ARTICLES
    with database.session() as session:
        session.execute(insert(ContentState), [{"id": 1, "version": 1}])
        session.execute(insert(Section), [
            *({"id": n, "slug": f"section-{n}", "name": f"S{n}"} for n in range(1, SECTIONS + 1)),
            {"id": SECTIONS + 1, "slug": SMALL_SECTION, "name": "Tiny"}])
        session.execute(insert(Author), [{"id": n, "slug": f"author-{n}", "name": f"A{n}",
                                          "bio": ""} for n in range(1, AUTHORS + 1)])
        session.execute(insert(Tag), [{"id": n, "name": f"tag-{n}"} for n in range(1, TAGS + 1)])
        small_every = ARTICLES // 5
        session.execute(insert(Article), [{
            "id": n, "slug": f"article-{n}", "title": f"Article {n}", "excerpt": "",
            "body_html": "<p>Body.</p>", "published_at": FIRST + step * n, "image_alt": "",
            "section_id": SECTIONS + 1 if n % small_every == 0 else 1 + n % SECTIONS,
            "author_id": 1 + n % AUTHORS,
        } for n in range(1, ARTICLES + 1)])
        session.execute(insert(Tag), [{"id": TAGS + 1, "name": BIG_TAG}])
        session.execute(insert(article_tags), [
            {"article_id": n, "tag_id": tag_id, "published_at": FIRST + step * n}
            for n in range(1, ARTICLES + 1)
            for tag_id in (1 + n % TAGS, 1 + (n + TAGS // 2) % TAGS,
                           *((TAGS + 1,) if n % 2 == 0 else ()))])
        session.execute(insert(EditorialList), [{"id": 1, "name": "must-read", "title": "Must"}])
        session.execute(insert(EditorialPick), [{"list_id": 1, "article_id": ARTICLES - n * 97,
                                                 "position": n} for n in range(1, 6)])
        session.execute(insert(ContentScope), [{"name": f"article:article-{n}", "version": 1}
                                               for n in range(1, ARTICLES + 1, 5)])
        session.execute(insert(AuditEntry), [{
            "at": FIRST + step * n, "action": "update",
            "actor": f"person-{n}" if n % 1000 == 0 else "cms",  # a few by hand
            "resource_type": ("article", "section", "creative")[n % 3],
            "resource_id": f"article-{n}", "before": None, "after": {}}
            for n in range(AUDIT_ENTRIES)])
        session.execute(insert(Advertiser), [{"id": 1, "name": "Acme",
                                              "popups_escape_sandbox": False}])
        session.execute(insert(Campaign), [{"id": 1, "name": "Autumn", "advertiser_id": 1}])
        session.execute(insert(Creative), [{
            "id": 1, "name": "banner", "advertiser_id": 1, "kind": "text", "width": 300,
            "height": 250, "click_url": "https://example.com/", "text": "Hi"}])
        session.execute(insert(AdSlot), [{"id": 1, "code": "top", "name": "Top",
                                          "sizes": {"*": ["300x250"]}}])
        session.execute(insert(LineItem), [{
            "id": 1, "name": "autumn-top", "campaign_id": 1, "tier": "standard",
            "start": FIRST, "end": NOW + timedelta(days=30), "status": "active",
            "targeting": {"slots": ["top"]}}])
        session.execute(insert(AdCount), [{
            "line_item_id": 1, "creative_id": 1, "slot": "top",
            "hour": NOW - timedelta(hours=n), "impressions": 3, "clicks": 1}
            for n in range(POSTGRESQL_LARGE)])
        session.execute(insert(AdTrafficKind), [kind_row(kind) for kind in TRAFFIC_KINDS])
        session.execute(insert(AdTraffic), [{
            "hour": NOW - timedelta(hours=hour), "week_hour": (4 * 24 + 12 - hour) % 168,
            "kind": digest(kind), "requests": 5}
            for hour in range(1, POSTGRESQL_LARGE // len(TRAFFIC_KINDS) + 2)
            for kind in TRAFFIC_KINDS])
        session.execute(insert(AdTrafficProfile), [
            {"week_hour": hour, "kind": digest(kind), "requests": 20}
            for hour in range(168) for kind in TRAFFIC_KINDS])
    with database.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("ANALYZE"))


@pytest.fixture
def archive(make_app: Callable[..., Flask]) -> Archive:
    app = make_app(demo=False, settings={"SITE_NOW": NOW.isoformat()})
    database = get_database(app)
    seed(database)
    with database.session() as session:
        token = create_token(session, "plans", "admin")
    return Archive(app, database, app.test_client(), {"Authorization": f"Bearer {token}"})


# -- the cases ----------------------------------------------------------------------------------


def _repository(archive: Archive) -> ContentRepository:
    return ContentRepository(archive.database)


def _sitemaps(archive: Archive) -> SitemapSource:
    return SitemapSource(archive.database)


@contextmanager
def _session(archive: Archive) -> Iterator[Any]:
    with archive.database.session() as session:
        yield session


def _content_list(kind: content_service.Kind, window: Window,
                  filters: content_service.ArticleFilters | None = None
                  ) -> Callable[[Archive], object]:
    def run(archive: Archive) -> object:
        with _session(archive) as session:
            return content_service.list_items(session, kind, window, filters)
    return run


def _article_cursor(published: int) -> str:
    step = (NOW - FIRST) / ARTICLES
    return content_service.ARTICLE_ORDER.cursor((FIRST + step * published, published))


def _ads_list(kind: ads_service.Kind, window: Window, filters: dict[str, Any] | None = None
              ) -> Callable[[Archive], object]:
    def run(archive: Archive) -> object:
        with _session(archive) as session:
            return ads_service.list_items(session, kind, window, filters)
    return run


def _in_session(call: Callable[[Any], object]) -> Callable[[Archive], object]:
    def run(archive: Archive) -> object:
        with _session(archive) as session:
            return call(session)
    return run


def _recorded_and_flushed(archive: Archive, prune_only: bool = False) -> object:
    """A process's traffic record: two kinds noted now and one nine weeks back, written
    (which prunes the old hour), or only pruned."""
    ads = get_ads(archive.app)
    recorder = TrafficRecorder(archive.database, ads.snapshots.timezone, archive.app.config,
                               lambda: NOW)
    if prune_only:
        return recorder.prune(NOW)
    snapshot = ads.snapshots.current()
    for at, section in ((NOW, "section-1"), (NOW, "new"), (NOW - timedelta(weeks=9), "old")):
        recorder.note(PageRequest(slots=("top",), now=at, section=section), snapshot)
    return recorder.flush()


PROFILE_IS_READ_WHOLE = ("the profile: a row per kind and hour of the week whatever the "
                         "traffic, read once an hour per process")


def _api(path: str, *, follow: bool = True) -> Callable[[Archive], object]:
    """The list at ``path``, and its next page by the Link header."""
    def run(archive: Archive) -> object:
        response = archive.api(path)
        link = response.headers.get("Link")
        if follow and link:
            archive.api(link.split(";")[0].strip("<>").removeprefix("http://localhost"))
        return response
    return run


OLD, NEW = 17, ARTICLES - 3
CASES: tuple[Case, ...] = (
    # -- the reader pages: article (old or new), section (large or small), lists, feeds
    Case("ContentRepository.scope_versions: an article's and all",
         lambda a: [_repository(a).scope_versions(2).get(name)
                    for name in ("article:article-6", "all")]),
    Case("ContentRepository.article: an old one", lambda a: _repository(a).article(
        f"article-{OLD}", published_before=NOW)),
    Case("ContentRepository.article: a new one", lambda a: _repository(a).article(
        f"article-{NEW}")),
    Case("ContentRepository.section", lambda a: _repository(a).section("section-3")),
    Case("ContentRepository.latest_articles: newest first (latest news, the site feed)",
         lambda a: _repository(a).latest_articles(10, published_before=NOW),
         walks=("articles",), why=WALK_STOPS_AT_LIMIT),
    Case("ContentRepository.latest_articles: leaving out the article shown, continued",
         lambda a: _repository(a).latest_articles(2, offset=4, exclude=("article-9",)),
         walks=("articles",), why=WALK_STOPS_AT_LIMIT),
    Case("ContentRepository.latest_articles: leaving out several",
         lambda a: _repository(a).latest_articles(4, exclude=("article-9", "article-8")),
         walks=("articles",), why=WALK_STOPS_AT_LIMIT),
    Case("ContentRepository.latest_articles: a small section (its page and feed)",
         lambda a: _repository(a).latest_articles(10, section=SMALL_SECTION,
                                                  published_before=NOW)),
    Case("ContentRepository.latest_articles: a small section, no schedule",
         lambda a: _repository(a).latest_articles(10, section=SMALL_SECTION)),
    Case("ContentRepository.latest_articles: a large section, leaving out one",
         lambda a: _repository(a).latest_articles(10, section="section-4",
                                                  exclude=("article-4",)),
         walks=("articles",),
         why="one article in twenty is the section's: the planner may walk the newest "
             "first, meeting its ten within a few hundred rows (a small section reads its "
             "own index: the case above)"),
    Case("ContentRepository.editorial_list: must read", lambda a: _repository(a)
         .editorial_list("must-read", published_before=NOW)),
    Case("ContentRepository.editorial_list: none picked yet", lambda a: _repository(a)
         .editorial_list("must-read", published_before=FIRST)),
    Case("SitemapSource.published_count", lambda a: _sitemaps(a).published_count(NOW, 50_001)),
    Case("SitemapSource.last_article_id", lambda a: _sitemaps(a).last_article_id()),
    Case("SitemapSource.articles: one file's block of ids",
         lambda a: _sitemaps(a).articles(NOW, 1001, 2000)),
    Case("SitemapSource.news", lambda a: _sitemaps(a).news(NOW)),
    Case("SitemapSource.sections", lambda a: _sitemaps(a).sections(), walks=("sections",),
         why="the sections sitemap names every section (a site has tens)"),
    # -- the services behind the admin API and the console
    Case("content.service.list_items: articles, newest first",
         _content_list("article", Window(10)), walks=("articles",), why=WALK_STOPS_AT_LIMIT),
    Case("content.service.list_items: articles after a cursor deep in the archive",
         _content_list("article", Window(10, after=_article_cursor(30)))),
    Case("content.service.list_items: articles of a small section, by cursor",
         _content_list("article", Window(10, after=_article_cursor(ARTICLES)),
                       content_service.ArticleFilters(section=SMALL_SECTION))),
    Case("content.service.list_items: articles of an author",
         _content_list("article", Window(10),
                       content_service.ArticleFilters(author="author-7"))),
    Case("content.service.list_items: articles of a tag",
         _content_list("article", Window(10), content_service.ArticleFilters(tag="tag-5"))),
    Case("content.service.list_items: articles of a tag on half the archive",
         _content_list("article", Window(10), content_service.ArticleFilters(tag=BIG_TAG))),
    Case("content.service.list_items: articles of a big tag after a cursor deep in it",
         _content_list("article", Window(10, after=_article_cursor(30)),
                       content_service.ArticleFilters(tag=BIG_TAG))),
    Case("content.service.list_items: articles of a big tag in a date range",
         _content_list("article", Window(10), content_service.ArticleFilters(
             tag=BIG_TAG, published_after=FIRST + timedelta(days=30),
             published_before=FIRST + timedelta(days=60)))),
    Case("content.service.list_items: articles of a date range",
         _content_list("article", Window(10), content_service.ArticleFilters(
             published_after=FIRST + timedelta(days=30),
             published_before=FIRST + timedelta(days=60)))),
    Case("content.service.list_items: articles by offset",
         _content_list("article", Window(10, offset=ARTICLES - 10)),
         walks=("articles",), why=OFFSET_IS_SLOWER),
    *(Case(f"content.service.list_items: {kind}s", _content_list(kind, Window(10)),
           walks=(table,), why=WALK_STOPS_AT_LIMIT)
      for kind, table in (("section", "sections"), ("author", "authors"),
                          ("editorial_list", "editorial_lists"))),
    Case("content.service.list_items: authors after a cursor",
         _content_list("author", Window(10, after=content_service.ORDERS["author"].cursor(
             ("author-50",))))),
    Case("content.service.list_items: articles, counted",
         _content_list("article", Window(10, count_total=True)),
         walks=("articles",), why="count(*) only with total=true: it reads the whole list"),
    *(Case(f"content.service.get: a {kind}", _in_session(
        lambda session, kind=kind, key=key: content_service.get(session, kind, key)))
      for kind, key in (("article", "article-5"), ("section", "tiny"),
                        ("author", "author-3"), ("editorial_list", "must-read"))),
    Case("content.service.count: articles, up to a cap", _in_session(
        lambda session: content_service.count(session, "article", 10_001)),
         walks=("articles",), why="the count stops at its cap (LIMIT)"),
    *(Case(f"ads.config_service.list_items: {kind}", _ads_list(kind, Window(10), filters))
      for kind, filters in (("slot", {"enabled": True}), ("advertiser", None),
                            ("campaign", {"advertiser": "Acme"}),
                            ("line_item", {"campaign": "Autumn", "status": "active"}),
                            ("creative", {"advertiser": "Acme", "kind": "text"}))),
    Case("ads.config_service.get: a line item", _in_session(
        lambda session: ads_service.get(session, "line_item", "autumn-top"))),
    Case("ads.config_service.count: creatives", _in_session(
        lambda session: ads_service.count(session, "creative", 10_001))),
    Case("ads.change_log.changes_since: the versions after a snapshot's", _in_session(
        lambda session: change_log.changes_since(session, 0, 3))),
    Case("ads.change_log.touched_line_items: of a campaign, a creative, an advertiser",
         _in_session(lambda session: change_log.touched_line_items(session, change_log.Changes(
             2, {"campaign": {1}, "creative": {1}, "advertiser": {1}}))),
         counts_large=AD_CONFIGURATION),
    Case("ads.change_log.log_version: and the prune of old versions", _in_session(
        change_log.log_version)),
    Case("ads.specs.line_items_by_id: the line items a change touched", _in_session(
        lambda session: specs.line_items_by_id(session, [1, 2], UTC)),
         counts_large=AD_CONFIGURATION, sorts=("ad_line_item_creatives",),
         why=CREATIVES_IN_ORDER),
    Case("ads.specs.active_line_items: a build", _in_session(
        lambda session: list(specs.active_line_items(session, UTC))),
         counts_large=AD_CONFIGURATION, reads_all=("ad_line_items",),
         sorts=("ad_line_item_creatives",),
         why="a build reads the whole configuration (a process's first, or one too far "
             "behind the change log); " + CREATIVES_IN_ORDER),
    Case("ads.specs.slots_and_house_creatives: every slot", _in_session(
        specs.slots_and_house_creatives)),
    Case("auth.audit.audit_entries: one resource's history", _in_session(
        lambda session: audit.audit_entries(session, resource_type="article",
                                            resource_id="article-9", limit=5))),
    Case("auth.audit.audit_page: newest first", _in_session(
        lambda session: audit.audit_page(session, Window(10))),
         walks=("audit_entries",), why=WALK_STOPS_AT_LIMIT),
    Case("auth.audit.audit_page: of a resource type, after a cursor", _in_session(
        lambda session: audit.audit_page(
            session, Window(10, after=audit.AUDIT_ORDER.cursor((FIRST + timedelta(days=9),
                                                                 400))),
            resource_type="section"))),
    Case("auth.audit.audit_page: of an actor", _in_session(
        lambda session: audit.audit_page(session, Window(10), actor="person-3000"))),
    # -- the admin API's lists, each with its next page (by the Link header)
    Case("GET /api/v1/articles", _api("/api/v1/articles?page_size=5"),
         walks=("articles",), why=WALK_STOPS_AT_LIMIT),
    Case("GET /api/v1/articles: of a section",
         _api(f"/api/v1/articles?page_size=2&section={SMALL_SECTION}")),
    Case("GET /api/v1/articles: of an author", _api("/api/v1/articles?author=author-7")),
    Case("GET /api/v1/articles: of a tag on half the archive",
         _api(f"/api/v1/articles?page_size=5&tag={BIG_TAG}")),
    *(Case(f"GET {path}", _api(f"{path}?page_size=2"), walks=(table,),
           why=WALK_STOPS_AT_LIMIT)
      for path, table in (("/api/v1/sections", "sections"), ("/api/v1/authors", "authors"),
                          ("/api/v1/editorial-lists", "editorial_lists"),
                          ("/api/v1/audit", "audit_entries"))),
    *(Case(f"GET {path}", _api(f"{path}?page_size=2"))
      for path in ("/api/v1/ad-slots", "/api/v1/advertisers", "/api/v1/campaigns",
                   "/api/v1/line-items", "/api/v1/creatives")),
    # -- forecasts: what they read, and the traffic record's writes
    Case("ads.forecast_source.traffic_profile: the sums, the first hour, the hour under way",
         _in_session(lambda session: forecast_source.traffic_profile(
             session, SITE_ZONE, NOW, KindCache())),
         reads_all=("ad_traffic_profile",), why=PROFILE_IS_READ_WHOLE),
    Case("KindCache.get: kinds by digest", _in_session(lambda session: KindCache().get(
        session, {digest(kind) for kind in TRAFFIC_KINDS[:3]}))),
    Case("ads.forecast_source.delivered_so_far", _in_session(
        lambda session: forecast_source.delivered_so_far(session, [1], NOW, SITE_ZONE))),
    Case("ads.forecast_source.click_rates", _in_session(
        lambda session: forecast_source.click_rates(session, [1], NOW - timedelta(weeks=4)))),
    Case("TrafficRecorder.flush: counts written, an old hour pruned", _recorded_and_flushed),
    Case("TrafficRecorder.prune", lambda a: _recorded_and_flushed(a, prune_only=True)),
    Case("GET /api/v1/layouts", _api("/api/v1/layouts", follow=False)),
    Case("GET /api/v1/reports/delivery", _api(
        "/api/v1/reports/delivery?start=2024-10-01&end=2024-10-09&group_by=line_item",
        follow=False)),
)


# -- the plans ----------------------------------------------------------------------------------

#: What a plan's row says: a scan or a search of a table, and the index it uses.
_SQLITE_STEP = re.compile(r"^(SCAN|SEARCH) (\w+)(?: AS \w+)?(?: USING (?:COVERING )?INDEX (\w+)"
                          r"| USING (?:INTEGER )?PRIMARY KEY)?")
_PLANNED = ("SELECT", "WITH", "UPDATE", "DELETE")


_SQLITE_SORT = re.compile(r"^USE TEMP B-TREE FOR (?:.* )?ORDER BY")


@dataclass(frozen=True)
class Read:
    """One table read in a plan: ``full`` (every row), ``walk`` (a whole index, in order), or
    ``sort`` (its rows that the query reads, sorted: all of them before the first is known)."""

    table: str
    how: str
    index: str | None


def table_name(name: str) -> str:
    """The table of a SQLAlchemy alias (``articles_1``); a subquery's name (``anon_1``) is
    no table's."""
    return re.sub(r"_\d+$", "", name)


def sqlite_reads(connection: Connection, statement: str, parameters: Any) -> list[Read]:
    """The reads of SQLite's plan of ``statement``. A sort (a temporary B-tree for the ORDER
    BY) is of the rows of the plan's first table, the outer loop that drives the rest."""
    rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
    found = []
    first: str | None = None
    for row in rows:
        detail = str(row[3])
        match = _SQLITE_STEP.match(detail)
        if match is not None and first is None:
            first = table_name(match.group(2))
        if _SQLITE_SORT.match(detail) and first is not None:
            found.append(Read(first, "sort", None))
        if match is None or match.group(1) != "SCAN":
            continue
        found.append(Read(table_name(match.group(2)), "walk" if match.group(3) else "full",
                          match.group(3)))
    return found


def postgresql_reads(connection: Connection, statement: str, parameters: Any) -> list[Read]:
    [[plan]] = connection.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {statement}",
                                          parameters).all()
    found: list[Read] = []

    def visit(node: dict[str, Any]) -> None:
        kind, relation = node.get("Node Type", ""), node.get("Relation Name")
        if relation and kind == "Seq Scan":
            found.append(Read(relation, "full", None))
        elif relation and kind in ("Index Scan", "Index Only Scan") and "Index Cond" not in node:
            found.append(Read(relation, "walk", node.get("Index Name")))
        elif kind == "Sort" and node["Plans"][0].get("Plan Rows", 0) > SORTED_AT_MOST:
            found.extend(Read(table, "sort", None) for table in relations(node))
        for child in node.get("Plans", ()):
            visit(child)

    visit((json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"])
    return found


def relations(node: dict[str, Any]) -> list[str]:
    """The tables a PostgreSQL plan node reads, itself or below it."""
    found = [node["Relation Name"]] if node.get("Relation Name") else []
    return found + [table for child in node.get("Plans", ()) for table in relations(child)]


@contextmanager
def recorded(database: Database) -> Iterator[list[tuple[str, Any]]]:
    """The statements (with their first parameters) this thread runs on ``database``
    meanwhile (not the background work a request may start, such as flushing ad counts)."""
    statements: list[tuple[str, Any]] = []
    thread = threading.get_ident()

    def record(connection: Any, cursor: Any, statement: str, parameters: Any, context: Any,
               executemany: bool) -> None:
        if threading.get_ident() != thread:
            return
        if statement.lstrip().upper().startswith(_PLANNED):
            statements.append((statement, parameters[0] if executemany else parameters))

    event.listen(database.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(database.engine, "before_cursor_execute", record)


def large_tables(connection: Connection) -> set[str]:
    """The tables a whole read of fails the check (see :data:`POSTGRESQL_LARGE`)."""
    tables = set(Base.metadata.tables) - set(SMALL_TABLES)
    if connection.dialect.name != "postgresql":
        return tables
    return {name for name in tables
            if connection.exec_driver_sql(f"SELECT count(*) FROM {name}").scalar_one()
            >= POSTGRESQL_LARGE}


def problems_of(archive: Archive, case: Case) -> list[str]:
    with recorded(archive.database) as statements:
        case.run(archive)
    assert statements, f"{case.name}: ran no query"
    found = []
    with archive.database.engine.connect() as connection:
        postgresql = connection.dialect.name == "postgresql"
        large = large_tables(connection) | (set() if postgresql else set(case.counts_large))
        if postgresql:
            connection.exec_driver_sql("SET enable_seqscan = off")
        for statement, parameters in statements:
            reads = (postgresql_reads if postgresql else sqlite_reads)(
                connection, statement, parameters)
            for read in reads:
                if read.table not in large:
                    continue
                allowed = {"walk": case.walks, "sort": case.sorts}.get(read.how, ())
                if read.table in case.reads_all + allowed:
                    continue
                what = {"full": "reads every row of",
                        "sort": "sorts (ORDER BY) the rows it reads of",
                        }.get(read.how, f"walks the whole index {read.index} of")
                shown = " ".join(statement.split())
                found.append(f"{case.name}: {what} {read.table}\n    {shown}")
        connection.rollback()
    return found


def test_every_query_reads_by_index(archive: Archive) -> None:
    found = [problem for case in CASES for problem in problems_of(archive, case)]
    assert not found, "\n".join(found)


def test_a_walk_a_scan_and_a_sort_are_caught(archive: Archive) -> None:
    """The check itself: a small section's articles read through the published_at index
    alone (as before its own index) is a walk of the whole index, a filter on a column no
    index has reads every row, and a list sorted by other columns than its index's sorts."""
    with archive.database.engine.begin() as connection:
        connection.execute(text("DROP INDEX ix_articles_section_published"))
    walked = problems_of(archive, Case("a small section without its index",
                                       lambda a: _repository(a).latest_articles(
                                           10, section=SMALL_SECTION)))
    assert walked and all("articles" in problem for problem in walked)
    scanned = problems_of(archive, Case("a filter on an unindexed column", _in_session(
        lambda session: session.execute(text(
            "SELECT id FROM articles WHERE title = 'Article 9'")).all())))
    assert scanned and "reads every row of articles" in scanned[0]
    # a tag's articles in the articles' own order (as before the links carried their dates):
    # SQLite reads every article of the tag and sorts them to show ten; PostgreSQL walks the
    # whole archive's date index, keeping the tag's
    old_shape = ("SELECT articles.id FROM articles WHERE articles.id IN "
                 f"(SELECT article_id FROM article_tags WHERE tag_id = {TAGS + 1}) "
                 "ORDER BY articles.published_at DESC, articles.id DESC LIMIT 10")
    found = problems_of(archive, Case("a big tag in the articles' order", _in_session(
        lambda session: session.execute(text(old_shape)).all())))
    assert found and all("articles" in problem for problem in found), found
    if archive.database.engine.dialect.name == "sqlite":
        assert "sorts (ORDER BY) the rows it reads of articles" in found[0], found


# -- no query escapes ------------------------------------------------------------------------


def public_functions(owner: Any) -> list[str]:
    if isinstance(owner, ModuleType):
        return [name for name, value in vars(owner).items()
                if inspect.isfunction(value) and not name.startswith("_")
                and value.__module__ == owner.__name__]
    return [name for name, value in vars(owner).items()
            if inspect.isfunction(value) and not name.startswith("_")]


def test_every_query_function_has_a_case() -> None:
    named = {case.name.split(":")[0] for case in CASES}
    missing = [f"{prefix}.{name}" for prefix, owner in QUERY_OWNERS.items()
               for name in public_functions(owner)
               if f"{prefix}.{name}" not in named and f"{prefix}.{name}" not in NOT_QUERIES]
    assert not missing, f"give each a case in CASES (or a reason in NOT_QUERIES): {missing}"
    stale = [name for name in NOT_QUERIES if name.rsplit(".", 1)[0] not in QUERY_OWNERS]
    assert not stale


def test_every_api_list_has_a_case(make_app: Callable[..., Flask]) -> None:
    app = make_app(demo=False)
    lists = {rule.rule for rule in app.url_map.iter_rules()
             if rule.rule.startswith("/api/v1/") and not rule.arguments
             and "GET" in (rule.methods or ())}
    named = {case.name.split(":")[0].removeprefix("GET ") for case in CASES}
    assert lists - named - set(NOT_DATABASE_LISTS) == set()
