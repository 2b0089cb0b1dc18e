"""The decision engine stays pure Python: no web framework, no database, nothing of the rest
of layoutserver (the parent package imports Flask; these modules must not need it)."""

from __future__ import annotations

import ast
from pathlib import Path

import layoutserver.ads.decisions as decisions

PACKAGE = Path(decisions.__file__).parent
FORBIDDEN = ("flask", "flask_caching", "sqlalchemy", "werkzeug", "layoutserver")


def imported_modules(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
    return found


def test_decision_modules_import_only_the_standard_library_and_each_other() -> None:
    modules = sorted(PACKAGE.glob("*.py"))
    assert len(modules) >= 8
    for path in modules:
        for module in imported_modules(path):
            assert module.split(".")[0] not in FORBIDDEN, f"{path.name} imports {module}"
