"""gunicorn refusing an invalid configuration: the problems once on stderr, no traceback, and
an exit status that stops the server (not a worker replaced again and again), whether the app
is built in the master (``preload_app``) or in each worker."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PROBLEM = "field 'options.count': Not a valid integer."


@pytest.mark.parametrize("preload", ["true", "false"])
def test_gunicorn_refuses_an_invalid_layout_with_one_clean_message(
    preload: str, tmp_path: Path
) -> None:
    layouts = tmp_path / "layouts"
    layouts.mkdir()
    article = (REPO / "config" / "layouts" / "article.toml").read_text()
    (layouts / "article.toml").write_text(article.replace("count = 4", 'count = "four"'))
    environment = {
        **{name: value for name, value in os.environ.items()
           if not name.startswith(("LAYOUTSERVER_", "GUNICORN_", "PROMETHEUS_"))},
        "LAYOUTSERVER_LAYOUTS_DIR": str(layouts),
        "LAYOUTSERVER_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "GUNICORN_PRELOAD": preload, "GUNICORN_WORKERS": "3", "GUNICORN_BIND": "127.0.0.1:0",
    }
    gunicorn = Path(sys.executable).with_name("gunicorn")
    result = subprocess.run(
        [str(gunicorn), "-c", "config/gunicorn.conf.py", "wsgi:app"], cwd=REPO,
        env=environment, capture_output=True, text=True, timeout=60, check=False)
    output = result.stdout + result.stderr
    assert result.returncode == 4, output  # gunicorn's "app failed to load"
    assert output.count(PROBLEM) == 1, output
    assert "layoutserver: not serving: 1 layout problem(s):" in result.stderr
    assert "Traceback" not in output
    assert "Booting worker" not in output  # refused before any worker started
