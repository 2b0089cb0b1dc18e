"""Rendering: placements (cached, budgeted, isolated) assembled into pages and fragments."""
