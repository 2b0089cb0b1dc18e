"""The room each ad slot reserves when the browser or an edge fills it later
(``AdSource.slot_rooms``): per device class the widest and the tallest accepted size, from the
configuration of the moment."""

from __future__ import annotations

from adsupport import demo_document
from flask import Flask

from layoutserver.ads.config_import import import_ads
from layoutserver.ads.decisions.model import Size, SlotSpec
from layoutserver.ads.service import slot_room
from layoutserver.core import get_core
from layoutserver.db import get_database
from layoutserver.widgets import SlotRoom


def test_a_devices_room_is_its_widest_and_tallest_size() -> None:
    slot = SlotSpec("top", "Top", {"desktop": (Size(728, 90), Size(970, 250)),
                                   "mobile": (Size(320, 50), Size(300, 250))})
    assert slot_room(slot) == SlotRoom((("desktop", 970, 250), ("mobile", 320, 250)),
                                       labelled=True)


def test_any_device_takes_the_star_sizes_and_a_slot_may_have_no_label() -> None:
    slot = SlotSpec("box", "Box", {"*": (Size(300, 250),), "mobile": (Size(320, 50),)},
                    label="")
    assert slot_room(slot) == SlotRoom(
        (("desktop", 300, 250), ("tablet", 300, 250), ("mobile", 320, 50)), labelled=False)


def test_a_disabled_or_unknown_slot_reserves_nothing() -> None:
    assert slot_room(SlotSpec("off", "Off", {"*": (Size(300, 250),)}, enabled=False)) is None
    assert slot_room(None) is None


def test_the_ad_server_answers_the_current_configuration(ads_app: Flask) -> None:
    ads = get_core(ads_app).ads
    assert ads is not None
    assert ads.slot_rooms(["article-1", "article-3", "unknown"]) == {
        "article-1": SlotRoom((("desktop", 728, 90), ("tablet", 728, 90), ("mobile", 320, 50)),
                              labelled=True),
        "article-3": SlotRoom((("desktop", 300, 250), ("tablet", 300, 250),
                               ("mobile", 300, 250)), labelled=True),
    }
    document = demo_document()
    for slot in document["slots"]:
        if slot["code"] == "article-1":
            slot["sizes"]["mobile"] = ["320x50", "320x100"]
        if slot["code"] == "article-3":
            slot["enabled"] = False
    import_ads(get_database(ads_app), document, get_core(ads_app).timezone)
    assert ads.slot_rooms(["article-1", "article-3"]) == {
        "article-1": SlotRoom((("desktop", 728, 90), ("tablet", 728, 90), ("mobile", 320, 100)),
                              labelled=True)}
