"""Layouts: which widgets sit in which region of a page type, read from ``config/layouts/``."""

from layoutserver.layouts.loader import LayoutError, load_layouts
from layoutserver.layouts.model import Layout, LayoutSet, Placement, Region, Variant
from layoutserver.layouts.problems import LayoutProblem

__all__ = [
    "Layout",
    "LayoutError",
    "LayoutProblem",
    "LayoutSet",
    "Placement",
    "Region",
    "Variant",
    "load_layouts",
]
