"""A placement's keys besides its widget, id and options, as form fields: the device classes it
shows to (``devices``), and the placement it sits inside with the inner position it fills
there (``inside``, ``position``: an ad spot after the third paragraph of the article's text).

Each field is named as the key, so a layout problem about it (``field 'position'``) shows
beside it. An empty field leaves its key out; what a value must be is the loader's business.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from werkzeug.datastructures import MultiDict

from layoutserver.console.forms import Field
from layoutserver.layouts import editing
from layoutserver.registry import WidgetRegistry
from layoutserver.widgets import DEVICE_CLASSES

KEYS = ("devices", "inside", "position")


def key_fields(document: Mapping[str, Any], variant: str | None, registry: WidgetRegistry,
               placement_id: str | None) -> list[Field]:
    """The fields, with the placements of the scope that offer inner positions as the choices
    of ``inside`` (the placement itself left out)."""
    hosts: list[tuple[str, str]] = []
    offered: list[str] = []
    for _, table in editing.walk(document, variant):
        installed = registry.get(str(table.get("widget")))
        if installed is None or not installed.widget.positions or table.get("id") == placement_id:
            continue
        hosts.append((str(table["id"]), f"{table['id']} ({installed.name})"))
        offered += [f"{table['id']}: {p.name}" + (f" ({p.description})" if p.description else "")
                    for p in installed.widget.positions]
    return [
        Field("devices", "Devices", kind="multi", group="Placement",
              choices=lambda: [(device, device) for device in DEVICE_CLASSES],
              help="Shown only to the device classes ticked; none ticked: to every device."),
        Field("inside", "Inside", kind="select", group="Placement",
              choices=lambda: hosts, prompt="(not inside another placement)",
              help="A placement of the same region whose widget offers inner positions: this "
                   "one is shown inside it, at the position below."),
        Field("position", "Inner position", group="Placement",
              help="Where inside it, such as after-paragraph-3 ({n}: a number from 1). "
                   + ("Offered: " + "; ".join(offered) + "." if offered
                      else "No placement here offers one.")),
    ]


def shown_keys(table: Mapping[str, Any]) -> dict[str, Any]:
    devices = table.get("devices")
    return {"devices": [str(d) for d in devices] if isinstance(devices, list) else [],
            "inside": str(table.get("inside") or ""),
            "position": str(table.get("position") or "")}


def posted_keys(form: MultiDict[str, str]) -> dict[str, Any]:
    return {"devices": form.getlist("devices"), "inside": form.get("inside", ""),
            "position": form.get("position", "")}


def with_keys(table: Mapping[str, Any], form: MultiDict[str, str]) -> dict[str, Any]:
    """``table`` with the form's devices, inside and position (an empty one left out)."""
    changed = {key: value for key, value in table.items() if key not in KEYS}
    devices = [device for device in form.getlist("devices") if device]
    if devices:
        changed["devices"] = devices
    for key in ("inside", "position"):
        text = form.get(key, "").strip()
        if text:
            changed[key] = text
    return changed
