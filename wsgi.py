"""The WSGI entry point: ``gunicorn -c config/gunicorn.conf.py wsgi:app``. An invalid layout
or setting stops the server with its problems, printed once (``layoutserver.startup``)."""

from layoutserver.startup import serving_app

app = serving_app()
