"""The ad server: whole-page decisions turned into slot markup with signed tracking URLs.

:class:`AdServer` is the ``AdSource`` a page context carries (``PageContext.ads``). Per call:
one version check (the snapshot is rebuilt only when the config changed), at most two delivery
reads (goal counts, the reader's cap counts: ``layoutserver.ads.tally``), the engine, and for
slots that count on render their counts, made before the page is sent.
"""

from __future__ import annotations

import base64
import os
import random
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from flask import Request, url_for
from markupsafe import Markup
from werkzeug.routing import Map

from layoutserver.ads import reader
from layoutserver.ads.counting import Tracked
from layoutserver.ads.decisions import decide_page
from layoutserver.ads.decisions.model import PageDecision, PageRequest
from layoutserver.ads.decisions.snapshot import Snapshot
from layoutserver.ads.markup import SlotTemplates, escape_text
from layoutserver.ads.page_views import PageViews, page_view_key
from layoutserver.ads.snapshot_source import SnapshotSource
from layoutserver.ads.tally import Tally
from layoutserver.ads.tokens import Tokens
from layoutserver.widgets import ArticleView, PageContext, SectionView, ServedAd


class AdServer:
    """Implements :class:`layoutserver.widgets.AdSource`."""

    def __init__(
        self,
        snapshots: SnapshotSource,
        tally: Tally,
        tokens: Callable[[], Tokens],
        config: Mapping[str, Any],
        url_map: Map,
        seed: int | None = None,
        page_views: PageViews | None = None,
    ) -> None:
        self.snapshots = snapshots
        self.page_views = page_views
        """Where an edge's page views keep their decision (None: each request decides)."""
        self.url_map = url_map
        """The app's URL map, for the tracking routes' paths (not looked up per page)."""
        self.tally = tally
        self.observers: list[Callable[[Mapping[str, ServedAd]], None]] = []
        """Called with each page's served slots (``layoutserver.metrics``)."""
        self._tokens = tokens
        self._config = config
        self._seeded = None if seed is None else random.Random(seed)  # noqa: S311 - a lottery
        self.templates = SlotTemplates()
        self._known_paths: dict[str, tuple[str, str]] = {}

    # -- AdSource ------------------------------------------------------------------------------

    def decide_page(self, page: PageContext, slots: Sequence[str]) -> Mapping[str, ServedAd]:
        """Decide ``slots`` of the page together; may make the reader a user key (set as a
        cookie after the request) unless consent denies storage. A request that is part of
        an edge's page view (an ESI include) gets its slots' share of the one decision of
        every slot of the page made for that page view (``ads.page_views``)."""
        http = reader.current_request()
        key = reader.user_key(self._config, page.request.consent, None, http)
        view = page.request.page_view
        if view is None or self.page_views is None:
            return self.serve(page_request(page, slots, key), http=http)
        whole = tuple(dict.fromkeys((*page.page_slots, *slots)))
        decided = self.page_views.once(
            page_view_key(view, key, page.page_type, page.slug, page.request.query),
            lambda: self.serve(page_request(page, whole, key), http=http))
        return {code: decided.get(code) or ServedAd(code, Markup("")) for code in slots}

    # -- the rest of the service ---------------------------------------------------------------

    def user_key(self, stated_consent: bool | None, given: str | None = None) -> str | None:
        return reader.user_key(self._config, stated_consent, given)

    def rng(self) -> random.Random:
        return self._seeded or _LOTTERY

    def decide(
        self, request: PageRequest, explain: bool = False, http: Request | None = None
    ) -> tuple[Snapshot, PageDecision]:
        """The engine's decision against the current snapshot and the stored delivery
        (``http``: the request being answered, when the caller has it at hand)."""
        snapshot = self.snapshots.current()
        new_reader = reader.is_new(request.user_key, http)
        state = self.tally.delivery_state(snapshot, request, new_reader)
        return snapshot, decide_page(snapshot, request, state, self.rng(), explain,
                                     state.shared_verdicts(), new_reader)

    def serve(self, request: PageRequest, base_url: str = "",
              http: Request | None = None) -> dict[str, ServedAd]:
        """Decide and render every slot. ``base_url`` (``https://host``) makes every URL
        absolute, for pages this server does not assemble."""
        if http is None:
            http = reader.current_request()
        snapshot, decision = self.decide(request, http=http)
        decision_id = _decision_id()
        sign = self._tokens().signer()
        click_prefix, impression_prefix = (base_url + path for path in self._paths(http))
        # the markup's URLs escaped by parts (escaping is character by character); a token is
        # URL-safe but for the slot code and user key it names, so it is checked
        click_html, impression_html = escape_text(click_prefix), escape_text(impression_prefix)
        templates = self.templates.of(snapshot)
        served: dict[str, ServedAd] = {}
        counted: list[Tracked] = []
        page_user_key = request.user_key
        for code, slot_decision in decision.slots.items():
            slot = snapshot.slots.get(code)
            creative = slot_decision.creative
            if slot is None or creative is None:
                served[code] = ServedAd(code, Markup(""))
                continue
            line_item_id = slot_decision.line_item_id
            item = snapshot.line_items.get(line_item_id or 0)
            # per-user counts only where caps read them (and the key only in their URLs)
            user_key = page_user_key if item is not None and item.caps else None
            # one token for both URLs: the replay guard counts it once per kind
            token = sign(decision_id, code, line_item_id or 0, creative.id, user_key)
            token_html = escape_text(token)
            click = click_prefix + token
            impression = impression_in_html = None
            if slot.count_on_render:
                counted.append(Tracked(decision_id, code, line_item_id or 0, creative.id,
                                       user_key))
            else:
                impression = impression_prefix + token
                impression_in_html = impression_html + token_html
            # the reserved size: the decided creative's (see markup.reserved_size)
            template = templates.get(slot, creative, slot_decision.size or creative.size,
                                     base_url)
            markup = template.fill(click_html + token_html, impression_in_html)
            served[code] = ServedAd(code, markup, template.size_text,
                                    line_item_id, creative.id, impression, click)
        if counted:
            self.tally.record_all("impression", counted, request.now)
        for observer in self.observers:
            observer(served)
        return served

    def _paths(self, http: Request | None) -> tuple[str, str]:
        """The paths of the click and impression routes up to their token; outside a request
        (``http`` None: a widget rendered by a test fixture) from the app's URL map. Kept per
        script root: they never change."""
        root = http.environ.get("SCRIPT_NAME", "") if http is not None else ""
        known = self._known_paths.get(root)
        if known is None:
            paths = []
            for endpoint in ("ads.click", "ads.impression"):
                if http is not None:
                    path = url_for(endpoint, token=_MARK)
                else:
                    path = self.url_map.bind("localhost").build(endpoint, {"token": _MARK})
                paths.append(path.removesuffix(_MARK))
            known = (paths[0], paths[1])
            if len(self._known_paths) < MAX_SCRIPT_ROOTS:  # roots may come from a proxy header
                self._known_paths[root] = known
        return known


_MARK = "TOKEN"
MAX_SCRIPT_ROOTS = 64
"""Script roots whose tracking paths an ad server keeps (an app is mounted at one or two)."""

_LOTTERY = random.Random()  # noqa: S311 - a lottery, not a secret
"""The lottery's random source when no seed is set: one per process (reseeded in a forked
worker, so that workers do not draw alike), rather than a new one seeded per page."""
_IDS = random.Random()  # noqa: S311 - ids need to be unique, not secret (tokens are signed)
"""Decision ids: 96 random bits from a process's own generator (reseeded in a forked worker),
rather than a system call per page."""
for _source in (_LOTTERY, _IDS):
    os.register_at_fork(after_in_child=_source.seed)


def _decision_id() -> str:
    """16 URL-safe characters, as ``secrets.token_urlsafe(12)`` makes them."""
    return base64.urlsafe_b64encode(_IDS.randbytes(12)).decode("ascii")


def page_request(page: PageContext, slots: Sequence[str], user_key: str | None) -> PageRequest:
    """The engine's view of a page assembled by this server."""
    subject = page.subject
    section: str | None = None
    tags: frozenset[str] = frozenset()
    if isinstance(subject, ArticleView):
        section = subject.section.slug if subject.section is not None else None
        tags = frozenset(subject.tags)
    elif isinstance(subject, SectionView):
        section = subject.slug
    return PageRequest(
        slots=tuple(slots),
        now=page.site.now,
        device=page.request.device,
        page_type=page.page_type,
        slug=page.slug,
        section=section,
        tags=tags,
        path=page.request.path,
        key_values=page.request.query,  # read-only already: no copy
        user_key=user_key,
    )

