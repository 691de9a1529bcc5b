"""The schema: DDL and forward migrations (``PRAGMA user_version`` counts those applied)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import StoreError

if TYPE_CHECKING:
    from .connection import Connection

ALERT_STATES = ("new", "pinned", "dismissed")

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

_SCHEMA_FEED_HOLDS = """
ALTER TABLE feeds ADD COLUMN hold_until TEXT;
ALTER TABLE feeds ADD COLUMN hold_kind TEXT;
ALTER TABLE feeds ADD COLUMN hold_reason TEXT;
"""
"""A server's hold-off on a feed, apart from the user's schedule (``next_poll``): until when, why
(``retry-after`` for a 429/503's Retry-After, ``backoff`` after failures) and the reason shown to
the user. ``poll --once`` and the TUI's refresh override the interval, never this; it lives here so
that a cron job running ``poll --once`` every minute honours it across processes."""

_SCHEMA_STORIES = """
ALTER TABLE alerts ADD COLUMN languages TEXT NOT NULL DEFAULT '';
ALTER TABLE alert_feeds ADD COLUMN language TEXT NOT NULL DEFAULT '';
CREATE TABLE story_members (
    item_id INTEGER PRIMARY KEY REFERENCES items(id) ON DELETE CASCADE,
    alert_id INTEGER NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
    published TEXT NOT NULL,
    seen TEXT NOT NULL,
    features TEXT NOT NULL,
    why TEXT NOT NULL DEFAULT ''
);
CREATE INDEX story_members_alert ON story_members (alert_id, item_id);
CREATE TABLE story_terms (
    term TEXT NOT NULL,
    published TEXT NOT NULL,
    item_id INTEGER NOT NULL REFERENCES story_members(item_id) ON DELETE CASCADE,
    PRIMARY KEY (term, published, item_id)
) WITHOUT ROWID;
CREATE INDEX story_terms_item ON story_terms (item_id);
DROP VIEW alerts_view;
CREATE VIEW alerts_view AS
    SELECT a.id, a.created AS time, a.published, a.severity, a.keywords, a.rules, a.feeds, a.feed_count,
           a.languages, a.title, a.link, a.state, a.state_changed, a.surge, f.name AS first_feed, i.summary
    FROM alerts a JOIN items i ON i.id = a.item_id JOIN feeds f ON f.id = i.feed_id;
"""
"""Cross-language stories (``store/stories.py``, ``cluster.py``): the languages each alert was carried in,
and, per item that opened or joined a story by clustering, its features and why it joined."""


_SCHEMA_SEEN = """
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


MIGRATIONS: tuple[str, ...] = (_SCHEMA_V1, _SCHEMA_FEED_HOLDS, _SCHEMA_STORIES, _SCHEMA_SEEN)
"""Forward migrations; ``PRAGMA user_version`` is how many have been applied."""

SCHEMA_VERSION = len(MIGRATIONS)


def split_sql(script: str) -> list[str]:
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



def check_version(conn: sqlite3.Connection, path: Path) -> int:
    """The database's schema version; a newer one than this code knows is refused, not misread."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"{path}: this database was written by a newer crisiswatch (schema {version}; this "
            f"version knows up to {SCHEMA_VERSION}). Upgrade crisiswatch, or pass --db to another file."
        )
    return version


def migrate(store: Connection) -> None:
    """Apply the migrations the database lacks, in one write transaction."""
    with store.write():
        version = check_version(store.conn, store.path)
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            for statement in split_sql(script):
                store.conn.execute(statement)
            store.conn.execute(f"PRAGMA user_version = {number}")


__all__ = ["ALERT_STATES", "MIGRATIONS", "SCHEMA_VERSION", "check_version", "migrate"]
