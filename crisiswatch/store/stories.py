"""Story grouping and surges: when items are one story, and when a story or a keyword is breaking.

:class:`StoryPolicy` is given its thresholds (built from ``[settings]`` by
:meth:`StoryPolicy.from_settings`) rather than reaching into the config, and
works on the connection of the transaction that stores the item, so an item,
the alert it joins and the surge it triggers commit together or not at all.

Grouping has two steps, cheapest first:

1. story keys — the canonical link and the folded title (:meth:`StoryPolicy.keys`):
   the same article from two feeds, or a Cyrillic headline and its Latin twin,
   join within ``group_window``;
2. clustering (:meth:`StoryPolicy.cluster`) for an item no key placed: the
   stories whose items name one of its names and places within
   ``Clusterer.window`` of its publication are compared with it by
   :class:`crisiswatch.cluster.Clusterer` (names, what happened, time, title
   similarity; see that module for the method), and it joins the best one that
   has no veto against any of its items. Its features and the reason are kept
   in ``story_members``, and the reason goes into the ``alert_grouped`` event.

Only the items that open a story or join one by clustering are kept as story
members, so the second step stays a few indexed reads per new story, inside the
write transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from ..cluster import Clusterer, StoryFeatures, Verdict, detect_language
from ..identity import canonical_link, title_key
from ..models import Assessment, ParsedItem, iso, raise_severity, severity_rank
from ..units import format_duration
from . import lists

if TYPE_CHECKING:
    from ..config import Keyword, Settings

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
    clusterer: Clusterer = field(default_factory=lambda: clusterer_for(()))
    """Decides cross-language "same story" for items no story key placed (see :mod:`crisiswatch.cluster`)."""
    max_candidates: int = 24
    """Stories compared with a new item at most (the most recent that share one of its names)."""
    max_members: int = 16
    """Items of one story compared at most (the most recent)."""
    clustering: bool = True
    """False: story keys only (the behaviour before clustering; ``benchmarks/cluster.py --keys-only``)."""

    @classmethod
    def from_settings(cls, settings: Settings, keywords: Sequence[Keyword] = ()) -> StoryPolicy:
        """The policy for ``[settings]``; ``keywords`` (the config's) give the clusterer the kinds of names."""
        return cls(group_window=settings.group_window, surge_window=settings.surge_window,
                   surge_feeds=settings.surge_feeds, surge_factor=settings.surge_factor,
                   surge_min_mentions=settings.surge_min_mentions, clusterer=clusterer_for(tuple(keywords)))

    # -- clustering -------------------------------------------------------------
    def features(self, item: ParsedItem, assessment: Assessment, feed_name: str,
                 folded_title: str | None = None) -> StoryFeatures:
        """What the clusterer compares: names in the title, what happened, when, the title's stems."""
        return self.clusterer.features(item.title, published=item.published, folded=folded_title, feed=feed_name,
                                       fallback_terms=assessment.keywords)

    def cluster(self, conn: sqlite3.Connection, features: StoryFeatures, now: datetime,
                ) -> tuple[sqlite3.Row | None, str]:
        """The alert of the story this item is part of by the clusterer's evidence, and why; (None, '') if none."""
        terms = sorted(features.specific())
        if not terms or not self.clustering:
            return None, ""
        window = timedelta(seconds=self.clusterer.window)
        published = datetime.fromtimestamp(features.published, tz=UTC)
        lo, hi = iso(published - window), iso(published + window)
        horizon = iso(now - timedelta(seconds=self.group_window))
        marks = ", ".join("?" * len(terms))
        candidates = [row[0] for row in conn.execute(
            f"SELECT DISTINCT m.alert_id FROM story_terms t JOIN story_members m ON m.item_id = t.item_id "  # noqa: S608
            f"WHERE t.term IN ({marks}) AND t.published BETWEEN ? AND ? AND m.seen >= ? "
            f"ORDER BY m.alert_id DESC LIMIT ?", (*terms, lo, hi, horizon, self.max_candidates))]
        best: tuple[float, int, Verdict] | None = None
        for alert_id in candidates:
            members = [_decode(row[0]) for row in conn.execute(
                "SELECT features FROM story_members WHERE alert_id = ? ORDER BY item_id DESC LIMIT ?",
                (alert_id, self.max_members))]
            verdict = self.clusterer.match_story(features, members)
            if verdict.same and (best is None or verdict.score > best[0]):
                best = (verdict.score, alert_id, verdict)
        if best is None:
            return None, ""
        return conn.execute("SELECT * FROM alerts WHERE id = ?", (best[1],)).fetchone(), best[2].why()

    def remember_member(self, conn: sqlite3.Connection, item_id: int, alert_id: int, features: StoryFeatures,
                        stamp: str, why: str = "") -> None:
        """Keep an item's features with its story, indexed by its names, for later items to be compared with."""
        published = iso(datetime.fromtimestamp(features.published, tz=UTC)) or stamp
        conn.execute("INSERT OR REPLACE INTO story_members (item_id, alert_id, published, seen, features, why) "
                     "VALUES (?, ?, ?, ?, ?, ?)", (item_id, alert_id, published, stamp, features.to_json(), why))
        conn.executemany("INSERT OR IGNORE INTO story_terms (term, published, item_id) VALUES (?, ?, ?)",
                         [(term, published, item_id) for term in sorted(features.specific())])

    @staticmethod
    def language(item: ParsedItem, folded_title: str | None = None) -> str:
        """The item's language and script (``en``, ``sr-Latn``, ``sr-Cyrl``, ``sq``; '' when unclear)."""
        return detect_language(item.title, folded_title)

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
                   feed_name: str, item: ParsedItem, assessment: Assessment, now: datetime, *,
                   language: str = "", why: str = "") -> None:
        """Another item of an alerted story: merge its keywords, feed and language in; a surge when enough
        outlets carry it. ``why`` is the clusterer's reason when it, not a story key, placed the item."""
        stamp = iso(now)
        keywords = sorted(set(lists.split(alert["keywords"])) | set(assessment.keywords))
        rules = sorted(set(lists.split(alert["rules"])) | set(assessment.rules))
        severity = max(alert["severity"], assessment.severity or "low", key=severity_rank)
        new_feed = conn.execute("INSERT OR IGNORE INTO alert_feeds (alert_id, feed_id, seen, language) "
                                "VALUES (?, ?, ?, ?)", (alert["id"], feed_id, stamp, language)).rowcount == 1
        languages = alert["languages"]
        if language and language not in lists.split(languages):
            languages = lists.join([*lists.split(languages), language])
        feeds = alert["feeds"]
        count = alert["feed_count"]
        if new_feed:
            feeds = lists.join([*lists.split(feeds), feed_name])
            count += 1
            # The event line already starts with this feed's name: say whose story it joined instead.
            first = lists.split(alert["feeds"])[:1]
            detail = f"joins the story first carried by {first[0]}" if first else "joins a story"
            detail += f" ({count} outlets"
            n_languages = len(lists.split(languages))
            detail += f", {n_languages} language{'s' if n_languages != 1 else ''})" if languages else ")"
            if why:
                detail += f"; {why}"
            event("alert_grouped", now=now, feed_id=feed_id, feed=feed_name, alert_id=alert["id"],
                  title=item.title, link=item.link, keywords=lists.join(keywords), detail=detail)
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
            "surge = ?, languages = ? WHERE id = ?",
            (lists.join(keywords), lists.join(rules), severity, severity_rank(severity), feeds, count, surge,
             languages, alert["id"]),
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


@lru_cache(maxsize=8)
def clusterer_for(keywords: tuple[Keyword, ...]) -> Clusterer:
    """One clusterer per keyword list (building one compiles two matchers); shared by every policy."""
    return Clusterer(keywords)


@lru_cache(maxsize=4096)
def _decode(features: str) -> StoryFeatures:
    """Stored features, decoded once per distinct row text (a story's items are read for every new candidate)."""
    return StoryFeatures.from_json(features)


__all__ = ["StoryPolicy", "clusterer_for"]
