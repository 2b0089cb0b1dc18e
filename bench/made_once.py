"""Generated inputs the benchmarks keep in ``.cache`` between runs (an archive, an ad network)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path


def made_once(path: Path, make: Callable[[Path], None]) -> Path:
    """``path``, made by ``make(path)`` the first time and kept: a ``.done`` file beside it
    says it was finished (a run stopped half-way starts it again)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    done = path.with_suffix(".done")
    if done.exists() and path.exists():
        return path
    path.unlink(missing_ok=True)
    make(path)
    done.write_text(datetime.now(UTC).isoformat())
    return path
