"""Layouts: which widgets sit in which region of a page type, read from ``config/layouts/``."""

from layoutserver.layouts.loader import LayoutError, LayoutProblem, load_layouts
from layoutserver.layouts.model import Layout, LayoutSet, Placement, Region

__all__ = [
    "Layout",
    "LayoutError",
    "LayoutProblem",
    "LayoutSet",
    "Placement",
    "Region",
    "load_layouts",
]
