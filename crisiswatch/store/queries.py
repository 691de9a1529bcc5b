"""Reads: the dashboard's pages and windows, detail rows, header figures, streamed exports."""

from __future__ import annotations

from collections.abc import Generator, Sequence
from datetime import datetime, timedelta
from typing import Any, TypedDict, cast

from ..fold import fold
from ..models import from_iso, iso, severity_rank, utcnow
from .connection import Connection
from .lists import SEPARATOR, split, with_lists


class AlertRow(TypedDict):
    """A row of :meth:`Queries.alerts_page`: the stored columns, and the lists decoded once here."""

    id: int
    created: str
    published: str
    severity: str
    keywords: str
    rules: str
    feeds: str
    feed_count: int
    title: str
    link: str | None
    state: str
    surge: int
    item_id: int
    seen_at: str | None
    """When the user first looked at it (opened, pinned, dismissed, moved onto); None: unseen."""
    keywords_list: tuple[str, ...]
    rules_list: tuple[str, ...]
    feeds_list: tuple[str, ...]


class ItemRow(TypedDict):
    """A row of :meth:`Queries.items_page` (``severity``/``state`` are its alert's, or None)."""

    id: int
    feed_id: int
    feed: str
    published: str
    fetched: str
    title: str
    link: str | None
    alert_id: int | None
    severity: str | None
    state: str | None
    alert_seen_at: str | None


class EventRow(TypedDict):
    """A row of :meth:`Queries.events_tail`."""

    id: int
    time: str
    kind: str
    feed_id: int | None
    feed: str | None
    alert_id: int | None
    item_id: int | None
    title: str | None
    link: str | None
    keywords: str | None
    detail: str
    keywords_list: tuple[str, ...]


class Queries(Connection):
    """Every read the UI and the exports make."""

    def table_counts(self) -> dict[str, int]:
        """Rows per table, for ``check``; the FTS index and its shadow tables are skipped.

        Plain SQL rather than sqlite-utils, whose import (click, dateutil, pluggy: ~50 ms) would
        otherwise be most of what ``check`` spends before it prints.
        """
        names = [name for (name,) in self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
                 if not name.startswith("items_fts")]
        quoted = {name: '"' + name.replace('"', '""') + '"' for name in names}
        return {name: int(self.conn.execute(f"SELECT count(*) FROM {quoted[name]}").fetchone()[0])  # noqa: S608 - a table name from sqlite_master, quoted
                for name in names}

    def feed(self, feed_id: int) -> dict[str, Any] | None:
        return self._one("SELECT * FROM feeds WHERE id = ?", (feed_id,))

    def feeds(self, *, in_config_only: bool = True) -> list[dict[str, Any]]:
        where = "WHERE in_config = 1" if in_config_only else ""
        return self._all(f"SELECT * FROM feeds {where} ORDER BY name COLLATE NOCASE")  # noqa: S608 - constant

    def alert(self, alert_id: int) -> dict[str, Any] | None:
        """One alert with its first item's summary, feed id and feed name, and its decoded lists."""
        row = self._one(
            "SELECT a.*, i.summary, i.feed_id, f.name AS feed FROM alerts a JOIN items i ON i.id = a.item_id "
            "JOIN feeds f ON f.id = i.feed_id WHERE a.id = ?", (alert_id,))
        if row is None:
            return None
        return with_lists(row)

    def count_alerts(self, *, min_severity: str = "low", show_dismissed: bool = False, sort: str = "time",
                     query: Any = None) -> int:
        where, params = self._alert_where(min_severity, show_dismissed, query)
        return int(self.conn.execute(f"SELECT count(*) FROM alerts WHERE {where}", params).fetchone()[0])  # noqa: S608

    def count_items(self) -> int:
        row = self.conn.execute("SELECT max(id) FROM items").fetchone()
        if row[0] is None:
            return 0
        return int(self.conn.execute("SELECT count(*) FROM items").fetchone()[0])


    def item(self, item_id: int) -> dict[str, Any] | None:
        """One item with its alert's severity, state, keywords and rules (``None`` and ``[]`` without one),
        the languages the story was carried in, and every outlet with its language (``alert_outlets``)."""
        row = self._one(
            "SELECT i.*, f.name AS feed, a.severity, a.state, a.keywords, a.rules, a.feeds AS alert_feeds, "
            "a.languages AS alert_languages, (SELECT group_concat(o, ?) FROM (SELECT f2.name || "
            "CASE WHEN af.language != '' THEN ' (' || af.language || ')' ELSE '' END AS o FROM alert_feeds af "
            "JOIN feeds f2 ON f2.id = af.feed_id WHERE af.alert_id = a.id ORDER BY af.seen, af.feed_id)) AS alert_outlets "
            "FROM items i JOIN feeds f ON f.id = i.feed_id LEFT JOIN alerts a ON a.id = i.alert_id WHERE i.id = ?",
            (SEPARATOR, item_id))
        if row is not None:
            with_lists(row)
            row["alert_feeds_list"] = tuple(split(row["alert_feeds"]))
            row["alert_outlets_list"] = tuple(split(row["alert_outlets"]))
        return row

    def events_tail(self, limit: int = 200, *, after_id: int = 0) -> list[EventRow]:
        """The newest events (oldest first in the returned list), optionally only those after ``after_id``."""
        rows = self._all("SELECT * FROM events WHERE id > ? ORDER BY id DESC LIMIT ?", (after_id, limit))
        rows.reverse()
        for row in rows:
            row["keywords_list"] = tuple(split(row["keywords"]))
        return cast("list[EventRow]", rows)

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
            idx = int((from_iso(row["h"]) - start).total_seconds() // 3600)
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
                       "a.languages, f.name AS feed, a.title, a.link, a.state, a.surge FROM alerts a "
                       "JOIN items i ON i.id = a.item_id JOIN feeds f ON f.id = i.feed_id", "a.created", "a.id"),
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

    # -- dashboard paging ----------------------------------------------------
    # A plain ORDER BY ... LIMIT ? OFFSET ? sorts or joins every skipped row,
    # which costs 130 ms at offset 25,000 of 50,000 alerts and 0.7 s at offset
    # 999,900 of 1M items. These pages seek through covering indexes first and
    # join only the rows shown, so any scroll position answers in a few ms.
    _ALERT_COLS = ("id, created, published, severity, keywords, rules, feeds, feed_count, title, link, state, "
                   "surge, item_id, seen_at")
    _ITEM_COLS = ("i.id, i.feed_id, f.name AS feed, i.published, i.fetched, i.title, i.link, i.alert_id, "
                  "a.severity, a.state, a.seen_at AS alert_seen_at")

    def pinned_count(self, *, min_severity: str = "low") -> int:
        return int(self.conn.execute("SELECT count(*) FROM alerts WHERE state = 'pinned' AND rank >= ?",
                                     (severity_rank(min_severity),)).fetchone()[0])

    def alerts_page(self, offset: int = 0, limit: int = 100, *, min_severity: str = "low",
                    show_dismissed: bool = False, sort: str = "time", query: Any = None,
                    pinned: int | None = None) -> list[AlertRow]:
        """Alerts at or above ``min_severity``: pinned first, then the newest story first (``sort="time"``,
        by the item's own clamped published time) or the most severe first; a page at a time.

        Pinned and unpinned are read apart, each walking the (published, id) or
        (rank, published, id) index, so any scroll position answers in a few ms.
        A search (``query``, a :class:`~crisiswatch.search.SearchPlan`) filters
        first. Each row has the stored ``keywords``/``rules``/``feeds`` strings
        and their lists (``keywords_list``…). ``pinned`` is :meth:`pinned_count`
        when the caller already has it.
        """
        if query is not None:
            where, params = self._alert_where(min_severity, show_dismissed, query)
            return [cast(AlertRow, with_lists(row)) for row in self._all(
                f"SELECT {self._ALERT_COLS} FROM alerts WHERE {where} "  # noqa: S608
                f"ORDER BY (state = 'pinned') DESC, {self._ORDERS[sort]} LIMIT ? OFFSET ?",
                [*params, limit, offset])]
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
        return [cast(AlertRow, with_lists(row)) for row in rows]

    def items_page(self, offset: int = 0, limit: int = 100, *, query: str | None = None) -> list[ItemRow]:
        """Headlines newest first, or full-text search results (FTS5, newest first) for ``query``.

        Without a query the offset walks the covering index only.
        """
        if query:
            return cast("list[ItemRow]", self._all(
                f"SELECT {self._ITEM_COLS} FROM items_fts JOIN items i ON i.id = items_fts.rowid "  # noqa: S608 - constant
                "JOIN feeds f ON f.id = i.feed_id LEFT JOIN alerts a ON a.id = i.alert_id "
                "WHERE items_fts MATCH ? ORDER BY i.published DESC LIMIT ? OFFSET ?",
                (fts_query(fold(query)), limit, offset)))
        return cast("list[ItemRow]", self._all(
            f"SELECT {self._ITEM_COLS} "  # noqa: S608 - constant
            "FROM (SELECT id FROM items ORDER BY published DESC, id DESC LIMIT ? OFFSET ?) w "
            "JOIN items i ON i.id = w.id JOIN feeds f ON f.id = i.feed_id LEFT JOIN alerts a ON a.id = i.alert_id "
            "ORDER BY i.published DESC, i.id DESC", (limit, offset)))

    # -- order, unseen positions and search for the dashboard -------------------------------------
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
            fts = " OR ".join(f'"{f}"' for f in (" ".join(fold(n).replace('"', " ").split()) for n in names) if f)
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


__all__ = ["AlertRow", "EventRow", "ItemRow", "Queries", "fts_query"]
