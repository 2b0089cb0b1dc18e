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

from markupsafe import Markup
from werkzeug.routing import Map

from layoutserver.ads.counting import Tracked
from layoutserver.ads.decisions import decide_page
from layoutserver.ads.decisions.model import PageDecision, PageRequest, SlotSpec
from layoutserver.ads.decisions.snapshot import Snapshot
from layoutserver.ads.markup import SlotTemplates, escape_text
from layoutserver.ads.page_views import PageViews, page_view_key
from layoutserver.ads.snapshot_source import SnapshotSource
from layoutserver.ads.tally import Tally
from layoutserver.ads.tokens import Tokens
from layoutserver.widgets import (
    DEVICE_CLASSES,
    ArticleView,
    PageContext,
    SectionView,
    ServedAd,
    SlotRoom,
)


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
        self.traffic: Callable[[PageRequest, Snapshot], None] | None = None
        """Called with each request it decides (the traffic record: ``ads.traffic``)."""
        self._tokens = tokens
        self._config = config
        self._seeded = None if seed is None else random.Random(seed)  # noqa: S311 - a lottery
        self._lottery = random.Random()  # noqa: S311 - a lottery, not a secret
        self._ids = random.Random()  # noqa: S311 - decision ids: unique, not secret
        self._pid = os.getpid()
        self.templates = SlotTemplates()
        self._known_paths: dict[str, tuple[str, str, str]] = {}
        self._rooms: tuple[Snapshot | None, dict[str, SlotRoom | None]] = (None, {})

    # -- AdSource ------------------------------------------------------------------------------

    def decide_page(self, page: PageContext, slots: Sequence[str]) -> Mapping[str, ServedAd]:
        """Decide ``slots`` of the page together, for the reader the page context names
        (``page.request.user_key``; a new key is stored by the web layer). A request that is
        part of an edge's page view (an ESI include) gets its slots' share of the one
        decision of every slot of the page made for that page view (``ads.page_views``)."""
        view = page.request
        key, new = view.user_key, view.new_user_key

        def serve(codes: Sequence[str]) -> dict[str, ServedAd]:
            return self.serve(page_request(page, codes, key), new_reader=new,
                              script_root=view.script_root)

        if view.page_view is None or self.page_views is None:
            return serve(slots)
        whole = tuple(dict.fromkeys((*page.page_slots, *slots)))
        decided = self.page_views.once(
            page_view_key(view.page_view, key, page.page_type, page.slug, view.query),
            lambda: serve(whole))
        return {code: decided.get(code) or ServedAd(code, Markup("")) for code in slots}

    def slot_rooms(self, slots: Sequence[str]) -> Mapping[str, SlotRoom]:
        """Each slot's room on each device class, from the current configuration snapshot
        (worked out once per slot and snapshot)."""
        snapshot = self.snapshots.current()
        kept = self._rooms
        if kept[0] is not snapshot:
            kept = self._rooms = (snapshot, {})
        rooms: dict[str, SlotRoom] = {}
        for code in slots:
            if code not in kept[1]:
                kept[1][code] = slot_room(snapshot.slots.get(code))
            room = kept[1][code]
            if room is not None:
                rooms[code] = room
        return rooms

    # -- the rest of the service ---------------------------------------------------------------

    def rng(self) -> random.Random:
        """The lottery's random source: the app's seeded one, else this process's (a forked
        worker draws from a source of its own)."""
        if self._seeded is not None:
            return self._seeded
        self._fork_check()
        return self._lottery

    def decide(
        self, request: PageRequest, explain: bool = False, new_reader: bool = False
    ) -> tuple[Snapshot, PageDecision]:
        """The engine's decision against the current snapshot and the stored delivery
        (``new_reader``: the user key was made for this request, so it has no history)."""
        snapshot = self.snapshots.current()
        state = self.tally.delivery_state(snapshot, request, new_reader)
        return snapshot, decide_page(snapshot, request, state, self.rng(), explain,
                                     state.shared_verdicts(), new_reader)

    def serve(self, request: PageRequest, base_url: str = "", new_reader: bool = False,
              script_root: str = "") -> dict[str, ServedAd]:
        """Decide and render every slot. ``base_url`` (``https://host``) makes every URL
        absolute, for pages this server does not assemble; ``script_root`` is where the app
        is mounted."""
        snapshot, decision = self.decide(request, new_reader=new_reader)
        if self.traffic is not None:
            self.traffic(request, snapshot)
        decision_id = self._decision_id()
        sign = self._tokens().signer()
        click_prefix, impression_prefix, view_prefix = (base_url + path
                                                        for path in self._paths(script_root))
        # the markup's URLs escaped by parts (escaping is character by character); a token is
        # URL-safe but for the slot code and user key it names, so it is checked
        click_html, impression_html, view_html = map(
            escape_text, (click_prefix, impression_prefix, view_prefix))
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
            markup = template.fill(click_html + token_html, impression_in_html,
                                   view_html + token_html)
            served[code] = ServedAd(code, markup, template.size_text, line_item_id,
                                    creative.id, impression, click, view_prefix + token)
        if counted:
            self.tally.record_all("impression", counted, request.now)
        for observer in self.observers:
            observer(served)
        return served

    def _paths(self, script_root: str) -> tuple[str, str, str]:
        """The paths of the click, impression and viewability routes up to their token, from
        the app's URL map. Kept per script root: they never change."""
        known = self._known_paths.get(script_root)
        if known is None:
            adapter = self.url_map.bind("localhost", script_name=script_root or None)
            click, impression, view = (
                adapter.build(endpoint, {"token": _MARK}).removesuffix(_MARK)
                for endpoint in ("ads.click", "ads.impression", "ads.viewability"))
            known = (click, impression, view)
            if len(self._known_paths) < MAX_SCRIPT_ROOTS:  # roots may come from a proxy header
                self._known_paths[script_root] = known
        return known

    def _fork_check(self) -> None:
        """Reseed the process's sources in a forked worker, so that workers do not draw (or
        name decisions) alike."""
        if self._pid != os.getpid():
            self._pid = os.getpid()
            self._lottery.seed()
            self._ids.seed()

    def _decision_id(self) -> str:
        """16 URL-safe characters, as ``secrets.token_urlsafe(12)`` makes them: unique, not
        secret (tokens are signed)."""
        self._fork_check()
        return base64.urlsafe_b64encode(self._ids.randbytes(12)).decode("ascii")


_MARK = "TOKEN"
MAX_SCRIPT_ROOTS = 64
"""Script roots whose tracking paths an ad server keeps (an app is mounted at one or two)."""


def slot_room(slot: SlotSpec | None) -> SlotRoom | None:
    """The room of a configured, enabled slot: per device class the widest and the tallest of
    the sizes it accepts there (a creative of any of them fits without moving anything)."""
    if slot is None or not slot.enabled:
        return None
    sizes = []
    for device in DEVICE_CLASSES:
        accepted = slot.sizes_for(device)
        if accepted:
            sizes.append((device, max(size.width for size in accepted),
                          max(size.height for size in accepted)))
    return SlotRoom(tuple(sizes), labelled=bool(slot.label))


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

