"""The HTML of one ad slot (``ServedAd.html``).

``<div class="ad-spot">``: the slot's label, then a box whose width and height are reserved from
the creative's size (so nothing shifts when it loads), holding

* an image creative: ``<a href=CLICK rel="sponsored noopener" target="_blank"><img ...></a>``;
* a text creative: a link;
* an HTML creative or third-party tag: an ``<iframe sandbox srcdoc>``. The sandbox allows
  scripts and popups but never ``allow-same-origin`` (the creative runs in an opaque origin and
  cannot reach the host page's DOM, cookies or storage) and never ``allow-top-navigation``.
  The creative's HTML only ever appears escaped, inside ``srcdoc``; ``%%CLICK_URL%%`` in it is
  replaced by the click URL;

and the impression beacon, a 1x1 image (``loading="lazy"`` when the slot is lazy), unless the
impression was counted on render. A collapsed slot is empty markup. Every value is escaped.
"""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup, escape

from layoutserver.ads.decisions.model import CreativeSpec, Size, SlotDecision, SlotSpec

SANDBOX = "allow-scripts allow-popups allow-popups-to-escape-sandbox"
CLICK_MACRO = "%%CLICK_URL%%"
FRAME_DOCUMENT = (
    '<!doctype html><html><head><meta charset="utf-8"><base target="_blank">'
    "<style>html,body{{margin:0;padding:0;overflow:hidden}}</style></head>"
    "<body>{}</body></html>"
)


@dataclass(frozen=True)
class Links:
    click: str
    impression: str | None
    """None when the impression was counted on render (no beacon)."""


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
    """The slot's markup; empty when there is no creative (the slot collapses).

    Built with f-strings for speed (a page has several slots and renders per request): every
    value that is not an ``int`` goes through :func:`_e`."""
    if creative is None or size is None:
        return Markup("")
    label = f'<div class="ad-spot__label">{_e(slot.label)}</div>' if slot.label else ""
    if creative.kind == "html":
        body = _frame(creative, size, links.click, slot.lazy)
    elif creative.kind == "text":
        body = (f'<a class="ad-spot__text" href="{_e(links.click)}" rel="sponsored noopener" '
                'target="_blank" style="display:block;height:100%;padding:12px;'
                f'text-align:left">{_e(creative.text)}</a>')
    else:
        body = _image(creative, size, links.click, slot.lazy, asset_base)
    beacon = _beacon(links.impression, slot.lazy) if links.impression else ""
    width, height = int(size.width), int(size.height)
    return Markup(  # noqa: S704 - every value is escaped or an int
        f'<div class="ad-spot" data-ad-slot="{_e(slot.code)}" data-ad-size="{width}x{height}" '
        f'style="position:relative">{label}<div class="ad-spot__box" style="width:{width}px;'
        f'height:{height}px;max-width:100%;overflow:hidden;margin:0 auto">{body}</div>'
        f"{beacon}</div>"
    )


def _e(value: str) -> str:
    return str(escape(value))


def _lazy(lazy: bool) -> str:
    return ' loading="lazy"' if lazy else ""


def _image(creative: CreativeSpec, size: Size, click: str, lazy: bool, base: str) -> str:
    src = creative.image_url
    if base and src.startswith("/") and not src.startswith("//"):
        src = base + src
    return (f'<a href="{_e(click)}" rel="sponsored noopener" target="_blank">'
            f'<img src="{_e(src)}" alt="{_e(creative.alt)}" width="{int(size.width)}" '
            f'height="{int(size.height)}"{_lazy(lazy)} style="display:block;border:0"></a>')


def _frame(creative: CreativeSpec, size: Size, click: str, lazy: bool) -> str:
    document = FRAME_DOCUMENT.format(creative.html.replace(CLICK_MACRO, _e(click)))
    return (f'<iframe class="ad-spot__frame" title="Advertisement" sandbox="{SANDBOX}" '
            f'srcdoc="{_e(document)}" width="{int(size.width)}" height="{int(size.height)}" '
            f'referrerpolicy="no-referrer"{_lazy(lazy)} style="display:block;border:0"></iframe>')


def _beacon(url: str, lazy: bool) -> str:
    return (f'<img class="ad-spot__beacon" src="{_e(url)}?f=gif" width="1" height="1" alt="" '
            f'aria-hidden="true"{_lazy(lazy)} style="position:absolute;left:0;bottom:0;'
            'width:1px;height:1px;border:0;opacity:0">')
