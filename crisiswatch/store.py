"""SQLite, the single source of truth: feeds, items, alerts, stories, events.

Every write is one short ``BEGIN IMMEDIATE`` transaction, so a ``kill -9`` at
any instant loses at most the feed in flight, and two crisiswatch processes on
one file (the TUI and a headless ``poll``) serialise instead of double-alerting:
item identity is a UNIQUE constraint checked inside the same transaction that
raises the alert. Readers (TUI, export) see WAL snapshots and never block writers.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Generator, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import Feed, Settings
from .models import (
    SEVERITIES,
    Assessment,
    FetchResult,
    ParsedFeed,
    ParsedItem,
    iso,
    raise_severity,
    severity_rank,
    utcnow,
)
from .text import canonical_link, fold, title_key

try:
    import fcntl
except ImportError:  # Windows: SQLite's own locking only
    fcntl = None  # type: ignore[assignment]

if TYPE_CHECKING:
    import sqlite_utils

BUSY_TIMEOUT_MS = 60_000
"""How long a write waits for another process's transaction before giving up with a clear error."""
ALERT_STATES = ("new", "pinned", "dismissed")

EVENT_KINDS: dict[str, str] = {
    "poll_started": "a poll cycle began (detail: how many feeds are due)",
    "poll_finished": "a poll cycle ended (detail: the summary line)",
    "alert_new": "an item named a keyword and raised a new alert",
    "alert_grouped": "another outlet carried a story that already has an alert",
    "surge": "a story or keyword is breaking: several outlets within the window, or mentions far above baseline",
    "fetch_error": "a feed could not be fetched or parsed (detail: status, timeout, size cap, parse error…)",
    "feed_gone": "the server answered 410 Gone; the feed is not polled again until re-enabled",
    "feed_moved": "a permanent redirect (301/308) changed the feed's stored URL",
    "feed_recovered": "a feed that was failing fetched successfully again",
    "feed_reenabled": "the user re-enabled a feed that was gone",
    "alert_pinned": "the user pinned an alert",
    "alert_unpinned": "the user unpinned an alert",
    "alert_dismissed": "the user dismissed an alert",
    "alert_restored": "the user restored a dismissed alert",
    "export": "the user exported data (detail: what and where)",
    "notify_failed": "the notify command failed (detail: why)",
    "webhook_failed": "the webhook could not be delivered after retries (detail: why)",
    "caught_up": "the user marked every alert seen (C in the dashboard; detail: how many)",
}
"""The stable event kinds, documented in the README."""


class StoreError(Exception):
    """A database problem the user must act on (locked, read-only, full, too new)."""


_SCHEMA_V1 = """
CREATE TABLE feeds (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    url TEXT NOT NULL,
    config_url TEXT NOT NULL,
    title TEXT,
    etag TEXT,
    last_modified TEXT,
    last_fetch TEXT,
    last_ok TEXT,
    last_status INTEGER,
    last_error TEXT,
    last_error_kind TEXT,
    failures INTEGER NOT NULL DEFAULT 0,
    next_poll TEXT,
    gone INTEGER NOT NULL DEFAULT 0,
    items_count INTEGER NOT NULL DEFAULT 0,
    fetch_count INTEGER NOT NULL DEFAULT 0,
    error_count INTEGER NOT NULL DEFAULT 0,
    in_config INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE items (
    id INTEGER PRIMARY KEY,
    feed_id INTEGER NOT NULL REFERENCES feeds(id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    guid TEXT,
    link TEXT,
    title TEXT NOT NULL,
    summary TEXT NOT NULL DEFAULT '',
    author TEXT,
    published TEXT NOT NULL,
    fetched TEXT NOT NULL,
    alert_id INTEGER REFERENCES alerts(id) ON DELETE SET NULL,
    UNIQUE (feed_id, key)
);
CREATE INDEX items_published ON items (published);
CREATE INDEX items_alert ON items (alert_id) WHERE alert_id IS NOT NULL;
CREATE TABLE alerts (
    id INTEGER PRIMARY KEY,
    item_id INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
    created TEXT NOT NULL,
    published TEXT NOT NULL,
    severity TEXT NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'critical')),
    rank INTEGER NOT NULL,
    keywords TEXT NOT NULL,
    rules TEXT NOT NULL DEFAULT '',
    feeds TEXT NOT NULL,
    feed_count INTEGER NOT NULL DEFAULT 1,
    title TEXT NOT NULL,
    link TEXT,
    state TEXT NOT NULL DEFAULT 'new' CHECK (state IN ('new', 'pinned', 'dismissed')),
    state_changed TEXT,
    surge INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX alerts_state ON alerts (state, id);
CREATE INDEX alerts_created ON alerts (created);
CREATE INDEX alerts_dismissed ON alerts (state_changed) WHERE state = 'dismissed';
CREATE TABLE stories (
    key TEXT PRIMARY KEY,
    alert_id INTEGER NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
    seen TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE alert_feeds (
    alert_id INTEGER NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
    feed_id INTEGER NOT NULL REFERENCES feeds(id) ON DELETE CASCADE,
    seen TEXT NOT NULL,
    PRIMARY KEY (alert_id, feed_id)
) WITHOUT ROWID;
CREATE TABLE keyword_hours (
    keyword TEXT NOT NULL,
    hour TEXT NOT NULL,
    mentions INTEGER NOT NULL DEFAULT 0,
    surged INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (keyword, hour)
) WITHOUT ROWID;
CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    time TEXT NOT NULL,
    kind TEXT NOT NULL,
    feed_id INTEGER REFERENCES feeds(id) ON DELETE SET NULL,
    feed TEXT,
    alert_id INTEGER REFERENCES alerts(id) ON DELETE SET NULL,
    item_id INTEGER REFERENCES items(id) ON DELETE SET NULL,
    title TEXT,
    link TEXT,
    keywords TEXT,
    detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX events_time ON events (time);
CREATE INDEX events_kind ON events (kind, id);
CREATE VIRTUAL TABLE items_fts USING fts5 (title, summary, content='',
    tokenize='unicode61 remove_diacritics 2');
CREATE VIEW alerts_view AS
    SELECT a.id, a.created AS time, a.published, a.severity, a.keywords, a.rules, a.feeds, a.feed_count,
           a.title, a.link, a.state, a.state_changed, a.surge, f.name AS first_feed, i.summary
    FROM alerts a JOIN items i ON i.id = a.item_id JOIN feeds f ON f.id = i.feed_id;
CREATE VIEW items_view AS
    SELECT i.id, f.name AS feed, i.published, i.fetched, i.title, i.link, i.summary, i.author, i.alert_id
    FROM items i JOIN feeds f ON f.id = i.feed_id;
"""

_SCHEMA_V2 = """
ALTER TABLE alerts ADD COLUMN seen_at TEXT;
UPDATE alerts SET seen_at = coalesce(state_changed, created) WHERE state != 'new';
CREATE INDEX alerts_order ON alerts (published, id);
CREATE INDEX alerts_rank_order ON alerts (rank, published, id);
CREATE TABLE ui_state (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
"""
"""Seen state (NULL until the user looked; alerts already pinned or dismissed were looked at),
indexes for the story-time order, and the dashboard's remembered settings (the theme)."""

MIGRATIONS: tuple[str, ...] = (_SCHEMA_V1, _SCHEMA_V2)
"""Forward migrations; ``PRAGMA user_version`` is how many have been applied."""

SCHEMA_VERSION = len(MIGRATIONS)


@dataclass(slots=True)
class FeedOutcome:
    """What one feed result changed, for the poll summary and notifications."""

    status: str
    """ok | not_modified | error | gone"""
    new_items: int = 0
    new_alerts: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None


def _explain_sqlite(exc: sqlite3.Error, path: Path) -> StoreError:
    msg = str(exc).lower()
    if "locked" in msg or "busy" in msg:
        why = f"{path}: the database is locked by another process (waited {BUSY_TIMEOUT_MS // 1000}s); try again"
    elif "readonly" in msg or "read-only" in msg:
        why = f"{path}: the database or its folder is read-only; pass --db to a writable path"
    elif "full" in msg:
        why = f"{path}: the disk is full; free some space and run again (nothing committed was lost)"
    elif "unable to open" in msg:
        why = f"{path}: cannot open the database (does its folder exist and is it writable?)"
    elif "malformed" in msg or "not a database" in msg:
        why = f"{path}: not a crisiswatch database, or it is damaged ({exc}); pass --db to another file"
    else:
        why = f"{path}: database error: {exc}"
    return StoreError(why)


class _BatchLost(Exception):
    """The transaction of a :meth:`Store.record_results` batch is gone; redo its feeds one by one."""


class Store:
    """One connection to the database; use one Store per thread."""

    def __init__(self, conn: sqlite3.Connection, path: Path, *, lock_fd: int | None = None) -> None:
        self.conn = conn
        self.path = path
        self._lock_fd = lock_fd
        self._db: sqlite_utils.Database | None = None
        self._batching = False
        self._fts_rows: list[tuple[int, str, str]] = []

    @property
    def db(self) -> sqlite_utils.Database:
        """sqlite-utils over the same connection, built on first use.

        Importing sqlite_utils pulls in dateutil, click and pluggy (~50-70 ms);
        no query on the poll or export path needs it, so ``poll --once`` and
        ``export`` should not pay that on every start.
        """
        if self._db is None:
            import sqlite_utils

            self._db = sqlite_utils.Database(self.conn)
        return self._db

    def table_counts(self) -> dict[str, int]:
        """Rows per table, for ``check``: sqlite-utils knows the tables, FTS shadows included, so skip those."""
        return {name: self.db[name].count for name in self.db.table_names()
                if not name.startswith("items_fts")}

    # -- opening -------------------------------------------------------------
    @classmethod
    def open(cls, path: Path | str, *, readonly: bool = False) -> Store:
        path = Path(path)
        try:
            if readonly:
                if not path.exists():
                    raise StoreError(f"{path}: no such database; run `crisiswatch poll --once` first")
                conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None,
                                       check_same_thread=False)
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA foreign_keys = ON")
            store = cls(conn, path, lock_fd=None if readonly else _open_lock(path))
            if not readonly:
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = NORMAL")
                store._migrate()
            else:
                store._check_version()
            return store
        except sqlite3.Error as exc:
            raise _explain_sqlite(exc, path) from None
        except OSError as exc:
            raise StoreError(f"{path}: cannot create the database: {exc.strerror}") from None

    def close(self) -> None:
        try:
            self.conn.close()
        except sqlite3.Error:
            pass
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _check_version(self) -> int:
        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path}: this database was written by a newer crisiswatch (schema {version}; this "
                f"version knows up to {SCHEMA_VERSION}). Upgrade crisiswatch, or pass --db to another file."
            )
        return version

    def _migrate(self) -> None:
        with self.write():
            version = self._check_version()
            for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                for statement in _split_sql(script):
                    self.conn.execute(statement)
                self.conn.execute(f"PRAGMA user_version = {number}")

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One IMMEDIATE transaction: take the write lock up front so we never deadlock on upgrade.

        Writers from several processes (the dashboard's poller, its UI thread, a
        headless ``poll``) first queue on a kernel lock beside the database.
        SQLite's own busy wait sleeps and retries, so a process writing feed
        after feed back to back would starve the others for its whole poll; a
        blocked ``flock`` is woken the moment the lock is released, so writers
        take turns. A killed process's lock is released by the kernel.
        """
        with self._turn():
            try:
                self.conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise _explain_sqlite(exc, self.path) from None
            yield from self._transaction()

    @contextmanager
    def _turn(self) -> Iterator[None]:
        if self._lock_fd is None or fcntl is None:
            yield
            return
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    def _transaction(self) -> Iterator[sqlite3.Connection]:
        try:
            yield self.conn
        except sqlite3.Error as exc:
            self._rollback()
            raise _explain_sqlite(exc, self.path) from None
        except BaseException:
            self._rollback()
            raise
        try:
            self.conn.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback()
            raise _explain_sqlite(exc, self.path) from None

    def _rollback(self) -> None:
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")

    @contextmanager
    def snapshot(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: every query inside sees one consistent WAL snapshot."""
        self.conn.execute("BEGIN")
        try:
            yield self.conn
        finally:
            with contextlib.suppress(sqlite3.ProgrammingError):  # closed under a suspended generator
                self.conn.execute("COMMIT")

    def _one(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> dict[str, Any] | None:
        row = self.conn.execute(sql, params).fetchone()
        return dict(row) if row is not None else None

    def _all(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[dict[str, Any]]:
        return [dict(r) for r in self.conn.execute(sql, params)]

    # -- events --------------------------------------------------------------
    def _event(self, kind: str, *, now: datetime | None = None, feed_id: int | None = None,
               feed: str | None = None, alert_id: int | None = None, item_id: int | None = None,
               title: str | None = None, link: str | None = None, keywords: str | None = None,
               detail: str = "") -> int:
        if feed is None and feed_id is not None:
            row = self.conn.execute("SELECT name FROM feeds WHERE id = ?", (feed_id,)).fetchone()
            feed = row[0] if row else None
        cur = self.conn.execute(
            "INSERT INTO events (time, kind, feed_id, feed, alert_id, item_id, title, link, keywords, detail) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (iso(now or utcnow()), kind, feed_id, feed, alert_id, item_id, title, link, keywords, detail),
        )
        return int(cur.lastrowid or 0)

    def add_event(self, kind: str, *, detail: str = "", feed_id: int | None = None, alert_id: int | None = None,
                  title: str | None = None, link: str | None = None, keywords: str | None = None,
                  now: datetime | None = None) -> int:
        """Record an event in its own transaction (committed when this returns)."""
        if alert_id is not None and (title is None or keywords is None):
            row = self._one("SELECT title, link, keywords FROM alerts WHERE id = ?", (alert_id,))
            if row:
                title = title if title is not None else row["title"]
                link = link if link is not None else row["link"]
                keywords = keywords if keywords is not None else row["keywords"]
        with self.write():
            return self._event(kind, now=now, feed_id=feed_id, alert_id=alert_id, title=title, link=link,
                               keywords=keywords, detail=detail)

    # -- feeds ---------------------------------------------------------------
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
                        "failures = 0, next_poll = NULL, in_config = 1 WHERE id = ?", (feed.url, feed.url, row["id"]))
                else:
                    conn.execute("UPDATE feeds SET in_config = 1 WHERE id = ?", (row["id"],))
        return ids

    def feed(self, feed_id: int) -> dict[str, Any] | None:
        return self._one("SELECT * FROM feeds WHERE id = ?", (feed_id,))

    def feeds(self, *, in_config_only: bool = True) -> list[dict[str, Any]]:
        where = "WHERE in_config = 1" if in_config_only else ""
        return self._all(f"SELECT * FROM feeds {where} ORDER BY name COLLATE NOCASE")  # noqa: S608 - constant

    def reenable_feed(self, name: str) -> bool:
        """Clear 'gone' and backoff so the feed is polled at the next cycle."""
        with self.write() as conn:
            row = conn.execute("SELECT id FROM feeds WHERE name = ?", (name,)).fetchone()
            if row is None:
                return False
            conn.execute("UPDATE feeds SET gone = 0, failures = 0, next_poll = NULL WHERE id = ?", (row["id"],))
            self._event("feed_reenabled", feed_id=row["id"], detail="re-enabled by the user")
        return True

    def reschedule(self, feed_id: int, next_poll: datetime) -> None:
        with self.write() as conn:
            conn.execute("UPDATE feeds SET next_poll = ? WHERE id = ?", (iso(next_poll), feed_id))

    # -- the write path of a poll ----------------------------------------------
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
                raise _explain_sqlite(exc, self.path) from None
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
        settings: Settings,
        next_poll: datetime,
        now: datetime | None = None,
        search_texts: Sequence[tuple[str, str]] | None = None,
    ) -> FeedOutcome:
        """Store one feed's fetch outcome, its new items and alerts, atomically.

        ``search_texts`` are the items' (title, summary) already folded by
        :func:`text.fold` (the poller does it in its worker processes); without
        them the store folds here. Search runs over folded text so "Jarinje"
        finds "Јариње".
        """
        now = now or utcnow()
        stamp = iso(now)
        with self._feed_transaction() as conn:
            feed = conn.execute("SELECT * FROM feeds WHERE id = ?", (feed_id,)).fetchone()
            if feed is None:
                return FeedOutcome("error", error="feed no longer exists")
            was_failing = feed["failures"] > 0
            error = result.error or (parsed.error if parsed is not None else None)
            updates: dict[str, Any] = {"last_fetch": stamp, "next_poll": iso(next_poll),
                                       "fetch_count": feed["fetch_count"] + 1}
            if result.status is not None:
                updates["last_status"] = result.status
            if result.moved_to and result.moved_to != feed["url"]:
                updates["url"] = result.moved_to
                self._event("feed_moved", now=now, feed_id=feed_id,
                            detail=f"permanent redirect: {feed['url']} -> {result.moved_to}")
            if error:
                kind = result.error_kind or "parse"
                updates.update(last_error=error, last_error_kind=kind, failures=feed["failures"] + 1,
                               error_count=feed["error_count"] + 1)
                if kind == "gone":
                    updates["gone"] = 1
                    self._event("feed_gone", now=now, feed_id=feed_id,
                                detail=f"{error}; not polled again until re-enabled")
                else:
                    self._event("fetch_error", now=now, feed_id=feed_id, detail=f"{kind}: {error}")
                self._update_feed(feed_id, updates)
                return FeedOutcome("gone" if kind == "gone" else "error", error=error)
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
                    self._store_item(feed_id, feed["name"], item, assessment, text, stamp, now, settings, outcome)
                updates["items_count"] = feed["items_count"] + outcome.new_items
            self._update_feed(feed_id, updates)
            return outcome

    def _update_feed(self, feed_id: int, updates: dict[str, Any]) -> None:
        cols = ", ".join(f"{k} = :{k}" for k in updates)
        self.conn.execute(f"UPDATE feeds SET {cols} WHERE id = :_id", {**updates, "_id": feed_id})  # noqa: S608

    def _store_item(self, feed_id: int, feed_name: str, item: ParsedItem, assessment: Assessment | None,
                    search_text: tuple[str, str] | None, stamp: str, now: datetime, settings: Settings,
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
        outcome.new_items += 1
        folded = search_text if search_text is not None else (fold(item.title), fold(item.summary))
        self._fts_rows.append((item_id, *folded))  # indexed at the end of the transaction: see _flush_fts
        if assessment is None or assessment.severity is None:
            return
        keys = _story_keys(item)
        horizon = iso(now - timedelta(seconds=settings.group_window))
        existing = None
        created = False
        if keys:
            marks = ", ".join("?" * len(keys))
            existing = self.conn.execute(
                f"SELECT a.* FROM stories s JOIN alerts a ON a.id = s.alert_id "  # noqa: S608 - placeholders only
                f"WHERE s.key IN ({marks}) AND s.seen >= ? ORDER BY a.id LIMIT 1", (*keys, horizon)).fetchone()
        if existing is not None:
            alert_id = existing["id"]
            self.conn.execute("UPDATE items SET alert_id = ? WHERE id = ?", (alert_id, item_id))
            self._group_into(existing, feed_id, feed_name, item, assessment, now, settings)
        else:
            keywords = "; ".join(assessment.keywords)
            cur = self.conn.execute(
                "INSERT INTO alerts (item_id, created, published, severity, rank, keywords, rules, feeds, title, "
                "link) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (item_id, stamp, iso(item.published), assessment.severity, severity_rank(assessment.severity),
                 keywords, "; ".join(assessment.rules), feed_name, item.title, item.link),
            )
            alert_id = int(cur.lastrowid or 0)
            created = True
            self.conn.execute("UPDATE items SET alert_id = ? WHERE id = ?", (alert_id, item_id))
            self.conn.execute("INSERT OR IGNORE INTO alert_feeds (alert_id, feed_id, seen) VALUES (?, ?, ?)",
                              (alert_id, feed_id, stamp))
            detail = f"severity {assessment.severity}"
            if assessment.rules:
                detail += f"; rules: {'; '.join(assessment.rules)}"
            self._event("alert_new", now=now, feed_id=feed_id, feed=feed_name, alert_id=alert_id, item_id=item_id,
                        title=item.title, link=item.link, keywords=keywords, detail=detail)
        for key in keys:
            self.conn.execute("INSERT INTO stories (key, alert_id, seen) VALUES (?, ?, ?) "
                              "ON CONFLICT (key) DO UPDATE SET alert_id = excluded.alert_id, seen = excluded.seen",
                              (key, alert_id, stamp))
        self._count_mentions(alert_id, assessment.keywords, now, settings)
        if created:
            outcome.new_alerts.append(self._alert_dict(alert_id) or {"id": alert_id})

    def _group_into(self, alert: sqlite3.Row, feed_id: int, feed_name: str, item: ParsedItem,
                    assessment: Assessment, now: datetime, settings: Settings) -> None:
        stamp = iso(now)
        keywords = sorted(set(filter(None, alert["keywords"].split("; "))) | set(assessment.keywords))
        rules = sorted(set(filter(None, alert["rules"].split("; "))) | set(assessment.rules))
        severity = max(alert["severity"], assessment.severity or "low", key=severity_rank)
        new_feed = self.conn.execute("INSERT OR IGNORE INTO alert_feeds (alert_id, feed_id, seen) VALUES (?, ?, ?)",
                                     (alert["id"], feed_id, stamp)).rowcount == 1
        feeds = alert["feeds"]
        count = alert["feed_count"]
        if new_feed:
            feeds = f"{feeds}; {feed_name}" if feeds else feed_name
            count += 1
            self._event("alert_grouped", now=now, feed_id=feed_id, feed=feed_name, alert_id=alert["id"],
                        title=item.title, link=item.link, keywords="; ".join(keywords),
                        detail=f"also carried by {feed_name} ({count} outlets)")
        surge = alert["surge"]
        if new_feed and not surge:
            since = iso(now - timedelta(seconds=settings.surge_window))
            recent = self.conn.execute("SELECT count(*) FROM alert_feeds WHERE alert_id = ? AND seen >= ?",
                                       (alert["id"], since)).fetchone()[0]
            if recent >= settings.surge_feeds:
                surge = 1
                severity = raise_severity(severity)
                window = _human_seconds(settings.surge_window)
                self._event("surge", now=now, feed_id=feed_id, feed=feed_name, alert_id=alert["id"],
                            title=alert["title"], link=alert["link"], keywords="; ".join(keywords),
                            detail=f"story carried by {recent} outlets within {window}: {feeds}; "
                            f"severity raised to {severity}")
        self.conn.execute(
            "UPDATE alerts SET keywords = ?, rules = ?, severity = ?, rank = ?, feeds = ?, feed_count = ?, "
            "surge = ? WHERE id = ?",
            ("; ".join(keywords), "; ".join(rules), severity, severity_rank(severity), feeds, count, surge,
             alert["id"]),
        )

    def _count_mentions(self, alert_id: int, keywords: Sequence[str], now: datetime, settings: Settings) -> None:
        """Keyword surges: this hour's mentions far above the keyword's own 24 h baseline."""
        hour = now.strftime("%Y-%m-%dT%H")
        start = (now - timedelta(hours=24)).strftime("%Y-%m-%dT%H")
        for keyword in keywords:
            self.conn.execute(
                "INSERT INTO keyword_hours (keyword, hour, mentions) VALUES (?, ?, 1) "
                "ON CONFLICT (keyword, hour) DO UPDATE SET mentions = mentions + 1", (keyword, hour))
            row = self.conn.execute("SELECT mentions, surged FROM keyword_hours WHERE keyword = ? AND hour = ?",
                                    (keyword, hour)).fetchone()
            if row["surged"] or row["mentions"] < settings.surge_min_mentions:
                continue
            total = self.conn.execute(
                "SELECT coalesce(sum(mentions), 0) FROM keyword_hours WHERE keyword = ? AND hour >= ? AND hour < ?",
                (keyword, start, hour)).fetchone()[0]
            baseline = total / 24
            if row["mentions"] < settings.surge_factor * max(baseline, 1.0):
                continue
            self.conn.execute("UPDATE keyword_hours SET surged = 1 WHERE keyword = ? AND hour = ?", (keyword, hour))
            alert = self.conn.execute("SELECT * FROM alerts WHERE id = ?", (alert_id,)).fetchone()
            severity = raise_severity(alert["severity"])
            self.conn.execute("UPDATE alerts SET severity = ?, rank = ?, surge = 1 WHERE id = ?",
                              (severity, severity_rank(severity), alert_id))
            self._event("surge", now=now, alert_id=alert_id, title=alert["title"], link=alert["link"],
                        keywords=keyword,
                        detail=f"keyword {keyword}: {row['mentions']} mentions this hour vs a baseline of "
                        f"{baseline:.1f}/h; severity raised to {severity}")

    # -- alerts: user actions -------------------------------------------------
    def alert(self, alert_id: int) -> dict[str, Any] | None:
        return self._alert_dict(alert_id)

    def _alert_dict(self, alert_id: int) -> dict[str, Any] | None:
        row = self._one(
            "SELECT a.*, i.summary, i.feed_id, f.name AS feed FROM alerts a JOIN items i ON i.id = a.item_id "
            "JOIN feeds f ON f.id = i.feed_id WHERE a.id = ?", (alert_id,))
        if row is None:
            return None
        row["keywords_list"] = [k for k in row["keywords"].split("; ") if k]
        return row

    def set_alert_state(self, alert_id: int, state: str, *, now: datetime | None = None) -> str | None:
        """Change an alert's state and log the matching event; returns the previous state."""
        if state not in ALERT_STATES:
            raise ValueError(f"unknown alert state {state!r}")
        now = now or utcnow()
        with self.write() as conn:
            row = conn.execute("SELECT state, title, link, keywords FROM alerts WHERE id = ?", (alert_id,)).fetchone()
            if row is None:
                return None
            before = row["state"]
            if before == state:
                return before
            conn.execute("UPDATE alerts SET state = ?, state_changed = ?, seen_at = coalesce(seen_at, ?) WHERE id = ?",
                         (state, iso(now), iso(now), alert_id))
            kind = {
                ("pinned", "new"): "alert_unpinned",
                ("dismissed", "new"): "alert_restored",
                ("dismissed", "pinned"): "alert_restored",
            }.get((before, state), f"alert_{state}")
            self._event(kind, now=now, alert_id=alert_id, title=row["title"], link=row["link"],
                        keywords=row["keywords"], detail=f"{before} -> {state}")
        return before

    def toggle_pin(self, alert_id: int) -> str | None:
        row = self._one("SELECT state FROM alerts WHERE id = ?", (alert_id,))
        if row is None:
            return None
        target = "new" if row["state"] == "pinned" else "pinned"
        self.set_alert_state(alert_id, target)
        return target

    def dismiss(self, alert_id: int) -> None:
        self.set_alert_state(alert_id, "dismissed")

    def restore_last_dismissed(self) -> int | None:
        """Undo the most recent dismissal; repeated calls walk further back."""
        row = self._one(
            "SELECT a.id FROM events e JOIN alerts a ON a.id = e.alert_id WHERE e.kind = 'alert_dismissed' "
            "AND a.state = 'dismissed' ORDER BY e.id DESC LIMIT 1")
        if row is None:
            return None
        self.set_alert_state(row["id"], "new")
        return int(row["id"])

    # -- queries for the dashboard -------------------------------------------------
    def count_alerts(self, *, min_severity: str = "low", show_dismissed: bool = False, sort: str = "time",
                     query: Any = None) -> int:
        where, params = self._alert_where(min_severity, show_dismissed, query)
        return int(self.conn.execute(f"SELECT count(*) FROM alerts WHERE {where}", params).fetchone()[0])  # noqa: S608

    def alerts_page(self, offset: int = 0, limit: int = 100, *, min_severity: str = "low",
                    show_dismissed: bool = False, sort: str = "time", query: Any = None) -> list[dict[str, Any]]:
        """Pinned first, then the newest story first (or most severe first); a page at a time."""
        where, params = self._alert_where(min_severity, show_dismissed, query)
        return self._all(
            f"SELECT {self._ALERT_COLS} FROM alerts WHERE {where} "  # noqa: S608
            f"ORDER BY (state = 'pinned') DESC, {self._ORDERS[sort]} LIMIT ? OFFSET ?",
            [*params, limit, offset],
        )

    def count_items(self) -> int:
        row = self.conn.execute("SELECT max(id) FROM items").fetchone()
        if row[0] is None:
            return 0
        return int(self.conn.execute("SELECT count(*) FROM items").fetchone()[0])

    def items_page(self, offset: int = 0, limit: int = 100, *, query: str | None = None) -> list[dict[str, Any]]:
        """Headlines newest first, or full-text search results (FTS5) when ``query`` is given."""
        cols = self._ITEM_COLS
        if query:
            return self._all(
                f"SELECT {cols} FROM items_fts JOIN items i ON i.id = items_fts.rowid "  # noqa: S608 - constant
                "JOIN feeds f ON f.id = i.feed_id LEFT JOIN alerts a ON a.id = i.alert_id "
                "WHERE items_fts MATCH ? ORDER BY i.published DESC LIMIT ? OFFSET ?",
                (fts_query(fold(query)), limit, offset))
        return self._all(
            f"SELECT {cols} FROM items i JOIN feeds f ON f.id = i.feed_id LEFT JOIN alerts a ON a.id = i.alert_id "  # noqa: S608
            "ORDER BY i.published DESC, i.id DESC LIMIT ? OFFSET ?", (limit, offset))


    def item(self, item_id: int) -> dict[str, Any] | None:
        return self._one(
            "SELECT i.*, f.name AS feed, a.severity, a.state, a.keywords, a.rules, a.feeds AS alert_feeds "
            "FROM items i JOIN feeds f ON f.id = i.feed_id LEFT JOIN alerts a ON a.id = i.alert_id WHERE i.id = ?",
            (item_id,))

    def events_tail(self, limit: int = 200, *, after_id: int = 0) -> list[dict[str, Any]]:
        """The newest events (oldest first in the returned list), optionally only those after ``after_id``."""
        rows = self._all("SELECT * FROM events WHERE id > ? ORDER BY id DESC LIMIT ?", (after_id, limit))
        rows.reverse()
        return rows

    def status(self, *, disabled: Sequence[str] = ()) -> dict[str, Any]:
        """Header figures in one snapshot; feeds named in ``disabled`` (``enabled = false``) count as off, not failing."""
        marks = ", ".join("?" * len(disabled))
        skip = f" AND name NOT IN ({marks})" if disabled else ""
        with self.snapshot() as conn:
            feeds = conn.execute(
                "SELECT count(*) AS total, sum(failures = 0 AND last_ok IS NOT NULL) AS ok, "  # noqa: S608 - placeholders
                f"sum(failures > 0 OR gone) AS failing FROM feeds WHERE in_config = 1{skip}", tuple(disabled)).fetchone()
            alerts = conn.execute(
                "SELECT sum(state = 'new') AS new, sum(state = 'pinned') AS pinned, "
                "sum(seen_at IS NULL AND state != 'dismissed') AS unseen FROM alerts").fetchone()
            last = conn.execute("SELECT time FROM events WHERE kind = 'poll_finished' ORDER BY id DESC LIMIT 1"
                                ).fetchone()
            last = last[0] if last else None
        return {"feeds": feeds["total"] or 0, "feeds_ok": feeds["ok"] or 0, "feeds_failing": feeds["failing"] or 0,
                "alerts_new": alerts["new"] or 0, "alerts_pinned": alerts["pinned"] or 0,
                "alerts_unseen": alerts["unseen"] or 0, "feeds_disabled": len(disabled), "last_poll": last}

    def alerts_per_hour(self, hours: int = 24, *, now: datetime | None = None) -> list[int]:
        """Alert counts per hour for the sparkline, oldest first."""
        now = now or utcnow()
        start = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=hours - 1)
        counts = [0] * hours
        for row in self.conn.execute("SELECT substr(created, 1, 13) AS h, count(*) AS n FROM alerts "
                                     "WHERE created >= ? GROUP BY h", (iso(start),)):
            idx = int((datetime.strptime(row["h"], "%Y-%m-%dT%H").replace(tzinfo=start.tzinfo) - start)
                      .total_seconds() // 3600)
            if 0 <= idx < hours:
                counts[idx] = row["n"]
        return counts

    def change_marker(self) -> tuple[int, int]:
        """Cheap 'did anything change' check for the UI: (data_version, newest event id).

        ``PRAGMA data_version`` changes when another connection commits; the
        event id catches this connection's own writes.
        """
        version = self.conn.execute("PRAGMA data_version").fetchone()[0]
        newest = self.conn.execute("SELECT max(id) FROM events").fetchone()[0] or 0
        return int(version), int(newest)

    # -- streaming reads for export -------------------------------------------
    def iter_rows(self, table: str, *, since: str | None = None) -> Generator[dict[str, Any], None, None]:
        """Rows for export in time order, streamed from one read snapshot (constant memory)."""
        batches = self.iter_row_batches(table, since=since)
        try:
            for keys, batch in batches:
                for row in batch:
                    yield dict(zip(keys, row, strict=True))
        finally:
            batches.close()

    def iter_row_batches(self, table: str, *, since: str | None = None,
                         ) -> Generator[tuple[list[str], list[tuple[Any, ...]]], None, None]:
        """:meth:`iter_rows` as (column names, list of up to 1000 row tuples): no dict per row.

        The export writes cells straight from the tuples; a dict per row was ~15%
        of a 1M-row export.
        """
        queries = {
            "events": ("SELECT time, kind, feed, title, link, keywords, detail FROM events", "time", "id"),
            "alerts": ("SELECT a.id, a.created AS time, a.published, a.severity, a.keywords, a.rules, a.feeds, "
                       "f.name AS feed, a.title, a.link, a.state, a.surge FROM alerts a JOIN items i ON i.id = a.item_id "
                       "JOIN feeds f ON f.id = i.feed_id", "a.created", "a.id"),
            "items": ("SELECT i.id, f.name AS feed, i.published, i.title, i.link, i.summary FROM items i "
                      "JOIN feeds f ON f.id = i.feed_id", "i.published", "i.id"),
        }
        sql, time_col, order = queries[table]
        params: list[Any] = []
        if since:
            sql += f" WHERE {time_col} >= ?"
            params.append(since)
        sql += f" ORDER BY {order}"
        with self.snapshot() as conn:
            # Plain tuples: ~25% cheaper per row than dict(sqlite3.Row).
            cursor = conn.cursor()
            cursor.row_factory = None
            cursor.execute(sql, params)
            keys = [d[0] for d in cursor.description]
            while batch := cursor.fetchmany(1000):
                yield keys, batch


    # -- dashboard paging (added for the TUI; additions only) ---------------------------
    # ``alerts_page``/``items_page`` sort or join every skipped row, which costs
    # 130 ms at offset 25,000 of 50,000 alerts and 0.7 s at offset 999,900 of
    # 1M items. These windows seek through covering indexes first and join
    # only the rows shown, so any scroll position answers in a few ms.
    _ALERT_COLS = ("id, created, published, severity, keywords, rules, feeds, feed_count, title, link, state, "
                   "surge, item_id, seen_at")
    _ITEM_COLS = ("i.id, i.feed_id, f.name AS feed, i.published, i.fetched, i.title, i.link, i.alert_id, "
                  "a.severity, a.state, a.seen_at AS alert_seen_at")

    def pinned_count(self, *, min_severity: str = "low") -> int:
        return int(self.conn.execute("SELECT count(*) FROM alerts WHERE state = 'pinned' AND rank >= ?",
                                     (severity_rank(min_severity),)).fetchone()[0])

    def alerts_window(self, offset: int = 0, limit: int = 100, *, min_severity: str = "low",
                      show_dismissed: bool = False, sort: str = "time", query: Any = None,
                      pinned: int | None = None) -> list[dict[str, Any]]:
        """Same rows and order as :meth:`alerts_page`, without sorting every row first.

        Pinned and unpinned are read apart, each walking the (published, id) or
        (rank, published, id) index, so any scroll position answers in a few ms.
        ``pinned`` is :meth:`pinned_count` when the caller already has it.
        """
        if query is not None:
            return self.alerts_page(offset, limit, min_severity=min_severity, show_dismissed=show_dismissed,
                                    sort=sort, query=query)
        rank = severity_rank(min_severity)
        order = self._ORDERS[sort]
        if pinned is None:
            pinned = self.pinned_count(min_severity=min_severity)
        rows: list[dict[str, Any]] = []
        if offset < pinned:
            rows = self._all(f"SELECT {self._ALERT_COLS} FROM alerts WHERE state = 'pinned' AND rank >= ? "  # noqa: S608
                             f"ORDER BY {order} LIMIT ? OFFSET ?", (rank, limit, offset))
        rest = limit - len(rows)
        if rest > 0:
            states = "state != 'pinned'" if show_dismissed else "state = 'new'"
            rows += self._all(f"SELECT {self._ALERT_COLS} FROM alerts WHERE {states} AND rank >= ? "  # noqa: S608
                              f"ORDER BY {order} LIMIT ? OFFSET ?", (rank, rest, max(0, offset - pinned)))
        return rows

    def items_window(self, offset: int = 0, limit: int = 100) -> list[dict[str, Any]]:
        """Same rows and order as ``items_page(offset, limit)``: the offset walks the covering index only."""
        return self._all(
            f"SELECT {self._ITEM_COLS} FROM (SELECT id FROM items ORDER BY published DESC, id DESC LIMIT ? OFFSET ?) w "  # noqa: S608
            "JOIN items i ON i.id = w.id JOIN feeds f ON f.id = i.feed_id LEFT JOIN alerts a ON a.id = i.alert_id "
            "ORDER BY i.published DESC, i.id DESC", (limit, offset))

    # -- seen state, ordering and search for the dashboard (tui) ----------------------------------
    # An alert is *seen* once the user opened, pinned or dismissed it or moved the cursor
    # onto it; ``seen_at`` stays NULL until then, so what arrived while nobody looked stays
    # unseen. Seeing one alert is not an event (it happens on every key press); catching
    # up on all of them is (``caught_up``).
    def mark_seen(self, alert_id: int, *, now: datetime | None = None) -> bool:
        """Mark one alert seen; False when it was already seen (or does not exist)."""
        with self.write() as conn:
            cur = conn.execute("UPDATE alerts SET seen_at = ? WHERE id = ? AND seen_at IS NULL",
                               (iso(now or utcnow()), alert_id))
            return cur.rowcount == 1

    def catch_up(self, *, now: datetime | None = None) -> int:
        """Mark every alert seen; logs one ``caught_up`` event (none when nothing was unseen)."""
        now = now or utcnow()
        with self.write() as conn:
            count = conn.execute("UPDATE alerts SET seen_at = ? WHERE seen_at IS NULL", (iso(now),)).rowcount
            if count:
                self._event("caught_up", now=now, detail=f"{count} alert{'s' if count != 1 else ''} marked seen")
        return int(count)

    def ui_state(self, key: str) -> str | None:
        """A remembered dashboard setting (the theme), or None."""
        row = self.conn.execute("SELECT value FROM ui_state WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_ui_state(self, key: str, value: str) -> None:
        with self.write() as conn:
            conn.execute("INSERT INTO ui_state (key, value) VALUES (?, ?) "
                         "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, value))

    _ORDERS = {"time": "published DESC, id DESC", "severity": "rank DESC, published DESC, id DESC"}
    """Within pinned and within the rest: newest story first by its own (clamped) published time."""

    def _alert_where(self, min_severity: str, show_dismissed: bool, query: Any) -> tuple[str, list[Any]]:
        clauses = ["rank >= ?"]
        params: list[Any] = [severity_rank(min_severity)]
        if not show_dismissed:
            clauses.append("state != 'dismissed'")
        if query is not None:
            cond, cond_params = _plan_condition(query)
            clauses.append(f"id IN (SELECT i.alert_id FROM items i WHERE i.alert_id IS NOT NULL AND ({cond}))")  # noqa: S608 - placeholders only
            params += cond_params
        return " AND ".join(clauses), params

    def unseen_positions(self, *, min_severity: str = "low", show_dismissed: bool = False, sort: str = "time",
                         query: Any = None) -> list[int]:
        """Row numbers (0-based, in display order) of the unseen alerts a view shows, for ``n`` / ``N``."""
        where, params = self._alert_where(min_severity, show_dismissed, query)
        order = self._ORDERS[sort]
        sql = (f"SELECT n FROM (SELECT row_number() OVER (ORDER BY (state = 'pinned') DESC, {order}) - 1 AS n, "  # noqa: S608
               f"seen_at, state FROM alerts WHERE {where}) WHERE seen_at IS NULL AND state != 'dismissed' ORDER BY n")
        return [int(r[0]) for r in self.conn.execute(sql, params)]

    def search_items(self, query: Any, offset: int = 0, limit: int = 100) -> list[dict[str, Any]]:
        """Items a :class:`~crisiswatch.search.SearchPlan` finds, newest first."""
        cond, params = _plan_condition(query)
        return self._all(
            f"SELECT {self._ITEM_COLS} FROM items i JOIN feeds f ON f.id = i.feed_id "  # noqa: S608 - built from constants
            f"LEFT JOIN alerts a ON a.id = i.alert_id WHERE {cond} ORDER BY i.published DESC, i.id DESC "
            "LIMIT ? OFFSET ?", [*params, limit, offset])

    def count_search(self, query: Any) -> int:
        """How many items a search finds; ``query`` is a SearchPlan or (older callers) plain words."""
        if isinstance(query, str):
            return int(self.conn.execute("SELECT count(*) FROM items_fts WHERE items_fts MATCH ?",
                                         (fts_query(fold(query)),)).fetchone()[0])
        cond, params = _plan_condition(query)
        return int(self.conn.execute(f"SELECT count(*) FROM items i WHERE {cond}", params).fetchone()[0])  # noqa: S608


def _open_lock(path: Path) -> int | None:
    """The writers' turn lock beside the database; without one (read-only dir) SQLite's lock still protects."""
    if fcntl is None:
        return None
    try:
        return os.open(f"{path}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError:
        return None


def _story_keys(item: ParsedItem) -> list[str]:
    keys = []
    if item.link:
        keys.append("link:" + canonical_link(item.link))
    tkey = title_key(item.title)
    if len(tkey) >= 12:
        keys.append("title:" + tkey)
    return keys


def fts_query(text: str) -> str:
    """User words → a safe FTS5 query: every word quoted (no operators injected), prefix-matched.

    A word of five or more letters loses a final vowel first, so a search in
    the nominative also finds the declined forms of the region's languages
    (mitrovica → mitrovic* finds Mitrovici, Mitrovicës; jarinje → Jarinju).
    """
    words = []
    for word in text.split():
        word = word.replace('"', "")
        if len(word) >= 5 and word[-1] in "aeiou":
            word = word[:-1]
        if word:
            words.append(f'"{word}"*')
    return " ".join(words) or '""'


def _fts_text(words: Sequence[str], phrases: Sequence[str]) -> str:
    """Free words (folded, prefix-matched) and quoted phrases as one FTS5 expression (all must match)."""
    parts = [fts_query(fold(w)) for w in words if fold(w).strip()]
    for phrase in phrases:
        folded = " ".join(fold(phrase).replace('"', " ").split())
        if folded:
            parts.append(f'"{folded}"')
    return " ".join(p for p in parts if p != '""')


def _plan_condition(plan: Any) -> tuple[str, list[Any]]:
    """SQL over ``items i`` for a search plan: alternatives OR'ed, each one's parts AND'ed.

    A keyword is found through the alerts it raised (the matcher already decided,
    in every spelling and script) or, for items stored before the keyword was
    configured, through its term and aliases in the folded full-text index.
    """
    alternatives: list[tuple[str, list[Any]]] = []
    for alt in plan.alternatives:
        conds: list[str] = []
        params: list[Any] = []
        spellings = alt.spellings or tuple((k,) for k in alt.keywords)
        for keyword, names in zip(alt.keywords, spellings, strict=False):
            fts = " OR ".join(f'"{f}"*' for f in (" ".join(fold(n).replace('"', " ").split()) for n in names) if f)
            by_alert = "i.alert_id IN (SELECT id FROM alerts WHERE instr('; ' || keywords || '; ', ?) > 0)"
            by_text = " OR i.id IN (SELECT rowid FROM items_fts WHERE items_fts MATCH ?)" if fts else ""
            conds.append(f"({by_alert}{by_text})")
            params.append(f"; {keyword}; ")
            if fts:
                params.append(fts)
        text = _fts_text(alt.words, alt.phrases)
        if text:
            conds.append("i.id IN (SELECT rowid FROM items_fts WHERE items_fts MATCH ?)")
            params.append(text)
        if conds:
            alternatives.append(("(" + " AND ".join(conds) + ")", params))
    if not alternatives:
        return "0", []
    return "(" + " OR ".join(a for a, _ in alternatives) + ")", [p for _, ps in alternatives for p in ps]


def _human_seconds(seconds: float) -> str:
    if seconds % 3600 == 0:
        return f"{int(seconds // 3600)}h"
    if seconds % 60 == 0:
        return f"{int(seconds // 60)}m"
    return f"{int(seconds)}s"


def _split_sql(script: str) -> list[str]:
    """Split a migration into statements, keeping trigger bodies whole."""
    statements, buf = [], []
    for line in script.strip().splitlines():
        buf.append(line)
        joined = "\n".join(buf).strip()
        if joined.endswith(";") and sqlite3.complete_statement(joined):
            statements.append(joined)
            buf = []
    if "".join(buf).strip():
        statements.append("\n".join(buf))
    return statements


__all__ = ["EVENT_KINDS", "SCHEMA_VERSION", "SEVERITIES", "FeedOutcome", "Store", "StoreError", "fts_query"]
