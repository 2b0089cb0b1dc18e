"""The production app plus the test widgets, for gunicorn (``--pythonpath tests``): the way
``wsgi.py`` builds it, settings from the environment."""

from testwidgets import TEST_WIDGETS

from layoutserver import create_app

app = create_app(extra_widgets=TEST_WIDGETS)
