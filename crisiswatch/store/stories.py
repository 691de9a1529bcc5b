"""Story grouping and surges: when items are one story, and when a story or a keyword is breaking.

:class:`StoryPolicy` is given its thresholds (built from ``[settings]`` by
:meth:`StoryPolicy.from_settings`) rather than reaching into the config, and
works on the connection of the transaction that stores the item, so an item,
the alert it joins and the surge it triggers commit together or not at all.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..identity import canonical_link, title_key
from ..models import Assessment, ParsedItem, iso, raise_severity, severity_rank
from ..units import format_duration
from . import lists

if TYPE_CHECKING:
    from ..config import Settings

EventWriter = Callable[..., int]
"""The store's ``_event``: writes one event row inside the current transaction."""


@dataclass(frozen=True, slots=True)
class StoryPolicy:
    """When two items are one story, and when a story or a keyword surges."""

    group_window: float
    """Seconds a story key stays open for other outlets' items to join its alert."""
    surge_window: float
    """A story carried by ``surge_feeds`` distinct feeds within this many seconds is a surge."""
    surge_feeds: int
    surge_factor: float
    """A keyword surges when this hour's mentions reach this multiple of its 24 h hourly baseline…"""
    surge_min_mentions: int
    """…and at least this many."""

    @classmethod
    def from_settings(cls, settings: Settings) -> StoryPolicy:
        return cls(group_window=settings.group_window, surge_window=settings.surge_window,
                   surge_feeds=settings.surge_feeds, surge_factor=settings.surge_factor,
                   surge_min_mentions=settings.surge_min_mentions)

    @staticmethod
    def keys(item: ParsedItem) -> list[str]:
        """The story keys of an item: its canonical link, and its title key when long enough to be telling."""
        keys = []
        if item.link:
            keys.append("link:" + canonical_link(item.link))
        tkey = title_key(item.title)
        if len(tkey) >= 12:
            keys.append("title:" + tkey)
        return keys

    def find(self, conn: sqlite3.Connection, keys: Sequence[str], now: datetime) -> sqlite3.Row | None:
        """The oldest alert one of ``keys`` was seen on within the group window, if any."""
        if not keys:
            return None
        horizon = iso(now - timedelta(seconds=self.group_window))
        marks = ", ".join("?" * len(keys))
        return conn.execute(
            f"SELECT a.* FROM stories s JOIN alerts a ON a.id = s.alert_id "  # noqa: S608 - placeholders only
            f"WHERE s.key IN ({marks}) AND s.seen >= ? ORDER BY a.id LIMIT 1", (*keys, horizon)).fetchone()

    def remember(self, conn: sqlite3.Connection, keys: Sequence[str], alert_id: int, stamp: str) -> None:
        """Point ``keys`` at ``alert_id`` as of ``stamp`` (a later item with one of them joins this alert)."""
        for key in keys:
            conn.execute("INSERT INTO stories (key, alert_id, seen) VALUES (?, ?, ?) "
                         "ON CONFLICT (key) DO UPDATE SET alert_id = excluded.alert_id, seen = excluded.seen",
                         (key, alert_id, stamp))

    def group_into(self, conn: sqlite3.Connection, event: EventWriter, alert: sqlite3.Row, feed_id: int,
                   feed_name: str, item: ParsedItem, assessment: Assessment, now: datetime) -> None:
        """Another item of an alerted story: merge its keywords and feed in; a surge when enough outlets carry it."""
        stamp = iso(now)
        keywords = sorted(set(lists.split(alert["keywords"])) | set(assessment.keywords))
        rules = sorted(set(lists.split(alert["rules"])) | set(assessment.rules))
        severity = max(alert["severity"], assessment.severity or "low", key=severity_rank)
        new_feed = conn.execute("INSERT OR IGNORE INTO alert_feeds (alert_id, feed_id, seen) VALUES (?, ?, ?)",
                                (alert["id"], feed_id, stamp)).rowcount == 1
        feeds = alert["feeds"]
        count = alert["feed_count"]
        if new_feed:
            feeds = lists.join([*lists.split(feeds), feed_name])
            count += 1
            event("alert_grouped", now=now, feed_id=feed_id, feed=feed_name, alert_id=alert["id"],
                  title=item.title, link=item.link, keywords=lists.join(keywords),
                  detail=f"also carried by {feed_name} ({count} outlets)")
        surge = alert["surge"]
        if new_feed and not surge:
            since = iso(now - timedelta(seconds=self.surge_window))
            recent = conn.execute("SELECT count(*) FROM alert_feeds WHERE alert_id = ? AND seen >= ?",
                                  (alert["id"], since)).fetchone()[0]
            if recent >= self.surge_feeds:
                surge = 1
                severity = raise_severity(severity)
                window = format_duration(self.surge_window)
                event("surge", now=now, feed_id=feed_id, feed=feed_name, alert_id=alert["id"],
                      title=alert["title"], link=alert["link"], keywords=lists.join(keywords),
                      detail=f"story carried by {recent} outlets within {window}: {feeds}; "
                      f"severity raised to {severity}")
        conn.execute(
            "UPDATE alerts SET keywords = ?, rules = ?, severity = ?, rank = ?, feeds = ?, feed_count = ?, "
            "surge = ? WHERE id = ?",
            (lists.join(keywords), lists.join(rules), severity, severity_rank(severity), feeds, count, surge,
             alert["id"]),
        )

    def count_mentions(self, conn: sqlite3.Connection, event: EventWriter, alert_id: int,
                       keywords: Sequence[str], now: datetime) -> None:
        """Keyword surges: this hour's mentions far above the keyword's own 24 h baseline."""
        hour = now.strftime("%Y-%m-%dT%H")
        start = (now - timedelta(hours=24)).strftime("%Y-%m-%dT%H")
        for keyword in keywords:
            conn.execute(
                "INSERT INTO keyword_hours (keyword, hour, mentions) VALUES (?, ?, 1) "
                "ON CONFLICT (keyword, hour) DO UPDATE SET mentions = mentions + 1", (keyword, hour))
            row = conn.execute("SELECT mentions, surged FROM keyword_hours WHERE keyword = ? AND hour = ?",
                               (keyword, hour)).fetchone()
            if row["surged"] or row["mentions"] < self.surge_min_mentions:
                continue
            total = conn.execute(
                "SELECT coalesce(sum(mentions), 0) FROM keyword_hours WHERE keyword = ? AND hour >= ? AND hour < ?",
                (keyword, start, hour)).fetchone()[0]
            baseline = total / 24
            if row["mentions"] < self.surge_factor * max(baseline, 1.0):
                continue
            conn.execute("UPDATE keyword_hours SET surged = 1 WHERE keyword = ? AND hour = ?", (keyword, hour))
            alert: Any = conn.execute("SELECT * FROM alerts WHERE id = ?", (alert_id,)).fetchone()
            severity = raise_severity(alert["severity"])
            conn.execute("UPDATE alerts SET severity = ?, rank = ?, surge = 1 WHERE id = ?",
                         (severity, severity_rank(severity), alert_id))
            event("surge", now=now, alert_id=alert_id, title=alert["title"], link=alert["link"],
                  keywords=keyword,
                  detail=f"keyword {keyword}: {row['mentions']} mentions this hour vs a baseline of "
                  f"{baseline:.1f}/h; severity raised to {severity}")


__all__ = ["StoryPolicy"]
