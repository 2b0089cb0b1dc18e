"""InListSelect gives the rows SQLAlchemy's own expanding IN gives, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import bindparam, insert, select

from layoutserver.ads import delivery
from layoutserver.ads.models import UserCount
from layoutserver.db import Database
from layoutserver.prepared_select import InListSelect

#: Site-local boundaries east of UTC: the bind processor must turn them into UTC.
SITE = timezone(timedelta(hours=2))
WEEK = datetime(2030, 1, 7, 0, tzinfo=SITE)
DAY = datetime(2030, 1, 9, 0, tzinfo=SITE)
HOUR = datetime(2030, 1, 9, 14, tzinfo=SITE)
#: What SQLAlchemy runs for the same question: the reference.
EXPANDING = (
    select(UserCount.line_item_id,
           *(delivery._since(UserCount.impressions, UserCount.hour, since)
             for since in (None, delivery._WEEK, delivery._DAY, delivery._HOUR)))
    .where(UserCount.user_key == bindparam("user_key"),
           UserCount.line_item_id.in_(bindparam("ids", expanding=True)))
    .group_by(UserCount.line_item_id)
)


def seed(database: Database) -> None:
    rows: list[dict[str, Any]] = []
    for line_item_id in (1, 2, 3, 4):
        for hours_back in (0, 1, 13, 30, 24 * 5, 24 * 40):
            at = datetime(2030, 1, 9, 12, tzinfo=UTC) - timedelta(hours=hours_back)
            rows.append({"user_key": "reader-a", "line_item_id": line_item_id, "hour": at,
                         "impressions": line_item_id + hours_back})
    rows.append({"user_key": "reader-b", "line_item_id": 1, "hour": HOUR,
                 "impressions": 1000})
    with database.engine.begin() as connection:
        connection.execute(insert(UserCount), rows)


def test_rows_match_the_expanding_select_for_every_list_length(database: Database) -> None:
    seed(database)
    values = {"user_key": "reader-a", "week": WEEK, "day": DAY, "hour": HOUR}
    users = delivery.USERS
    for ids in ([2], [1, 3], [4, 2, 1], [1, 2, 3, 4, 99], [3]):
        with database.reading() as connection:
            expected = sorted(tuple(row) for row in connection.execute(
                EXPANDING, {**values, "ids": ids}))
        got = sorted(tuple(row) for row in database.read_rows(users.prepared(len(ids)),
                                                              users.values(ids, values)))
        assert got == expected
        assert [row[0] for row in got] == sorted(i for i in ids if i != 99)
    # the boundaries were applied, not ignored: the hour column sums only the last hour
    (row,) = database.read_rows(users.prepared(1), users.values([1], values))
    assert row[1] > row[2] > row[3] > row[4] > 0


def test_one_statement_per_list_length() -> None:
    built: list[int] = []

    def build(count: int) -> Any:
        built.append(count)
        return select(UserCount.line_item_id).where(UserCount.line_item_id.in_(
            [bindparam(name) for name in InListSelect.id_names(count)]))

    query = InListSelect(build)
    database = Database("sqlite://")
    try:
        UserCount.__table__.create(database.engine)  # type: ignore[attr-defined]
        for ids in ([1], [2], [1, 2], [3]):
            assert database.read_rows(query.prepared(len(ids)), query.values(ids, {})) == []
    finally:
        database.dispose()
    assert built == [1, 2]
