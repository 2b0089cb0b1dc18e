"""The WSGI module `make bench` serves: the real app plus a null route on the very same app.

    gunicorn -c config/gunicorn.conf.py --pythonpath bench bench_app:app

The null route returns a constant string and does nothing else, so it measures what gunicorn,
the connection, Werkzeug and Flask's dispatch cost by themselves. Served by the same process,
with the same settings, as the pages, it is the baseline the pages' throughput is a ratio of.
"""

from __future__ import annotations

from layoutserver import create_app

NULL_PATH = "/_bench/null"
NULL_BODY = "null\n"

app = create_app()


@app.get(NULL_PATH)
def bench_null() -> str:
    return NULL_BODY
