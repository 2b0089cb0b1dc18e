"""How an ad request is folded into its :class:`~.traffic.PageKind`, with bounded cardinality.

Slots, device, section and page type are kept as they are: each is bounded by the ad
configuration, the device classes, the content's sections and the layouts. What comes from the
page's URL and content is folded to what targeting can tell apart:

* **key-values** (the page's query parameters): only keys a line item targets, or that the
  ``ADS_FORECAST_KEYS`` setting names, are kept. A value a line item targets is kept as it is;
  any other value is kept while its key has had fewer than ``values_per_key`` other values in
  this hour (per process), else it becomes :data:`OTHER`. So a key holds at most its targeted
  values plus ``values_per_key`` (plus one) per hour, and a value first seen late in a busy
  hour is counted as ``*`` for that hour (common values come first, so they are the ones kept).
* **tags**: only tags a line item targets (or the setting ``ADS_FORECAST_TAGS`` names) are kept.
* **path**: only when a line item targets paths; then one path per set of path rules it
  matches (the first seen in the hour), so that every line item's path rules match the kept path
  as they matched the page's; ``/`` when it matches none (or ``*`` when some rule matches
  ``/``).

Values longer than :data:`MAX_TEXT` characters become :data:`OTHER` too. Everything else of the
request (slug, the reader) is dropped; ``keyed`` keeps whether the reader had a user key.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from layoutserver.ads.decisions.entries import Entry
from layoutserver.ads.decisions.model import PageRequest
from layoutserver.ads.decisions.snapshot import Snapshot

from .traffic import PageKind

OTHER = "*"
MAX_TEXT = 200
NO_PATH = "/"


@dataclass(frozen=True)
class Targeted:
    """What the line items of one snapshot (and the settings) target, that a kind keeps."""

    values: dict[str, frozenset[str]]
    """Recorded keys, each with the values line items target."""
    tags: frozenset[str]
    paths: tuple[re.Pattern[str], ...]
    """Every distinct set of path rules, compiled as the engine compiles it."""

    @classmethod
    def of(cls, snapshot: Snapshot, keys: Iterable[str] = (), tags: Iterable[str] = ()
           ) -> Targeted:
        return _Facts(keys, tags).add(snapshot.entries.values()).targeted()


class _Facts:
    """:class:`Targeted` being gathered, line item by line item."""

    def __init__(self, keys: Iterable[str], tags: Iterable[str]) -> None:
        self.values: dict[str, set[str]] = {key: set() for key in keys}
        self.tags = set(tags)
        self.patterns: dict[str, re.Pattern[str]] = {}

    def copy(self) -> _Facts:
        copied = _Facts((), self.tags)
        copied.values = {key: set(found) for key, found in self.values.items()}
        copied.patterns = dict(self.patterns)
        return copied

    def add(self, entries: Iterable[Entry]) -> _Facts:
        values, tags, patterns = self.values, self.tags, self.patterns
        for entry in entries:
            targeting = entry.item.targeting
            for key, accepted in targeting.key_values.items():
                values.setdefault(key, set()).update(accepted)
            if targeting.tags:
                tags.update(targeting.tags)
            if entry.paths is not None:
                patterns[entry.paths.pattern] = entry.paths
        return self

    def targeted(self) -> Targeted:
        return Targeted({key: frozenset(found) for key, found in self.values.items()},
                        frozenset(self.tags), tuple(self.patterns.values()))


class TargetedFollower:
    """:meth:`Targeted.of` each snapshot a process serves, at a cost that follows what changed:
    walking 100,000 line items costs some 150 ms, and the traffic record needs it on every
    configuration change. What the line items of the snapshot's shared base
    (``Snapshot.entries.base``) target is gathered once per base (a revision keeps the base
    until a few thousand line items changed), and those changed since are added to it. A line
    item removed or edited since still counts until the next base: its values are then kept
    as they come rather than folded into ``*`` (kinds a little finer, none wrong)."""

    def __init__(self, keys: Iterable[str] = (), tags: Iterable[str] = ()) -> None:
        self._keys = tuple(keys)
        self._tags = tuple(tags)
        self._base: tuple[object, _Facts] | None = None

    def __call__(self, snapshot: Snapshot) -> Targeted:
        entries = snapshot.entries
        kept = self._base
        if kept is None or kept[0] is not entries.base:
            kept = self._base = (entries.base,
                                 _Facts(self._keys, self._tags).add(entries.base.values()))
        return kept[1].copy().add(entries.changed()).targeted()


@dataclass
class Folder:
    """Folds requests into kinds for one snapshot; the per-hour bounds reset with the hour
    (:meth:`new_hour`). Not thread-safe: the recorder calls it under its lock."""

    targeted: Targeted
    values_per_key: int
    _seen: dict[str, set[str]] = field(default_factory=dict)
    """Untargeted values kept this hour, by key."""
    _paths: dict[tuple[bool, ...], str] = field(default_factory=dict)
    """The path kept this hour for each set of path rules matched."""

    def new_hour(self) -> None:
        self._seen.clear()
        self._paths.clear()

    def fold(self, request: PageRequest, slots: tuple[str, ...]) -> PageKind:
        """``request``'s kind; ``slots``: its slot codes the configuration knows, once each."""
        return PageKind(slots=slots, device=request.device, section=request.section,
                        page_type=request.page_type, keyed=request.user_key is not None,
                        key_values=self._key_values(request), tags=self._tags(request),
                        path=self._path(request.path))

    def _key_values(self, request: PageRequest) -> tuple[tuple[str, str], ...]:
        if not request.key_values:
            return ()
        values = self.targeted.values
        kept = []
        for key, value in request.key_values.items():
            accepted = values.get(key)
            if accepted is None:
                continue
            kept.append((key, value if value in accepted else self._admit(key, value)))
        kept.sort()
        return tuple(kept)

    def _admit(self, key: str, value: str) -> str:
        if len(value) > MAX_TEXT:
            return OTHER
        seen = self._seen.setdefault(key, set())
        if value in seen:
            return value
        if len(seen) >= self.values_per_key:
            return OTHER
        seen.add(value)
        return value

    def _tags(self, request: PageRequest) -> tuple[str, ...]:
        if not request.tags or not self.targeted.tags:
            return ()
        return tuple(sorted(request.tags & self.targeted.tags))

    def _path(self, path: str) -> str:
        patterns = self.targeted.paths
        if not patterns:
            return NO_PATH
        matched = tuple(pattern.match(path) is not None for pattern in patterns)
        if not any(matched):
            return NO_PATH if not any(p.match(NO_PATH) for p in patterns) else OTHER
        return self._paths.setdefault(matched, path)
