"""Importing the widget contract, the decision engine (or the forecast core that runs it) or the
page pipeline loads neither the web framework nor the database layer: a widget author's tools,
and the engine's and the pipeline's tests, do without the server (the web layer adapts HTTP to
the pipeline). Each import runs in a fresh interpreter, since this one has loaded everything
already."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

#: The server's stack: what a light import must leave out.
SERVER_MODULES = ("flask", "flask_caching", "flask_smorest", "sqlalchemy", "werkzeug")

PROBE = """\
import importlib, json, sys
importlib.import_module(sys.argv[1])
print(json.dumps({"count": len(sys.modules), "loaded": sorted(sys.modules)}))
"""


def loaded_by(module: str, cwd: Path) -> tuple[int, set[str]]:
    """How many modules ``import module`` leaves in a fresh interpreter, and their top-level
    names."""
    done = subprocess.run([sys.executable, "-c", PROBE, module], cwd=cwd, capture_output=True,
                          text=True, timeout=60, check=True)
    result = json.loads(done.stdout)
    return result["count"], {name.split(".")[0] for name in result["loaded"]}


@pytest.mark.parametrize("module", ["layoutserver", "layoutserver.widgets",
                                    "layoutserver.ads.decisions", "layoutserver.render.page",
                                    "layoutserver.ads.forecast.forecaster"])
def test_the_contract_and_the_engine_import_without_the_server(
    module: str, tmp_path: Path
) -> None:
    count, loaded = loaded_by(module, tmp_path)
    server = sorted(loaded.intersection(SERVER_MODULES))
    assert server == [], f"import {module} loads {server} ({count} modules in sys.modules)"
