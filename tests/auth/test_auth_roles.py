"""The role matrix, cell by cell."""

from __future__ import annotations

from typing import get_args

import pytest

from layoutserver.auth.roles import AREAS, PERMISSIONS, ROLES, Area, allowed, check_role

# (area, role) -> (may read, may write): the table in layoutserver/auth/roles.py, spelled out.
MATRIX = {
    ("content", "admin"): (True, True),
    ("content", "adops"): (True, False),
    ("content", "publisher"): (True, True),
    ("content", "viewer"): (True, False),
    ("ads", "admin"): (True, True),
    ("ads", "adops"): (True, True),
    ("ads", "publisher"): (True, False),
    ("ads", "viewer"): (True, False),
    ("explain", "admin"): (True, False),
    ("explain", "adops"): (True, False),
    ("explain", "publisher"): (False, False),
    ("explain", "viewer"): (False, False),
    ("reports", "admin"): (True, False),
    ("reports", "adops"): (True, False),
    ("reports", "publisher"): (False, False),
    ("reports", "viewer"): (True, False),
    ("layouts", "admin"): (True, True),
    ("layouts", "adops"): (True, True),
    ("layouts", "publisher"): (True, True),
    ("layouts", "viewer"): (True, False),
    ("widgets", "admin"): (True, False),
    ("widgets", "adops"): (True, False),
    ("widgets", "publisher"): (True, False),
    ("widgets", "viewer"): (True, False),
    ("tokens", "admin"): (True, True),
    ("tokens", "adops"): (False, False),
    ("tokens", "publisher"): (False, False),
    ("tokens", "viewer"): (False, False),
    ("audit", "admin"): (True, False),
    ("audit", "adops"): (False, False),
    ("audit", "publisher"): (False, False),
    ("audit", "viewer"): (False, False),
}


def test_the_matrix_covers_every_role_and_area() -> None:
    assert set(ROLES) == {"admin", "adops", "publisher", "viewer"}
    assert set(AREAS) == set(get_args(Area)) == set(PERMISSIONS)
    assert set(MATRIX) == {(area, role) for area in AREAS for role in ROLES}


@pytest.mark.parametrize(("area", "role"), sorted(MATRIX))
def test_each_role_in_each_area(area: Area, role: str) -> None:
    read, write = MATRIX[area, role]
    assert allowed(role, area, write=False) is read
    assert allowed(role, area, write=True) is write


def test_writing_implies_reading() -> None:
    for area in AREAS:
        readers, writers = PERMISSIONS[area]
        assert writers <= readers, area


def test_an_unknown_role_may_do_nothing() -> None:
    assert not any(allowed("root", area, write) for area in AREAS for write in (False, True))


def test_an_unknown_area_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown area 'users'"):
        allowed("admin", "users", write=False)  # type: ignore[arg-type]


def test_check_role() -> None:
    assert check_role("viewer") == "viewer"
    with pytest.raises(ValueError, match="unknown role 'root'"):
        check_role("root")
