"""The situation report's reads (``crisiswatch/report``), beside the store's other queries; all read-only.

They run inside one read snapshot (``Store.snapshot``), so a report taken while a
poll writes is consistent. Each is bounded by the period through an index
(``alerts_created``, ``events_time``, ``items_published``) or touches a small
table (feeds, keyword_hours, alert_feeds' time column), and none returns more
rows than the report shows, except :func:`feed_state_events`, which is streamed.
Times are compared as the stored ISO-8601 strings (fixed width, so string
order is time order).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any

STATE_KINDS = ("fetch_error", "feed_gone", "feed_recovered", "feed_reenabled")
"""The events that change whether a feed is failing."""
STORY_EVENT_KINDS = ("alert_new", "surge", "alert_pinned", "alert_unpinned", "alert_dismissed", "alert_restored")
"""The story events the timeline lists as they were logged."""

_CREATED_RANK = ("CASE WHEN e.detail LIKE 'severity critical%' THEN 3 WHEN e.detail LIKE 'severity high%' THEN 2 "
                 "WHEN e.detail LIKE 'severity medium%' THEN 1 ELSE 0 END")
"""An alert_new event's severity when it was raised (its detail starts 'severity X')."""

_ACTIVE = """
WITH act AS (
    SELECT alert_id, max(t) AS last FROM (
        SELECT id AS alert_id, created AS t FROM alerts WHERE created >= :since AND created < :until
        UNION ALL
        SELECT alert_id, seen FROM alert_feeds WHERE seen >= :since AND seen < :until
        UNION ALL
        SELECT alert_id, time FROM events
         WHERE kind IN ('surge', 'alert_pinned') AND time >= :since AND time < :until AND alert_id IS NOT NULL
    ) GROUP BY alert_id
)
"""
"""Stories active in the period: raised, carried by another outlet, surging or pinned in it."""



def _rows(conn: sqlite3.Connection, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[dict[str, Any]]:
    return [dict(row) for row in _cursor(conn).execute(sql, params)]


def _cursor(conn: sqlite3.Connection) -> sqlite3.Cursor:
    cursor = conn.cursor()
    cursor.row_factory = sqlite3.Row
    return cursor


def feeds(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """Every feed (a few hundred at most): name, whether it is configured, its last fetch."""
    return _rows(conn, "SELECT id, name, in_config, last_fetch, last_ok, gone, failures, last_error "
                       "FROM feeds ORDER BY name COLLATE NOCASE, id")


def count_events(conn: sqlite3.Connection, kind: str, since: str, until: str) -> int:
    return int(conn.execute("SELECT count(*) FROM events WHERE kind = ? AND time >= ? AND time < ?",
                            (kind, since, until)).fetchone()[0])


def count_surged_stories(conn: sqlite3.Connection, since: str, until: str) -> int:
    return int(conn.execute("SELECT count(DISTINCT alert_id) FROM events WHERE kind = 'surge' AND time >= ? "
                            "AND time < ?", (since, until)).fetchone()[0])


def count_items(conn: sqlite3.Connection, since: str, until: str) -> int:
    """Items published in the period (through the ``items_published`` index)."""
    return int(conn.execute("SELECT count(*) FROM items WHERE published >= ? AND published < ?",
                            (since, until)).fetchone()[0])


def alerts_per_hour(conn: sqlite3.Connection, since: str, until: str) -> list[tuple[str, str, int]]:
    """(UTC hour ``YYYY-MM-DDTHH``, severity, alerts raised) for alerts raised in the period."""
    return [(r[0], r[1], r[2]) for r in conn.execute(
        "SELECT substr(created, 1, 13) AS hour, severity, count(*) FROM alerts "
        "WHERE created >= ? AND created < ? GROUP BY hour, severity", (since, until))]


def outlets_in_period(conn: sqlite3.Connection, since: str, until: str) -> int:
    """How many distinct outlets carried an alerted story in the period."""
    return int(conn.execute("SELECT count(DISTINCT feed_id) FROM alert_feeds WHERE seen >= ? AND seen < ?",
                            (since, until)).fetchone()[0])


def active_stories(conn: sqlite3.Connection, since: str, until: str) -> Iterator[tuple[int, str, int, int, str]]:
    """(alert id, state, severity rank, outlets, latest activity) of every story active in the period, streamed.

    One pass serves the pinned and the top stories and both their counts: the
    ranking is done by the caller over this stream, keeping only the rows it shows.
    """
    cursor = conn.cursor()
    cursor.row_factory = None
    cursor.execute(f"{_ACTIVE} SELECT a.id, a.state, a.rank, a.feed_count, act.last "  # noqa: S608 - constants
                   "FROM act JOIN alerts a ON a.id = act.alert_id", {"since": since, "until": until})
    while batch := cursor.fetchmany(1000):
        yield from batch


def alerts_by_id(conn: sqlite3.Connection, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """The shown stories' alert rows, by id."""
    out: dict[int, dict[str, Any]] = {}
    for chunk in _chunks(ids):
        marks = ", ".join("?" * len(chunk))
        for row in _rows(conn, "SELECT id, title, link, severity, rank, state, created, published, keywords, rules, "  # noqa: S608 - placeholders
                               f"feed_count, surge FROM alerts WHERE id IN ({marks})", chunk):
            out[row["id"]] = row
    return out


def _chunks(ids: Sequence[int], size: int = 500) -> Iterator[Sequence[int]]:
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


def story_items(conn: sqlite3.Connection, alert_ids: Sequence[int], until: str) -> list[dict[str, Any]]:
    """Every item of these stories fetched before ``until``, earliest first: outlet, its own title and link."""
    out: list[dict[str, Any]] = []
    for chunk in _chunks(alert_ids):
        marks = ", ".join("?" * len(chunk))
        out += _rows(conn, "SELECT i.alert_id, f.name AS feed, i.title, i.link, i.fetched, i.published "  # noqa: S608 - placeholders
                           f"FROM items i JOIN feeds f ON f.id = i.feed_id WHERE i.alert_id IN ({marks}) "
                           "AND i.fetched < ? ORDER BY i.alert_id, i.fetched, i.id", (*chunk, until))
    return out


def surge_reasons(conn: sqlite3.Connection, alert_ids: Sequence[int], until: str) -> list[dict[str, Any]]:
    """The ``surge`` events of these stories up to ``until``, oldest first."""
    out: list[dict[str, Any]] = []
    for chunk in _chunks(alert_ids):
        marks = ", ".join("?" * len(chunk))
        out += _rows(conn, "SELECT alert_id, time, detail FROM events WHERE kind = 'surge' "  # noqa: S608 - placeholders
                           f"AND alert_id IN ({marks}) AND time < ? ORDER BY id", (*chunk, until))
    return out


def new_alert_counts(conn: sqlite3.Connection, since: str, until: str) -> dict[int, int]:
    """alert_new events in the period per severity rank at the time they were raised."""
    return {r[0]: r[1] for r in conn.execute(
        f"SELECT {_CREATED_RANK} AS r, count(*) FROM events e WHERE e.kind = 'alert_new' "  # noqa: S608 - constant
        "AND e.time >= ? AND e.time < ? GROUP BY r", (since, until))}


def count_other_story_events(conn: sqlite3.Connection, since: str, until: str) -> int:
    """The period's story events other than alert_new (surges, pins, dismissals…)."""
    kinds = ", ".join(f"'{k}'" for k in STORY_EVENT_KINDS if k != "alert_new")
    return int(conn.execute(f"SELECT count(*) FROM events WHERE kind IN ({kinds}) AND time >= ? AND time < ?",  # noqa: S608 - constants
                            (since, until)).fetchone()[0])


def story_events(conn: sqlite3.Connection, since: str, until: str, *, min_new_rank: int,
                 limit: int) -> list[dict[str, Any]]:
    """The period's story events in log order; alert_new only from ``min_new_rank`` up."""
    kinds = ", ".join(f"'{k}'" for k in STORY_EVENT_KINDS if k != "alert_new")
    return _rows(conn, f"SELECT e.id, e.time, e.kind, e.feed, e.alert_id, e.title, e.link, e.keywords, e.detail "  # noqa: S608 - constants
                       "FROM events e WHERE e.time >= ? AND e.time < ? "
                       f"AND (e.kind IN ({kinds}) OR (e.kind = 'alert_new' AND {_CREATED_RANK} >= ?)) "
                       "ORDER BY e.time, e.id LIMIT ?", (since, until, min_new_rank, limit))


def feed_state_events(conn: sqlite3.Connection, until: str) -> Iterator[tuple[int, str, int, str, str]]:
    """(event id, time, feed id, kind, detail) of every feed-state event before ``until``, in log order.

    Streamed: whether a feed is failing at the end of the period, and since when,
    depends on its events before the period too.
    """
    kinds = ", ".join(f"'{k}'" for k in STATE_KINDS)
    cursor = conn.cursor()
    cursor.row_factory = None
    cursor.execute(f"SELECT id, time, feed_id, kind, detail FROM events WHERE kind IN ({kinds}) "  # noqa: S608 - constants
                   "AND time < ? AND feed_id IS NOT NULL ORDER BY id", (until,))
    while batch := cursor.fetchmany(1000):
        yield from batch


def keyword_hours(conn: sqlite3.Connection, first_hour: str, until_hour: str) -> list[tuple[str, str, int, int]]:
    """(keyword, UTC hour, mentions, surged) for the hours from ``first_hour`` up to, not including, ``until_hour``."""
    return [(r[0], r[1], r[2], r[3]) for r in conn.execute(
        "SELECT keyword, hour, mentions, surged FROM keyword_hours WHERE hour >= ? AND hour < ? "
        "ORDER BY keyword, hour", (first_hour, until_hour))]


__all__ = ["STATE_KINDS", "STORY_EVENT_KINDS"]
