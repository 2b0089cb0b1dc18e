"""The forecast core is pure Python like the engine it runs: the standard library, the engine
and itself; no web framework, no database. (``tests/test_light_imports.py`` imports it in a
fresh interpreter.)"""

from __future__ import annotations

from pathlib import Path

from support import imported_names

import layoutserver.ads.forecast as forecast

PACKAGE = Path(forecast.__file__).parent
FORBIDDEN = ("flask", "flask_caching", "flask_smorest", "sqlalchemy", "werkzeug", "marshmallow")


def test_forecast_modules_import_only_the_engine_and_the_standard_library() -> None:
    modules = sorted(PACKAGE.glob("*.py"))
    assert len(modules) >= 7
    for path in modules:
        for module in imported_names(path):
            top = module.split(".")[0]
            assert top not in FORBIDDEN, f"{path.name} imports {module}"
            if top == "layoutserver":
                assert module.startswith("layoutserver.ads.decisions"), \
                    f"{path.name} imports {module}"
