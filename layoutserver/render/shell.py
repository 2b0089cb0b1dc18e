"""Bodies with per-request placements (ad spots) in them.

A cached body keeps a mark where each per-request placement goes (``LIVE_MARK``). It is split at
its marks once, when it is stored (:class:`Shell`); a request then joins the pieces with the
placements' fresh output, one copy of the body instead of a search-and-replace per placement.
Its strong ETag hashes the shell's digest and the fresh output (each with its length), not the
whole body again: two bodies get one ETag only if they are the same bytes. Every strong ETag
of layoutserver is SHA-256, truncated to 128 bits (:func:`strong_etag`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from layoutserver.render.renderer import RenderedPlacement

LIVE_MARK = "<!--ls-live:{}-->"


def strong_etag(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()[:32]


@dataclass(frozen=True)
class Shell:
    segments: tuple[bytes, ...]
    """The body between the marks: one more than there are marks."""
    ids: tuple[str, ...]
    """The placement id of each mark, in body order."""
    digest: bytes
    """Of the whole shell, marks included."""

    @classmethod
    def of(cls, shell: bytes, ids: Iterable[str]) -> Shell:
        found = sorted((shell.find(mark), pid, mark)
                       for pid, mark in ((pid, LIVE_MARK.format(pid).encode()) for pid in ids))
        segments: list[bytes] = []
        order: list[str] = []
        start = 0
        for position, pid, mark in found:
            if position < 0:
                continue
            segments.append(shell[start:position])
            order.append(pid)
            start = position + len(mark)
        segments.append(shell[start:])
        return cls(tuple(segments), tuple(order), hashlib.sha256(shell).digest())

    def fill(self, mimetype: str, live: Sequence[RenderedPlacement]) -> tuple[bytes, str]:
        """The body with each placement's output where its mark is (JSON-escaped in a JSON
        body), and its strong ETag. A mark with no output given stays as it is."""
        by_id = {item.placement.id: item.html for item in live}
        as_json = mimetype == "application/json"
        parts = [self.segments[0]]
        etag = hashlib.sha256(self.digest)
        for pid, segment in zip(self.ids, self.segments[1:], strict=True):
            html = by_id.get(pid)
            if html is None:
                text = LIVE_MARK.format(pid).encode()
            else:
                text = (json.dumps(html)[1:-1] if as_json else html).encode()
            etag.update(len(text).to_bytes(8, "big"))
            etag.update(text)
            parts.append(text)
            parts.append(segment)
        return b"".join(parts), etag.hexdigest()[:32]
