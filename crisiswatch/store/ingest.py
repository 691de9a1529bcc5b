"""The write path of a poll: feed results, their new items and alerts, batched per transaction."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..errors import StoreError
from ..fold import fold
from ..models import (
    SHARED_LINK_MARK,
    Assessment,
    FetchResult,
    ParsedFeed,
    ParsedItem,
    iso,
    severity_rank,
    shared_link_key,
    utcnow,
)
from ..redact import redact_text
from . import lists
from .connection import explain_sqlite
from .events import Events
from .queries import Queries
from .stories import StoryPolicy

if TYPE_CHECKING:
    from ..config import Feed, Settings


@dataclass(slots=True)
class FeedOutcome:
    """What one feed result changed, for the poll summary and notifications."""

    status: str
    """ok | not_modified | error | gone"""
    new_items: int = 0
    new_alerts: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None


class _BatchLost(Exception):
    """The transaction of a :meth:`Store.record_results` batch is gone; redo its feeds one by one."""


class Ingest(Queries, Events):
    """What the poller writes: the feeds table kept in line with the config, and each fetch's outcome."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._batching = False
        """Inside :meth:`record_results`: each feed gets a savepoint instead of a transaction."""
        self._fts_rows: list[tuple[int, str, str]] = []
        """New items' folded texts, indexed just before the transaction commits (see :meth:`_flush_fts`)."""

    def sync_feeds(self, feeds: Sequence[Feed]) -> dict[str, int]:
        """Make the feeds table follow the config; returns name → id.

        A feed whose configured URL changed starts afresh (validators, gone flag,
        backoff), because the user edited it on purpose. Feeds no longer in the
        config keep their history but stop being polled.
        """
        ids: dict[str, int] = {}
        with self.write() as conn:
            conn.execute("UPDATE feeds SET in_config = 0")
            for feed in feeds:
                row = conn.execute("SELECT id, config_url FROM feeds WHERE name = ?", (feed.name,)).fetchone()
                if row is None:
                    cur = conn.execute("INSERT INTO feeds (name, url, config_url) VALUES (?, ?, ?)",
                                       (feed.name, feed.url, feed.url))
                    ids[feed.name] = int(cur.lastrowid or 0)
                    continue
                ids[feed.name] = row["id"]
                if row["config_url"] != feed.url:
                    conn.execute(
                        "UPDATE feeds SET url = ?, config_url = ?, etag = NULL, last_modified = NULL, gone = 0, "
                        "failures = 0, next_poll = NULL, hold_until = NULL, hold_kind = NULL, hold_reason = NULL, "
                        "in_config = 1 WHERE id = ?", (feed.url, feed.url, row["id"]))
                else:
                    conn.execute("UPDATE feeds SET in_config = 1 WHERE id = ?", (row["id"],))
        return ids

    def reschedule(self, feed_id: int, next_poll: datetime) -> None:
        with self.write() as conn:
            conn.execute("UPDATE feeds SET next_poll = ? WHERE id = ?", (iso(next_poll), feed_id))

    def record_results(self, calls: Sequence[tuple[Sequence[Any], dict[str, Any]]]) -> list[FeedOutcome | Exception]:
        """Several :meth:`record_result` calls in one transaction, each feed in its own savepoint.

        A poll hands results over faster than one transaction per feed can
        commit them when 50 new items each are involved: every commit flushes
        the full-text index's pending terms into a new segment and rewrites the
        same index pages. Committing what has queued up together costs the same
        as one feed, and a feed that fails is rolled back to its savepoint alone.
        Returns each call's outcome or exception, in order.

        Some errors (disk full, I/O error) make SQLite roll back the whole
        transaction, and a failed COMMIT loses it too. Then nothing of the batch
        was stored, and each call is redone in a transaction of its own, so the
        feeds that fit are kept and each failure is reported as it would be alone.
        """
        outcomes: list[FeedOutcome | Exception] = []
        try:
            with self.write():
                self._batching = True
                try:
                    for args, kwargs in calls:
                        try:
                            outcomes.append(self.record_result(*args, **kwargs))
                        except _BatchLost:
                            raise
                        except Exception as exc:  # one feed's failure must not lose the others
                            outcomes.append(exc)
                finally:
                    self._batching = False
                self._flush_fts()
        except (_BatchLost, StoreError):
            self._fts_rows.clear()
            return [self._record_alone(args, kwargs) for args, kwargs in calls]
        finally:
            self._fts_rows.clear()
        return outcomes

    def _record_alone(self, args: Sequence[Any], kwargs: dict[str, Any]) -> FeedOutcome | Exception:
        try:
            return self.record_result(*args, **kwargs)
        except Exception as exc:
            return exc

    def _flush_fts(self) -> None:
        """Index the transaction's new items for search, all at once, just before it commits.

        FTS5 writes its pending terms out as a new index segment whenever a
        savepoint opens — and SQLite opens one for every statement that might
        need undoing, such as the ``UPDATE items SET alert_id`` after an alert.
        Indexed item by item, a feed with alerts wrote one tiny segment per
        alert (~250 µs each, then merge work); indexed last, one per commit.
        """
        if self._fts_rows:
            self.conn.executemany("INSERT INTO items_fts (rowid, title, summary) VALUES (?, ?, ?)", self._fts_rows)
            self._fts_rows.clear()

    @contextmanager
    def _feed_transaction(self) -> Iterator[sqlite3.Connection]:
        """Its own transaction, or a savepoint inside :meth:`record_results`' batch."""
        mark = len(self._fts_rows)
        if not self._batching:
            try:
                with self.write() as conn:
                    yield conn
                    self._flush_fts()
            finally:
                self._fts_rows.clear()
            return
        self.conn.execute("SAVEPOINT feed")
        try:
            yield self.conn
        except BaseException as exc:
            del self._fts_rows[mark:]  # this feed's items are rolled back: do not index them
            if not self.conn.in_transaction:
                raise _BatchLost from None  # SQLite rolled back the whole transaction (disk full, I/O error)
            try:
                self.conn.execute("ROLLBACK TO feed")
                self.conn.execute("RELEASE feed")
            except sqlite3.Error:
                raise _BatchLost from None
            if isinstance(exc, sqlite3.Error):
                raise explain_sqlite(exc, self.path) from None
            raise
        try:
            self.conn.execute("RELEASE feed")
        except sqlite3.Error:
            raise _BatchLost from None

    def record_result(
        self,
        feed_id: int,
        result: FetchResult,
        parsed: ParsedFeed | None,
        assessments: Sequence[Assessment | None],
        *,
        settings: Settings | StoryPolicy,
        next_poll: datetime,
        now: datetime | None = None,
        search_texts: Sequence[tuple[str, str]] | None = None,
        hold: tuple[datetime, str, str] | None = None,
    ) -> FeedOutcome:
        """Store one feed's fetch outcome, its new items and alerts, atomically.

        ``hold`` is the server's hold-off the poller derived from this outcome,
        (until, kind, reason), or None to lift any; see ``schema._SCHEMA_FEED_HOLDS``.
        A permanent redirect (``result.moved_to``) is committed only when the new
        address answered with a feed (``parsed`` without error): a captive portal
        or a hostile server answering a 301 with a page must not re-point the feed.

        ``search_texts`` are the items' (title, summary) already folded by
        :func:`fold.fold` (the poller does it in its worker processes); without
        them the store folds here. Search runs over folded text so "Jarinje"
        finds "Јариње". ``settings`` gives the grouping and surge thresholds
        (a :class:`StoryPolicy`, or the ``[settings]`` it is built from).
        """
        policy = settings if isinstance(settings, StoryPolicy) else StoryPolicy.from_settings(settings)
        now = now or utcnow()
        stamp = iso(now)
        with self._feed_transaction() as conn:
            feed = conn.execute("SELECT * FROM feeds WHERE id = ?", (feed_id,)).fetchone()
            if feed is None:
                return FeedOutcome("error", error="feed no longer exists")
            was_failing = feed["failures"] > 0
            error = result.error or (parsed.error if parsed is not None else None)
            if error:
                error = redact_text(error)  # stored as last_error, shown by the TUI and `poll -v`
            updates: dict[str, Any] = {"last_fetch": stamp, "next_poll": iso(next_poll),
                                       "fetch_count": feed["fetch_count"] + 1,
                                       "hold_until": iso(hold[0]) if hold else None,
                                       "hold_kind": hold[1] if hold else None,
                                       "hold_reason": redact_text(hold[2]) if hold else None}
            if result.status is not None:
                updates["last_status"] = result.status
            if error:
                kind = result.error_kind or "parse"
                updates.update(last_error=error, last_error_kind=kind, failures=feed["failures"] + 1,
                               error_count=feed["error_count"] + 1)
                if kind == "gone":
                    updates["gone"] = 1
                    self._event("feed_gone", now=now, feed_id=feed_id,
                                detail=f"{error}; not polled again until re-enabled")
                else:
                    held = f"; held off until {iso(hold[0])} ({redact_text(hold[2])})" if hold else ""
                    self._event("fetch_error", now=now, feed_id=feed_id, detail=f"{kind}: {error}{held}")
                self._update_feed(feed_id, updates)
                return FeedOutcome("gone" if kind == "gone" else "error", error=error)
            if (result.moved_to and result.moved_to != feed["url"] and parsed is not None
                    and not result.not_modified):
                updates["url"] = result.moved_to
                self._event("feed_moved", now=now, feed_id=feed_id,
                            detail=f"permanent redirect: {feed['url']} -> {result.moved_to}")
            updates.update(last_ok=stamp, failures=0, last_error=None, last_error_kind=None)
            if result.etag is not None or result.last_modified is not None or result.status == 200:
                if not result.not_modified:
                    updates["etag"] = result.etag
                    updates["last_modified"] = result.last_modified
            if was_failing:
                self._event("feed_recovered", now=now, feed_id=feed_id,
                            detail=f"ok again after {feed['failures']} failure(s); last error: {feed['last_error']}")
            outcome = FeedOutcome("not_modified" if result.not_modified else "ok")
            if parsed is not None and not result.not_modified:
                if parsed.title:
                    updates["title"] = parsed.title
                texts: Sequence[tuple[str, str] | None] = search_texts or [None] * len(parsed.items)
                for item, assessment, text in zip(parsed.items, assessments, texts, strict=True):
                    self._store_item(feed_id, feed["name"], item, assessment, text, stamp, now, policy, outcome)
                updates["items_count"] = feed["items_count"] + outcome.new_items
            self._update_feed(feed_id, updates)
            return outcome

    def _known_under_other_key(self, feed_id: int, item: ParsedItem) -> bool:
        """Whether a guid-less item is already stored under its other link key.

        An entry is keyed by its link while it is the only one in its document with
        that link, and by link + title (:func:`~crisiswatch.models.shared_link_key`)
        while other entries share the link. When sharing starts or stops between two
        polls, the same entry comes back under the other key: it is the same item.
        """
        if item.key == item.link:
            other = shared_link_key(item.link, item.title)
        elif item.key.startswith(item.link + SHARED_LINK_MARK):
            other = item.link
        else:
            return False
        row = self.conn.execute("SELECT title FROM items WHERE feed_id = ? AND key = ?", (feed_id, other)).fetchone()
        # Under the bare link, only the entry with this very title is the same one.
        return row is not None and (other != item.link or row[0] == item.title)

    def _update_feed(self, feed_id: int, updates: dict[str, Any]) -> None:
        cols = ", ".join(f"{k} = :{k}" for k in updates)
        self.conn.execute(f"UPDATE feeds SET {cols} WHERE id = :_id", {**updates, "_id": feed_id})  # noqa: S608

    def _store_item(self, feed_id: int, feed_name: str, item: ParsedItem, assessment: Assessment | None,
                    search_text: tuple[str, str] | None, stamp: str, now: datetime, policy: StoryPolicy,
                    outcome: FeedOutcome) -> None:
        cur = self.conn.execute(
            "INSERT OR IGNORE INTO items (feed_id, key, guid, link, title, summary, author, published, fetched) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (feed_id, item.key, item.guid, item.link, item.title, item.summary, item.author,
             iso(item.published), stamp),
        )
        if cur.rowcount == 0:
            return  # seen before: never alert twice
        item_id = int(cur.lastrowid or 0)
        if item.guid is None and item.link and self._known_under_other_key(feed_id, item):
            self.conn.execute("DELETE FROM items WHERE id = ?", (item_id,))
            return  # seen before under its other link key (checked for new rows only: cheap)
        outcome.new_items += 1
        folded = search_text if search_text is not None else (fold(item.title), fold(item.summary))
        self._fts_rows.append((item_id, *folded))  # indexed at the end of the transaction: see _flush_fts
        if assessment is None or assessment.severity is None:
            return
        keys = policy.keys(item)
        existing = policy.find(self.conn, keys, now)
        language = policy.language(item, folded[0])
        features = None
        why = ""
        if existing is None:
            # No link or title key placed it: is it another outlet's (another language's) report of a story?
            features = policy.features(item, assessment, feed_name, folded[0])
            existing, why = policy.cluster(self.conn, features, now)
        created = False
        if existing is not None:
            alert_id = existing["id"]
            self.conn.execute("UPDATE items SET alert_id = ? WHERE id = ?", (alert_id, item_id))
            policy.group_into(self.conn, self._event, existing, feed_id, feed_name, item, assessment, now,
                              language=language, why=why)
        else:
            keywords = lists.join(assessment.keywords)
            cur = self.conn.execute(
                "INSERT INTO alerts (item_id, created, published, severity, rank, keywords, rules, feeds, title, "
                "link, languages) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (item_id, stamp, iso(item.published), assessment.severity, severity_rank(assessment.severity),
                 keywords, lists.join(assessment.rules), feed_name, item.title, item.link, language),
            )
            alert_id = int(cur.lastrowid or 0)
            created = True
            self.conn.execute("UPDATE items SET alert_id = ? WHERE id = ?", (alert_id, item_id))
            self.conn.execute("INSERT OR IGNORE INTO alert_feeds (alert_id, feed_id, seen, language) "
                              "VALUES (?, ?, ?, ?)", (alert_id, feed_id, stamp, language))
            detail = f"severity {assessment.severity}"
            if assessment.rules:
                detail += f"; rules: {'; '.join(assessment.rules)}"
            self._event("alert_new", now=now, feed_id=feed_id, feed=feed_name, alert_id=alert_id, item_id=item_id,
                        title=item.title, link=item.link, keywords=keywords, detail=detail)
        policy.remember(self.conn, keys, alert_id, stamp)
        if features is not None:
            policy.remember_member(self.conn, item_id, alert_id, features, stamp, why)
        policy.count_mentions(self.conn, self._event, alert_id, assessment.keywords, now)
        if created:
            outcome.new_alerts.append(self.alert(alert_id) or {"id": alert_id})


__all__ = ["FeedOutcome", "Ingest"]
