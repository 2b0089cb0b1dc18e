"""``layoutserver widgets new NAME``: the package it writes is a widget layoutserver finds
through its entry point, and the package's own tests pass as written (run in a process of
their own, as its author would run them)."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from layoutserver.cli import main
from layoutserver.new_widget import NewWidgetError, new_widget


def install_on_a_path(package: Path, site: Path) -> None:
    """What installing the package gives importlib.metadata, without building it: a
    ``dist-info`` with the entry points its ``pyproject.toml`` declares, and its ``src`` on
    the path (``site`` holds a ``.pth`` file naming it)."""
    project = tomllib.loads((package / "pyproject.toml").read_text())["project"]
    info = site / f"{project['name'].replace('-', '_')}-{project['version']}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n")
    groups = "".join(f"[{group}]\n" + "".join(f"{name} = {value}\n"
                                              for name, value in points.items())
                     for group, points in project["entry-points"].items())
    (info / "entry_points.txt").write_text(groups)
    (site / "widget.pth").write_text(str(package / "src") + "\n")


def test_the_written_package_passes_its_own_tests(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["widgets", "new", "related_articles", "-d",
                                       str(tmp_path)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    package = tmp_path / "layoutserver-related-articles"
    assert f"wrote {package}" in result.output
    pyproject = tomllib.loads((package / "pyproject.toml").read_text())
    assert pyproject["project"]["entry-points"]["layoutserver.widgets"] == {
        "related_articles": "layoutserver_related_articles:RelatedArticles"}
    site = tmp_path / "site"
    install_on_a_path(package, site)
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(site), *filter(None, [os.environ.get("PYTHONPATH")])])}
    # .pth files are read from site directories only: make ``site`` one
    command = [sys.executable, "-c",
               f"import site, sys; site.addsitedir({str(site)!r}); import pytest; "
               "sys.exit(pytest.main(['-q', '-p', 'no:cacheprovider']))"]
    run = subprocess.run(command, cwd=package, env=environment, capture_output=True,
                         text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    assert " passed" in run.stdout and "failed" not in run.stdout, run.stdout


def test_a_bad_name_or_an_existing_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(NewWidgetError, match="is not a widget name"):
        new_widget("Related-Articles", tmp_path)
    new_widget("teaser", tmp_path)
    with pytest.raises(NewWidgetError, match="exists already: nothing was written"):
        new_widget("teaser", tmp_path)
    refused = CliRunner().invoke(main, ["widgets", "new", "9lives", "-d", str(tmp_path)])
    assert refused.exit_code == 1
    assert "'9lives' is not a widget name" in refused.output
