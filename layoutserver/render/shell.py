"""Bodies with per-request placements (ad spots) in them.

A cached body keeps a mark where each per-request placement goes (``LIVE_MARK``). It is split at
its marks once, when it is stored (:class:`Shell`); a request then joins the pieces with the
placements' fresh output, one copy of the body instead of a search-and-replace per placement.
Its strong ETag hashes the shell's digest and the fresh output (each with its length), not the
whole body again: two bodies get one ETag only if they are the same bytes. Every strong ETag
of layoutserver is SHA-256, truncated to 128 bits (:func:`strong_etag`).

For an edge that does ESI the roles turn around (:meth:`Shell.frame`): the reader's *frame*
holds the placements' fresh output and an ``<esi:include>`` of each shared piece between them,
which the edge keeps (its *parts*, ``/parts/...``). A part's URL names the shell's
:attr:`Shell.structure`, so parts of one frame always fit together: two workers may hold
different copies of a page (a list refreshed at another moment) but cut at the same places.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import quote

from markupsafe import escape

from layoutserver.render.renderer import RenderedPlacement

LIVE_MARK = "<!--ls-live:{}-->"
#: A shared piece of a frame no longer than this is written into the frame itself rather than
#: included: an include costs the edge a lookup, a few bytes of markup cost nothing.
INLINE_PART_BYTES = 512


@dataclass(frozen=True)
class IncludeMarkup:
    """How an edge's dialect writes an include, and what the origin must keep out of the bytes
    it parses (``ESI`` for Varnish, ``SSI`` for nginx)."""

    name: str
    include: Callable[[str], bytes]
    """The include of a URL of this server (a path and query)."""
    guard: Callable[[bytes], bytes]
    """Rewrites any command of the dialect that is not the origin's own in bytes the edge
    parses, so none written by a widget or an author runs at the edge."""

    def envelope(self, shared: bytes, frame_url: str) -> bytes:
        """The shared form an SSI edge keeps: ``shared`` (the page with empty ad slots, shared
        pieces included) as the stub of the include of the reader's frame, which nginx
        shows when the frame fails, times out or is empty."""
        return b"".join((b'<!--# block name="ls_shared" -->', shared, b"<!--# endblock -->",
                         b'<!--# include virtual="', _ssi_url(frame_url),
                         b'" stub="ls_shared" -->'))


def _esi_include(url: str) -> bytes:
    return f'<esi:include src="{escape(url)}"/>'.encode()


def _ssi_url(url: str) -> bytes:
    """``url`` as nginx reads it in a parameter of an SSI command: nothing it would take for a
    variable (``$``), an escape (``\\``) or the value's end (``"``) is left unencoded."""
    return quote(url, safe="/?&=%:@!,;+*'()~-._").encode()


def _ssi_include(url: str) -> bytes:
    return b'<!--# include virtual="' + _ssi_url(url) + b'" -->'


def _ssi_guard(data: bytes) -> bytes:
    # "<!--#" starts a command for nginx wherever it stands; "<!--&#35;" is the same comment
    # to a browser (and the same text where an entity is decoded).
    return data.replace(b"<!--#", b"<!--&#35;") if b"<!--#" in data else data


ESI = IncludeMarkup("ESI", _esi_include, lambda data: data)
SSI = IncludeMarkup("SSI", _ssi_include, _ssi_guard)


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

    def structure(self, layout_digest: str, representation: str) -> str:
        """Names where the shell is cut: the same for every copy of one representation of a
        layout, whatever the shared widgets in it say."""
        text = "\0".join((layout_digest, representation, *self.ids))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def frame(self, live: Sequence[RenderedPlacement], part_url: Callable[[int], str],
              markup: IncludeMarkup = ESI) -> bytes:
        """The reader's frame: each placement's output where its mark is, and each shared
        piece between them as an include of ``part_url(index)`` (short ones written in), in
        the edge's dialect."""
        by_id = {item.placement.id: item.html for item in live}
        parts: list[bytes] = []
        for index, segment in enumerate(self.segments):
            if index:
                pid = self.ids[index - 1]
                html = by_id.get(pid)
                parts.append(markup.guard(LIVE_MARK.format(pid).encode() if html is None
                                          else html.encode()))
            if len(segment) <= INLINE_PART_BYTES:
                parts.append(markup.guard(segment))
            else:
                parts.append(markup.include(part_url(index)))
        return b"".join(parts)
