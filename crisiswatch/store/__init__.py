"""SQLite, the single source of truth: feeds, items, alerts, stories, events.

:class:`Store` is the one facade; its parts live beside it:

- :mod:`.connection` — WAL, the writers' ``flock`` turn, busy handling, transactions;
- :mod:`.schema` — DDL and forward migrations;
- :mod:`.events` — the event kinds and the event log;
- :mod:`.ingest` — the poll's write path (``record_results``: feeds batched, a savepoint each);
- :mod:`.stories` — :class:`StoryPolicy`, grouping items into stories and raising surges;
- :mod:`.queries` — the UI's and the exports' reads;
- :mod:`.actions` — the user's pin / dismiss / restore / re-enable.

Writes are short ``BEGIN IMMEDIATE`` transactions (a poll's results batched up
to 32 feeds, a savepoint per feed), so a ``kill -9`` at any instant loses
nothing committed, and two crisiswatch processes on one file (the TUI and a
headless ``poll``) serialise instead of double-alerting: item identity is a
UNIQUE constraint checked inside the same transaction that raises the alert.
Readers (TUI, export) see WAL snapshots and never block writers.
"""

from __future__ import annotations

from ..errors import StoreError
from ..models import SEVERITIES
from .actions import Actions
from .connection import BUSY_TIMEOUT_MS
from .events import EVENT_KINDS
from .ingest import FeedOutcome, Ingest
from .queries import AlertRow, EventRow, ItemRow, fts_query
from .schema import ALERT_STATES, MIGRATIONS, SCHEMA_VERSION
from .stories import StoryPolicy


class Store(Ingest, Actions):
    """One connection to the database; use one Store per thread."""


__all__ = ["ALERT_STATES", "BUSY_TIMEOUT_MS", "EVENT_KINDS", "MIGRATIONS", "SCHEMA_VERSION", "SEVERITIES",
           "AlertRow", "EventRow", "FeedOutcome", "ItemRow", "Store", "StoreError", "StoryPolicy", "fts_query"]
