"""Starting to serve under gunicorn: the app, or, when the configuration is invalid (a layout,
a setting), its problems once on stderr and no traceback.

With ``preload_app`` (the default) the master builds the app before it binds the port:
:func:`serving_app` refuses there, once. Without it each worker builds its own, so the master
first checks what would refuse (:func:`check_configuration`, from ``on_starting`` in
``config/gunicorn.conf.py``) rather than let every worker print the same problems; a worker
that still refuses exits with gunicorn's "app failed to load" status, which stops the server
instead of having the worker replaced, again and again.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    from flask import Flask

APP_LOAD_ERROR = 4
"""gunicorn's exit status for an app that cannot load (``Arbiter.APP_LOAD_ERROR``)."""


def serving_app() -> Flask:
    """``create_app()``, or exit with the configuration's problems."""
    from layoutserver import create_app
    from layoutserver.layouts import LayoutError
    from layoutserver.settings import SettingsError

    try:
        return create_app()
    except (LayoutError, SettingsError) as error:
        refuse(error)


def check_configuration() -> None:
    """Read the settings and validate the layouts against the installed widgets, as
    ``create_app`` does, without building an app; exit with the problems."""
    from flask import Config

    from layoutserver.layouts import LayoutError, load_layouts
    from layoutserver.registry import WidgetRegistry
    from layoutserver.settings import SettingsError, load_settings

    try:
        config = Config(str(Path.cwd()))
        load_settings(config)
        registry = WidgetRegistry.discover(disabled=config["WIDGETS_DISABLED"])
        load_layouts(Path(config["LAYOUTS_DIR"]), registry)
    except (LayoutError, SettingsError) as error:
        refuse(error)


def refuse(error: Exception) -> NoReturn:
    print(f"layoutserver: not serving: {error}", file=sys.stderr, flush=True)
    sys.exit(APP_LOAD_ERROR)
