"""The decision engine stays pure Python: no web framework, no database, nothing of the rest
of layoutserver. (``tests/test_light_imports.py`` imports it in a fresh interpreter.)"""

from __future__ import annotations

from pathlib import Path

from support import imported_names

import layoutserver.ads.decisions as decisions

PACKAGE = Path(decisions.__file__).parent
FORBIDDEN = ("flask", "flask_caching", "sqlalchemy", "werkzeug", "layoutserver")


def test_decision_modules_import_only_the_standard_library_and_each_other() -> None:
    modules = sorted(PACKAGE.glob("*.py"))
    assert len(modules) >= 8
    for path in modules:
        for module in imported_names(path):
            assert module.split(".")[0] not in FORBIDDEN, f"{path.name} imports {module}"
