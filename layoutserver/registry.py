"""Finding installed widgets through the ``layoutserver.widgets`` entry-point group.

A widget that fails to import or breaks the contract is recorded as a :class:`LoadFailure` and
logged; it never stops the others from loading (compare flask-pluginengine's loader).
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points

from layoutserver.widgets import Widget, widget_problems

ENTRY_POINT_GROUP = "layoutserver.widgets"
OWN_DISTRIBUTION = "layoutserver"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class InstalledWidget:
    name: str
    widget: Widget
    distribution: str
    distribution_version: str
    source: str
    """Where it came from: the entry point's value, or the class path when registered directly."""

    @property
    def widget_class(self) -> type[Widget]:
        return type(self.widget)

    @property
    def places_ads(self) -> bool:
        """Whether it is an ad widget: it overrides the contract's ``ad_slots`` hook."""
        return inspect.getattr_static(self.widget_class, "ad_slots") is not vars(Widget)[
            "ad_slots"]


@dataclass(frozen=True)
class LoadFailure:
    name: str
    source: str
    distribution: str
    error: str


@dataclass(frozen=True)
class DisabledWidget:
    """An installed widget not loaded because ``WIDGETS_DISABLED`` names it (never imported)."""

    name: str
    source: str
    distribution: str
    distribution_version: str


class RegistryError(ValueError):
    """A widget class cannot be registered; the message says why."""


class WidgetRegistry:
    """The widgets this app can place, by name, and the ones that failed to load."""

    def __init__(self) -> None:
        self._widgets: dict[str, InstalledWidget] = {}
        self.failures: list[LoadFailure] = []
        self.disabled: dict[str, DisabledWidget] = {}
        """By name: the installed widgets switched off by ``WIDGETS_DISABLED``."""

    @classmethod
    def discover(cls, disabled: Iterable[str] = ()) -> WidgetRegistry:
        registry = cls()
        skipped = set(disabled)
        found = sorted(entry_points(group=ENTRY_POINT_GROUP), key=_entry_point_order)
        for entry_point in found:
            if entry_point.name in skipped:
                log.info("widget %s is disabled by WIDGETS_DISABLED", entry_point.name)
                dist = entry_point.dist
                registry.disabled[entry_point.name] = DisabledWidget(
                    entry_point.name, entry_point.value,
                    dist.name if dist is not None else "(unknown)",
                    dist.version if dist is not None else "")
                continue
            registry._load(entry_point)
        return registry

    def _load(self, entry_point: EntryPoint) -> None:
        dist = entry_point.dist
        dist_name = dist.name if dist is not None else "(unknown)"
        dist_version = dist.version if dist is not None else ""
        try:
            candidate = entry_point.load()
            if isinstance(candidate, type) and issubclass(candidate, Widget):
                declared = getattr(candidate, "name", None)
                if declared != entry_point.name:
                    raise RegistryError(
                        f"entry point is named {entry_point.name!r} but the widget declares "
                        f"name {declared!r}"
                    )
            self.register(candidate, distribution=dist_name, distribution_version=dist_version,
                          source=entry_point.value)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            log.error("widget %s from %s failed to load: %s", entry_point.name, dist_name, error)
            self.failures.append(
                LoadFailure(entry_point.name, entry_point.value, dist_name, error)
            )

    def register(
        self,
        widget_class: object,
        *,
        distribution: str = "(registered directly)",
        distribution_version: str = "",
        source: str | None = None,
    ) -> InstalledWidget:
        """Add a widget class; entry-point discovery and test apps both come through here."""
        problems = widget_problems(widget_class)
        if problems:
            raise RegistryError("; ".join(problems))
        assert isinstance(widget_class, type) and issubclass(widget_class, Widget)
        existing = self._widgets.get(widget_class.name)
        if existing is not None:
            raise RegistryError(
                f"widget name {widget_class.name!r} is already registered by "
                f"{existing.distribution} ({existing.source})"
            )
        installed = InstalledWidget(
            name=widget_class.name,
            widget=widget_class(),
            distribution=distribution,
            distribution_version=distribution_version,
            source=source or f"{widget_class.__module__}:{widget_class.__qualname__}",
        )
        self._widgets[installed.name] = installed
        return installed

    def get(self, name: str) -> InstalledWidget | None:
        return self._widgets.get(name)

    def failure(self, name: str) -> LoadFailure | None:
        return next((failure for failure in self.failures if failure.name == name), None)

    def names(self) -> list[str]:
        return sorted(self._widgets)

    def places_ads(self, name: str) -> bool:
        """Whether ``name`` is an installed ad widget (one that is not installed is not)."""
        installed = self._widgets.get(name)
        return installed is not None and installed.places_ads

    def __contains__(self, name: object) -> bool:
        return name in self._widgets

    def __iter__(self) -> Iterator[InstalledWidget]:
        return iter(sorted(self._widgets.values(), key=lambda installed: installed.name))

    def __len__(self) -> int:
        return len(self._widgets)


def _entry_point_order(entry_point: EntryPoint) -> tuple[bool, str, str]:
    """layoutserver's own widgets first, so an outside package cannot take a built-in's name;
    then by distribution and name, so which of two outside claimants wins is stable."""
    dist = entry_point.dist
    dist_name = dist.name if dist is not None else ""
    return (dist_name != OWN_DISTRIBUTION, dist_name, entry_point.name)
