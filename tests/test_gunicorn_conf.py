"""config/gunicorn.conf.py's worker hook: the start-up heap frozen out of the collector, or not."""

from __future__ import annotations

import gc
import importlib.util
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

CONF = Path(__file__).resolve().parent.parent / "config" / "gunicorn.conf.py"


def load_conf(monkeypatch: pytest.MonkeyPatch, **env: str) -> ModuleType:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    spec = importlib.util.spec_from_file_location("gunicorn_conf_under_test", CONF)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_a_worker_freezes_what_it_starts_with(monkeypatch: pytest.MonkeyPatch,
                                              tmp_path: Path) -> None:
    conf = load_conf(monkeypatch, PROMETHEUS_MULTIPROC_DIR=str(tmp_path))
    tracked = len(gc.get_objects())
    conf.post_worker_init(worker=None)
    # what the collector walks (generations 0 to 2) is now only what was made since
    assert gc.get_freeze_count() >= tracked - 100
    assert len(gc.get_objects()) < tracked // 10
    gc.collect()
    assert gc.get_freeze_count() >= tracked - 100  # a collection leaves the frozen heap alone


def test_gc_freeze_false_leaves_the_collector_alone(monkeypatch: pytest.MonkeyPatch,
                                                    tmp_path: Path) -> None:
    conf = load_conf(monkeypatch, GUNICORN_GC_FREEZE="false",
                     PROMETHEUS_MULTIPROC_DIR=str(tmp_path))
    conf.post_worker_init(worker=None)
    assert gc.get_freeze_count() == 0
