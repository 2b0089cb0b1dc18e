"""What the sitemaps and feeds share: the site's URLs and XML written by ``xml.etree`` (text is
escaped by the serializer; characters XML 1.0 cannot carry are dropped first)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime

#: Characters XML 1.0 does not allow in a document at all, escaped or not.
NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass(frozen=True)
class SiteUrls:
    """Absolute URLs of the site's pages: ``base`` (no trailing slash) and the page types that
    show an article and a section (None: the site has no such pages)."""

    base: str
    article_page_type: str | None
    section_page_type: str | None

    def absolute(self, path: str) -> str:
        return f"{self.base}{path}"

    def article(self, slug: str) -> str | None:
        if self.article_page_type is None:
            return None
        return self.absolute(f"/pages/{self.article_page_type}/{slug}")

    def section(self, slug: str) -> str | None:
        if self.section_page_type is None:
            return None
        return self.absolute(f"/pages/{self.section_page_type}/{slug}")


def text(value: str) -> str:
    """``value`` as XML text may carry it (the serializer escapes ``<``, ``&`` and ``>``)."""
    return NOT_XML.sub("", value)


def child(parent: ET.Element, tag: str, value: str | None = None, **attributes: str
          ) -> ET.Element:
    element = ET.SubElement(parent, tag, {name: text(v) for name, v in attributes.items()})
    if value is not None:
        element.text = text(value)
    return element


def w3c_datetime(when: datetime) -> str:
    """RFC 3339 / W3C date-time in UTC, to the second (sitemaps, news sitemaps and Atom)."""
    return when.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def document(root: ET.Element, default_namespace: str | None = None) -> bytes:
    """``root`` as a UTF-8 document with its XML declaration; ``default_namespace``: the
    namespace of its ``{namespace}tag`` elements written without a prefix (elements with
    unprefixed attributes cannot use it: their root carries an ``xmlns`` attribute)."""
    body: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True,
                              default_namespace=default_namespace)
    return body + b"\n"
