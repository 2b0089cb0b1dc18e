"""The HTML of one ad slot (``ServedAd.html``).

``<div class="ad-spot">``: the slot's label, then a box whose width and height are reserved from
the creative's size (so nothing shifts when it loads), holding

* an image creative: ``<a href=CLICK rel="sponsored noopener" target="_blank"><img ...></a>``;
* a text creative: a link;
* an HTML creative or third-party tag: an ``<iframe sandbox srcdoc>``. The sandbox allows
  scripts and popups but never ``allow-same-origin`` (the creative runs in an opaque origin and
  cannot reach the host page's DOM, cookies or storage) and never ``allow-top-navigation``.
  A window the creative opens (its links open in a new tab: ``<base target="_blank">``) stays
  in the sandbox, unless the creative's advertiser allows ``popups_escape_sandbox``. The
  sandbox has no flag that ties popups to a click: the browser's popup blocker, when on, refuses a
  window opened without one. The creative's HTML only ever appears escaped, inside
  ``srcdoc``; ``%%CLICK_URL%%`` in it is replaced by the click URL;

and the impression beacon, a 1x1 image, unless the impression was counted on render. The
``ad-spot`` element names the viewability URL (``data-ad-view``) that ``viewability.js``
reports to (docs/viewability.md). A collapsed slot is empty markup. Every value is escaped.

A lazy slot's box holds its creative and beacon in a ``<template>``, inert until
``viewability.js`` renders it as the slot nears the viewport, so the impression counts when the
creative begins to render (without script it is never rendered, and counts nothing).

A slot's markup depends on the request only through its URLs, so it is built as a
:class:`SlotTemplate` (the rest escaped once, kept per configuration snapshot by the ad server)
and filled with the URLs per request.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from string import Formatter

from markupsafe import Markup, escape

from layoutserver.ads.decisions.model import CreativeSpec, Size, SlotDecision, SlotSpec
from layoutserver.ads.decisions.snapshot import Snapshot

SANDBOX = "allow-scripts allow-popups"
SANDBOX_POPUPS_ESCAPE = SANDBOX + " allow-popups-to-escape-sandbox"
"""The sandbox of a creative whose advertiser allows ``popups_escape_sandbox``."""
CLICK_MACRO = "%%CLICK_URL%%"
FRAME_HEAD = (
    '<!doctype html><html><head><meta charset="utf-8"><base target="_blank">'
    "<style>html,body{margin:0;padding:0;overflow:hidden}</style></head><body>"
)
FRAME_TAIL = "</body></html>"
# Where the URLs go in a template (str.format fields): the click URL escaped once (an href),
# escaped twice (inside an HTML creative, itself escaped into srcdoc), the impression URL, the
# viewability URL.
_CLICK, _CLICK_IN_FRAME, _IMPRESSION, _VIEW = "{c}", "{cc}", "{i}", "{v}"


@dataclass(frozen=True)
class Links:
    click: str
    impression: str | None
    """None when the impression was counted on render (no beacon)."""
    viewability: str = ""
    """The viewability beacon's URL (empty: the slot is not measured)."""


@dataclass(frozen=True)
class SlotTemplate:
    """A slot's markup with its URLs left out: ``text`` is a ``str.format`` template (fields
    ``c``, ``cc``, ``i``, ``v``) whose static parts are escaped already. It is split into its parts
    once, so that filling it in joins a few strings instead of parsing the template."""

    text: str
    beacon: bool
    """Whether it shows the impression beacon (it needs an impression URL)."""
    size: Size | None = None
    """The size it reserves."""
    parts: tuple[tuple[str, str | None], ...] = field(init=False)
    """(static text, the field after it or None), in order."""
    size_text: str = field(init=False)
    """``str(size)``, e.g. ``300x250``."""
    in_frame: bool = field(init=False)
    """Whether the click URL goes into a creative's document too (escaped twice there)."""

    def __post_init__(self) -> None:
        parts = tuple((literal, name) for literal, name, _, _ in Formatter().parse(self.text))
        object.__setattr__(self, "parts", parts)
        object.__setattr__(self, "size_text", "" if self.size is None else str(self.size))
        object.__setattr__(self, "in_frame", any(name == "cc" for _, name in parts))

    def render(self, links: Links) -> Markup:
        return self.fill(escape_text(links.click), None if links.impression is None
                         else escape_text(links.impression), escape_text(links.viewability))

    def fill(self, click: str, impression: str | None, viewability: str = "") -> Markup:
        """The markup with these URLs, given HTML-escaped (``impression``: None when counted
        on render)."""
        values = {"c": click, "cc": escape_text(click) if self.in_frame else "",
                  "i": impression if self.beacon and impression else "", "v": viewability}
        out: list[str] = []
        for literal, name in self.parts:
            out.append(literal)
            if name is not None:
                out.append(values[name])
        return Markup("".join(out))  # noqa: S704 - static parts escaped, values escaped here


class SlotTemplates:
    """The templates of one configuration snapshot, made on first use; a new snapshot starts
    afresh. At most ``limit`` are kept (``asset_base`` comes from the request's host on the
    client-side path)."""

    def __init__(self, limit: int = 1024) -> None:
        self._limit = limit
        self._kept: tuple[Snapshot | None, dict[tuple[object, ...], SlotTemplate]] = (None, {})

    def of(self, snapshot: Snapshot) -> _SnapshotTemplates:
        kept = self._kept
        if kept[0] is not snapshot:
            kept = self._kept = (snapshot, {})
        return _SnapshotTemplates(kept[1], self._limit)


@dataclass(frozen=True, slots=True)
class _SnapshotTemplates:
    kept: dict[tuple[object, ...], SlotTemplate]
    limit: int

    def get(self, slot: SlotSpec, creative: CreativeSpec, size: Size,
            asset_base: str = "") -> SlotTemplate:
        key = (slot.code, creative.id, asset_base)
        template = self.kept.get(key)
        if template is None or (template.size is not size and template.size != size):
            template = slot_template(slot, creative, size, not slot.count_on_render, asset_base)
            if len(self.kept) < self.limit:
                self.kept[key] = template
        return template


def reserved_size(slot: SlotSpec, decision: SlotDecision, device: str) -> Size | None:
    """The decided creative's size, else the largest size the slot accepts on the device."""
    if decision.size is not None:
        return decision.size
    if decision.creative is not None:
        return decision.creative.size
    sizes = slot.sizes_for(device)
    return max(sizes, key=lambda size: size.width * size.height) if sizes else None


def slot_html(
    slot: SlotSpec, creative: CreativeSpec | None, size: Size | None, links: Links,
    asset_base: str = "",
) -> Markup:
    """The slot's markup; empty when there is no creative (the slot collapses)."""
    if creative is None or size is None:
        return Markup("")
    return slot_template(slot, creative, size, links.impression is not None,
                         asset_base).render(links)


def slot_template(
    slot: SlotSpec, creative: CreativeSpec, size: Size, beacon: bool, asset_base: str = ""
) -> SlotTemplate:
    """The slot's markup for ``creative`` at ``size``, the URLs left to fill in; with the
    impression beacon when ``beacon`` (the impression is not counted on render)."""
    label = f'<div class="ad-spot__label">{_s(slot.label)}</div>' if slot.label else ""
    if slot.lazy:  # rendered by viewability.js near the viewport
        later = _creative(creative, size, asset_base) + (_BEACON if beacon else "")
        inside, after = f'<template class="ad-spot__later">{later}</template>', ""
    else:
        inside, after = _creative(creative, size, asset_base), _BEACON if beacon else ""
    width, height = int(size.width), int(size.height)
    return SlotTemplate(
        f'<div class="ad-spot" data-ad-slot="{_s(slot.code)}" data-ad-size="{width}x{height}" '
        f'data-ad-view="{_VIEW}" style="position:relative">{label}<div class="ad-spot__box" '
        f'style="width:{width}px;height:{height}px;max-width:100%;overflow:hidden;'
        f'margin:0 auto">{inside}</div>{after}</div>',
        beacon,
        size,
    )


def _creative(creative: CreativeSpec, size: Size, asset_base: str) -> str:
    if creative.kind == "html":
        return _frame(creative, size)
    if creative.kind == "text":
        return (f'<a class="ad-spot__text" href="{_CLICK}" rel="sponsored noopener" '
                'target="_blank" style="display:block;height:100%;padding:12px;'
                f'text-align:left">{_s(creative.text)}</a>')
    return _image(creative, size, asset_base)


def escape_text(value: str) -> str:
    """``markupsafe.escape`` as a ``str``; a value with nothing to escape is returned as is."""
    return str(escape(value)) if _UNSAFE.search(value) else value


_UNSAFE = re.compile("[&<>\"']")
"""What :func:`markupsafe.escape` replaces: a URL without any is left as it is."""


def _s(value: str) -> str:
    """A static part of a template: escaped, and braces doubled for ``str.format``."""
    return escape_text(value).replace("{", "{{").replace("}", "}}")


def _image(creative: CreativeSpec, size: Size, base: str) -> str:
    src = creative.image_url
    if base and src.startswith("/") and not src.startswith("//"):
        src = base + src
    return (f'<a href="{_CLICK}" rel="sponsored noopener" target="_blank">'
            f'<img src="{_s(src)}" alt="{_s(creative.alt)}" width="{int(size.width)}" '
            f'height="{int(size.height)}" style="display:block;border:0"></a>')


def _frame(creative: CreativeSpec, size: Size) -> str:
    """The creative's document escaped into ``srcdoc``; the click URL, escaped for the
    document, is escaped once more with it (escaping is character by character, so escaping
    the parts is escaping the whole)."""
    document = FRAME_HEAD + creative.html + FRAME_TAIL
    srcdoc = _CLICK_IN_FRAME.join(_s(part) for part in document.split(CLICK_MACRO))
    sandbox = SANDBOX_POPUPS_ESCAPE if creative.popups_escape_sandbox else SANDBOX
    return (f'<iframe class="ad-spot__frame" title="Advertisement" sandbox="{sandbox}" '
            f'srcdoc="{srcdoc}" width="{int(size.width)}" height="{int(size.height)}" '
            'referrerpolicy="no-referrer" style="display:block;border:0"></iframe>')


_BEACON = (f'<img class="ad-spot__beacon" src="{_IMPRESSION}?f=gif" width="1" height="1" '
           'alt="" aria-hidden="true" style="position:absolute;left:0;bottom:0;'
           'width:1px;height:1px;border:0;opacity:0">')
