"""Compressed responses (flask-compress: brotli or gzip, as the client accepts) when no edge
compresses them (setting ``COMPRESS_RESPONSES``).

Left uncompressed: answers to an edge that does ESI (``Surrogate-Capability``: it parses what
it keeps and assembles, and compresses for the reader itself), bodies under
``COMPRESS_MIN_SIZE`` (500 bytes), errors and redirects, and what is not text, JSON, XML or
JavaScript. A compressed answer's strong ETag gets the encoding appended (``"...:br"``), so a
cache never mixes encodings; conditional requests are answered after compression.
"""

from __future__ import annotations

from flask import Flask, request
from flask.wrappers import Response
from flask_compress import Compress

#: Brotli first when the client takes both. zstd and deflate are left out: browsers' support of
#: the first is recent, the second is gzip's weaker twin.
ALGORITHMS = ["br", "gzip"]
#: The fastest levels: most pages hold ads, so most bodies are compressed once per request.
#: Measured on the seed page (19.2 KB): brotli 1 gives 6.1 KB in ~64 us, gzip 1 6.0 KB in
#: ~100 us; gzip 6 (5.4 KB) costs 3x and brotli 4 (5.3 KB) 7x that (docs/performance.md).
LEVELS = {"COMPRESS_BR_LEVEL": 1, "COMPRESS_LEVEL": 1}


class Compression(Compress):
    def after_request(self, response: Response | None) -> Response:
        if response is not None and request.headers.get("Surrogate-Capability"):
            return response
        return super().after_request(response)


def init_app(app: Flask) -> None:
    if not app.config["COMPRESS_RESPONSES"]:
        return
    app.config.setdefault("COMPRESS_ALGORITHM", ALGORITHMS)
    for name, level in LEVELS.items():
        app.config.setdefault(name, level)
    Compression(app)
