"""Store.record_results: several feed results in one transaction, a savepoint per feed.

Real SQLite files in tmp dirs; what was committed is always read back through a
separate ``sqlite3`` connection to the file, never through the Store itself.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from faultserver import FaultServer

from crisiswatch.config import Config, Feed, Keyword, Settings
from crisiswatch.models import Assessment, FetchResult, ParsedFeed, ParsedItem
from crisiswatch.poller import MAX_BATCH, Poller
from crisiswatch.store import FeedOutcome, Store, StoreError

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
SETTINGS = Settings()
NAMES = [f"Feed {n}" for n in "ABCDE"]


def item(key: str, title: str, link: str | None = None, minutes: int = 0) -> ParsedItem:
    return ParsedItem(key=key, title=title, link=link, guid=key, summary="", author=None,
                      published=NOW - timedelta(minutes=minutes))


def verdict(*keywords: str, severity: str = "medium") -> Assessment:
    return Assessment(hits=(), keywords=tuple(sorted(keywords)), severity=severity, rules=())


def ok(etag: str = '"v1"') -> FetchResult:
    return FetchResult(url="https://x.example/rss", status=200, body=b"<rss/>", etag=etag)


def open_store(path: Path) -> Store:
    store = Store.open(path)
    store.sync_feeds([Feed(name, f"https://{name[-1].lower()}.example/rss") for name in NAMES])
    return store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = open_store(tmp_path / "cw.db")
    yield s
    s.close()


def ids(store: Store) -> dict[str, int]:
    return {r["name"]: r["id"] for r in store.feeds()}


def call(feed_id: int, items: list[ParsedItem], verdicts: list[Assessment | None], *,
         result: FetchResult | None = None, now: datetime = NOW) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """One (args, kwargs) pair for Store.record_result."""
    return ((feed_id, result or ok(), ParsedFeed("t", tuple(items)), verdicts),
            {"settings": SETTINGS, "next_poll": now + timedelta(minutes=5), "now": now})


def fresh(path: Path) -> sqlite3.Connection:
    """A second connection to the file: it sees only what was committed."""
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    return conn


def committed(path: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    conn = fresh(path)
    try:
        return [tuple(r) for r in conn.execute(sql, params)]
    finally:
        conn.close()


def feed_row(path: Path, feed_id: int) -> dict[str, Any]:
    conn = fresh(path)
    try:
        return dict(conn.execute("SELECT * FROM feeds WHERE id = ?", (feed_id,)).fetchone())
    finally:
        conn.close()


def scenario(fid: dict[str, int]) -> list[tuple[tuple[Any, ...], dict[str, Any]]]:
    """Five feeds: plain items, one story carried by three outlets (grouping and a surge), a repeat, a 304."""
    story = "https://birn.example/story?id=7"
    return [
        call(fid["Feed A"], [item("a1", "KFOR patrols the Ibar bridge", "https://n.example/a1"),
                             item("a2", "Weather in Niš"),
                             item("a3", "Roadblock near Jarinje", story)],
             [verdict("Ibar", "KFOR", severity="high"), None, verdict("roadblock")]),
        call(fid["Feed B"], [item("b1", "Roadblock near Jarinje", story + "&utm_source=x"),
                             item("b2", "Vučić meets EU envoy")],
             [verdict("roadblock"), verdict("Vučić")], now=NOW + timedelta(minutes=1)),
        call(fid["Feed C"], [item("c1", "Roadblock near Jarinje", story)], [verdict("roadblock")],
             now=NOW + timedelta(minutes=2)),
        # Feed A again inside the same batch: its items are already there (stored by an earlier savepoint).
        call(fid["Feed A"], [item("a1", "KFOR patrols the Ibar bridge", "https://n.example/a1"),
                             item("a4", "Markets steady")],
             [verdict("Ibar", "KFOR", severity="high"), None], now=NOW + timedelta(minutes=3)),
        call(fid["Feed D"], [], [], result=FetchResult(url="u", status=304, etag='"d"'),
             now=NOW + timedelta(minutes=4)),
    ]


def snapshot(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    return {
        "items": committed(path, "SELECT feed_id, key, title, link, alert_id FROM items ORDER BY id"),
        "alerts": committed(path, "SELECT id, item_id, severity, keywords, feeds, feed_count, surge, title "
                                  "FROM alerts ORDER BY id"),
        "events": committed(path, "SELECT time, kind, feed, alert_id, item_id, title, keywords, detail "
                                  "FROM events ORDER BY id"),
        "feeds": committed(path, "SELECT id, name, etag, last_status, fetch_count, items_count, failures, next_poll "
                                 "FROM feeds ORDER BY id"),
        "search": committed(path, "SELECT rowid FROM items_fts WHERE items_fts MATCH 'jarinje' ORDER BY rowid"),
    }


def test_batch_stores_every_feed_exactly_as_one_at_a_time_does(tmp_path: Path) -> None:
    single_db, batch_db = tmp_path / "single.db", tmp_path / "batch.db"
    single, batch = open_store(single_db), open_store(batch_db)
    try:
        assert ids(single) == ids(batch)
        calls = scenario(ids(single))
        one_by_one = [single.record_result(*args, **kwargs) for args, kwargs in calls]
        together = batch.record_results(calls)
    finally:
        single.close()
        batch.close()
    assert all(isinstance(o, FeedOutcome) for o in together), together
    assert [(o.status, o.new_items) for o in together] == [("ok", 3), ("ok", 2), ("ok", 1), ("ok", 1),
                                                            ("not_modified", 0)]
    assert [(o.status, o.new_items, o.new_alerts, o.error) for o in together] == \
        [(o.status, o.new_items, o.new_alerts, o.error) for o in one_by_one]
    assert [len(o.new_alerts) for o in together] == [2, 1, 0, 0, 0]  # b1 and c1 join a3's alert
    expected = snapshot(single_db)
    got = snapshot(batch_db)
    assert got == expected
    kinds = [e[1] for e in got["events"]]
    assert kinds.count("alert_new") == 3 and kinds.count("alert_grouped") == 2 and kinds.count("surge") == 1
    assert len(got["items"]) == 7 and len(got["search"]) == 3


def test_one_failing_call_is_rolled_back_alone(store: Store) -> None:
    fid = ids(store)
    path = store.path
    # Feed B has history, so "unchanged" means something.
    first = store.record_result(*call(fid["Feed B"], [item("b0", "Old news")], [None], result=ok('"b-old"'))[0],
                                **call(fid["Feed B"], [], [])[1])
    assert first.new_items == 1
    before = feed_row(path, fid["Feed B"])
    items_before = committed(path, "SELECT key FROM items WHERE feed_id = ?", (fid["Feed B"],))
    events_before = committed(path, "SELECT count(*) FROM events")[0][0]

    bad = call(fid["Feed B"],  # two items, one verdict: zip(strict=True) raises after the first item is inserted
               [item("b1", "KFOR at Jarinje"), item("b2", "Second")], [verdict("KFOR")],
               result=ok('"b-new"'), now=NOW + timedelta(minutes=1))
    outcomes = store.record_results([
        call(fid["Feed A"], [item("a1", "KFOR patrols the Ibar bridge")], [verdict("KFOR", severity="high")],
             now=NOW + timedelta(minutes=1)),
        bad,
        call(fid["Feed C"], [item("c1", "Weather"), item("c2", "Sport")], [None, None],
             now=NOW + timedelta(minutes=1)),
    ])

    assert isinstance(outcomes[0], FeedOutcome) and outcomes[0].new_items == 1 and len(outcomes[0].new_alerts) == 1
    assert isinstance(outcomes[1], ValueError)
    assert isinstance(outcomes[2], FeedOutcome) and outcomes[2].new_items == 2
    # The others are committed…
    assert committed(path, "SELECT key FROM items WHERE feed_id = ? ORDER BY key", (fid["Feed A"],)) == [("a1",)]
    assert committed(path, "SELECT key FROM items WHERE feed_id = ? ORDER BY key", (fid["Feed C"],)) == \
        [("c1",), ("c2",)]
    assert committed(path, "SELECT count(*) FROM alerts")[0][0] == 1
    # …and the failing feed is exactly as it was: no half-written item, alert, event or row update.
    assert feed_row(path, fid["Feed B"]) == before
    assert committed(path, "SELECT key FROM items WHERE feed_id = ?", (fid["Feed B"],)) == items_before
    assert committed(path, "SELECT count(*) FROM items_fts WHERE items_fts MATCH 'jarinje'")[0][0] == 0
    new_events = committed(path, "SELECT feed, kind FROM events WHERE id > ?", (events_before,))
    assert ("Feed B", "alert_new") not in new_events and ("Feed A", "alert_new") in new_events
    # The store is still usable (no transaction or savepoint left open).
    assert not store.conn.in_transaction
    again = store.record_results([call(fid["Feed B"], [item("b1", "KFOR at Jarinje")], [verdict("KFOR")],
                                       now=NOW + timedelta(minutes=2))])
    assert isinstance(again[0], FeedOutcome) and again[0].new_items == 1


def test_sqlite_error_in_one_call_keeps_the_others(store: Store) -> None:
    fid = ids(store)
    path = store.path
    before = feed_row(path, fid["Feed B"])
    unbindable = ParsedItem(key=["not", "bindable"], title="x", link=None, guid="g", summary="",  # type: ignore[arg-type]
                            author=None, published=NOW)
    outcomes = store.record_results([
        call(fid["Feed A"], [item("a1", "One")], [None]),
        ((fid["Feed B"], ok(), ParsedFeed("t", (item("b1", "Before the bad one"), unbindable)), [None, None]),
         {"settings": SETTINGS, "next_poll": NOW, "now": NOW, "search_texts": [("a", "b"), ("c", "d")]}),
        call(fid["Feed C"], [item("c1", "Three")], [None]),
    ])
    assert isinstance(outcomes[0], FeedOutcome) and isinstance(outcomes[2], FeedOutcome)
    assert isinstance(outcomes[1], sqlite3.Error | StoreError), outcomes[1]
    assert committed(path, "SELECT feed_id, key FROM items ORDER BY key") == [(fid["Feed A"], "a1"),
                                                                             (fid["Feed C"], "c1")]
    assert feed_row(path, fid["Feed B"]) == before


def test_batch_is_committed_when_it_returns(tmp_path: Path) -> None:
    path = tmp_path / "cw.db"
    store = open_store(path)
    watcher = fresh(path)  # opened before the batch, kept open: it must see the commit
    try:
        fid = ids(store)
        assert watcher.execute("SELECT count(*) FROM items").fetchone()[0] == 0
        calls = [call(fid[name], [item(f"{name}-{n}", f"{name} story {n}") for n in range(4)], [None] * 4)
                 for name in NAMES]
        outcomes = store.record_results(calls)
        assert [o.new_items for o in outcomes] == [4] * len(NAMES)  # type: ignore[union-attr]
        assert not store.conn.in_transaction
        assert watcher.execute("SELECT count(*) FROM items").fetchone()[0] == 4 * len(NAMES)
        assert dict(watcher.execute("SELECT name, items_count FROM feeds")) == dict.fromkeys(NAMES, 4)
        assert {r[0] for r in watcher.execute("SELECT etag FROM feeds")} == {'"v1"'}
    finally:
        watcher.close()
        store.close()
    # …and survives closing the Store: a brand-new connection after close sees it too.
    assert committed(path, "SELECT count(*) FROM items")[0][0] == 4 * len(NAMES)


def test_empty_batch_is_a_no_op(store: Store) -> None:
    assert store.record_results([]) == []
    assert not store.conn.in_transaction


def _disk_full_batch(store: Store) -> tuple[dict[str, int], list[FeedOutcome | Exception]]:
    fid = ids(store)
    big = [item(f"big{n}", "x" * 900 + str(n)) for n in range(300)]
    pages = store.conn.execute("PRAGMA page_count").fetchone()[0]
    store.conn.execute(f"PRAGMA max_page_count = {pages + 40}")
    try:
        outcomes = store.record_results([
            call(fid["Feed A"], [item("a1", "small one")], [None]),
            call(fid["Feed B"], big, [None] * len(big)),
            call(fid["Feed C"], [item("c1", "small three")], [None]),
        ])
    finally:
        store.conn.execute("PRAGMA max_page_count = 1073741823")
    return fid, outcomes


def test_disk_full_in_one_feed_outcomes_match_what_was_committed(store: Store) -> None:
    """Whatever a disk-full feed does to its batch, an entry reported as failed must have stored nothing."""
    fid, outcomes = _disk_full_batch(store)
    assert isinstance(outcomes[1], Exception)
    assert feed_row(store.path, fid["Feed B"])["fetch_count"] == 0
    for name, outcome in zip(["Feed A", "Feed B", "Feed C"], outcomes, strict=True):
        stored = feed_row(store.path, fid[name])["fetch_count"] == 1
        assert stored == isinstance(outcome, FeedOutcome), (name, outcome, stored)


def test_disk_full_in_one_feed_keeps_the_others(store: Store) -> None:
    fid, outcomes = _disk_full_batch(store)
    assert isinstance(outcomes[0], FeedOutcome) and isinstance(outcomes[2], FeedOutcome), outcomes
    assert committed(store.path, "SELECT key FROM items ORDER BY key") == [("a1",), ("c1",)]


def test_disk_full_alone_is_a_clear_store_error(store: Store) -> None:
    fid = ids(store)
    big = [item(f"big{n}", "x" * 900 + str(n)) for n in range(300)]
    pages = store.conn.execute("PRAGMA page_count").fetchone()[0]
    store.conn.execute(f"PRAGMA max_page_count = {pages + 40}")
    try:
        with pytest.raises(StoreError, match="disk is full"):
            store.record_result(*call(fid["Feed B"], big, [None] * len(big))[0],
                                **call(fid["Feed B"], [], [])[1])
    finally:
        store.conn.execute("PRAGMA max_page_count = 1073741823")


def test_disk_full_in_a_batch_is_a_clear_store_error(store: Store) -> None:
    """record_result alone says "the disk is full" (StoreError); inside a batch it should say the same."""
    _, outcomes = _disk_full_batch(store)
    assert isinstance(outcomes[1], StoreError), f"{type(outcomes[1]).__name__}: {outcomes[1]}"
    assert "disk is full" in str(outcomes[1])


def test_failed_commit_gives_every_call_the_error(store: Store) -> None:
    """If COMMIT itself fails, each feed is redone alone; when those commits fail too, nothing is stored."""
    fid = ids(store)
    path = store.path
    conn = store.conn
    committing = False

    def trace(sql: str) -> None:
        nonlocal committing
        committing = sql.strip().upper() == "COMMIT"

    conn.set_trace_callback(trace)
    conn.set_progress_handler(lambda: 1 if committing else 0, 1)  # interrupt the COMMIT statement only
    try:
        outcomes = store.record_results([call(fid["Feed A"], [item("a1", "One")], [None]),
                                         call(fid["Feed C"], [item("c1", "Three")], [None])])
    finally:
        conn.set_progress_handler(None, 1)
        conn.set_trace_callback(None)
    assert len(outcomes) == 2
    assert all(isinstance(o, StoreError) for o in outcomes), outcomes
    assert not conn.in_transaction
    assert committed(path, "SELECT count(*) FROM items")[0][0] == 0
    assert feed_row(path, fid["Feed A"])["fetch_count"] == 0


# -- through the poller: Poller._record / _drain hand queued results to record_results ------------------

POLL_KEYWORDS = (Keyword("KFOR", severity="high"), Keyword("Ibar"))
GATE_TIMEOUT = 30.0


class GatedStore(Store):
    """A real Store that notes each batch and can hold the first one until the rest have queued.

    Holding the writer thread on its first batch until every other result has
    queued makes the later batches deterministic (MAX_BATCH at a time, then the
    rest) instead of depending on how fast feeds arrive.
    ``fail_in`` = (batch number, position) makes that one record_result raise (the injected fault).
    """

    poller: Poller | None = None
    hold_until_queued: int = 0
    """Total results (this first batch plus those queued behind it) to wait for."""
    fail_in: tuple[int, int] | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.batches: list[list[int]] = []
        self.queued: list[int] = []
        self.fail_id: int | None = None

    def record_results(self, calls):  # type: ignore[no-untyped-def]
        if self.poller is not None:
            self.queued.append(len(calls) + len(self.poller._pending))
        if not self.batches and self.hold_until_queued and self.poller is not None:
            deadline = time.monotonic() + GATE_TIMEOUT
            while len(calls) + len(self.poller._pending) < self.hold_until_queued and time.monotonic() < deadline:
                time.sleep(0.005)
        if self.fail_in is not None and len(self.batches) == self.fail_in[0]:
            self.fail_id = calls[self.fail_in[1]][0][0]
        self.batches.append([args[0] for args, _ in calls])
        return super().record_results(calls)

    def record_result(self, feed_id, *args, **kwargs):  # type: ignore[no-untyped-def]
        if feed_id == self.fail_id:
            raise RuntimeError(f"injected store fault for feed {feed_id}")
        return super().record_result(feed_id, *args, **kwargs)


def poll_config(server: FaultServer, count: int, tag: str) -> Config:
    feeds = tuple(Feed(f"f{i:03d}", server.url(f"/rss?n={1 + i % 4}&tag={tag}-{i}")) for i in range(count))
    return Config(None, Settings(timeout=20.0, per_host_connections=8), feeds, POLL_KEYWORDS)


def expected_items(name: str) -> int:
    return 1 + int(name[1:]) % 4


def items_per_feed(path: Path) -> dict[str, int]:
    return dict(committed(path, "SELECT f.name, count(i.id) FROM feeds f LEFT JOIN items i ON i.feed_id = f.id "
                                "GROUP BY f.id"))


def test_poll_of_more_feeds_than_a_batch_stores_every_feed(fault_server: FaultServer, tmp_path: Path) -> None:
    count = 2 * MAX_BATCH + 16
    config = poll_config(fault_server, count, f"batch-{tmp_path.name}")
    path = tmp_path / "cw.db"
    store = GatedStore.open(path)
    poller = Poller(config, store, workers=1)
    # At most 2 x max_connections feeds are between "fetch started" and "stored" (the poller's
    # memory bound), so that is all that can queue behind a held first batch.
    in_flight = 2 * config.settings.max_connections
    assert count > in_flight
    store.poller, store.hold_until_queued = poller, in_flight
    try:
        summary = asyncio.run(asyncio.wait_for(poller.poll_once(), 120))
    finally:
        poller.close()
    sizes = [len(b) for b in store.batches]
    # The held first batch, then a full one from the results queued behind it (feeds whose slots
    # the first batch freed join the queue meanwhile, so later sizes depend on timing).
    assert 1 <= sizes[0] <= MAX_BATCH and sizes[1] == MAX_BATCH, sizes
    assert max(sizes) == MAX_BATCH and sum(sizes) == count, sizes
    assert max(store.queued) <= in_flight, "more feeds in flight than the poller's bound"
    assert sorted(fid for b in store.batches for fid in b) == sorted(poller._feed_ids.values())
    assert summary.feeds == count and summary.ok == count and summary.errors == 0, summary.line()
    assert {r.name: r.new_items for r in summary.reports} == {f.name: expected_items(f.name) for f in config.feeds}
    assert all(r.status == "ok" and r.http_status == 200 and r.items == r.new_items for r in summary.reports)
    assert summary.new_items == sum(expected_items(f.name) for f in config.feeds)
    assert summary.new_alerts == committed(path, "SELECT count(*) FROM alerts")[0][0] > 0
    assert items_per_feed(path) == {f.name: expected_items(f.name) for f in config.feeds}
    assert set(committed(path, "SELECT fetch_count, failures, last_status FROM feeds")) == {(1, 0, 200)}

    # The same feeds again, ungated: nothing new, every feed still ok.
    poller = Poller(config, store, workers=1)
    try:
        again = asyncio.run(asyncio.wait_for(poller.poll_once(), 120))
    finally:
        poller.close()
        store.close()
    assert again.ok == count and again.errors == 0 and again.new_items == 0 and again.new_alerts == 0
    assert all(r.new_items == 0 and r.items == expected_items(r.name) for r in again.reports)
    assert all(len(b) <= MAX_BATCH for b in store.batches)
    assert sum(len(b) for b in store.batches) == 2 * count
    assert items_per_feed(path) == {f.name: expected_items(f.name) for f in config.feeds}


def test_one_feeds_store_fault_does_not_lose_its_batch(fault_server: FaultServer, tmp_path: Path) -> None:
    count = 2 * MAX_BATCH  # the second batch is always a full one, whatever the first holds
    config = poll_config(fault_server, count, f"fault-{tmp_path.name}")
    path = tmp_path / "cw.db"
    store = GatedStore.open(path)
    poller = Poller(config, store, workers=1)
    store.poller, store.hold_until_queued, store.fail_in = poller, count, (1, 5)
    try:
        with pytest.raises(RuntimeError, match="injected store fault"):  # poll_once raises a store failure, as before
            asyncio.run(asyncio.wait_for(poller.poll_once(), 120))
    finally:
        poller.close()
        store.close()
    # Once the fault reaches poll_once it stops the poll; a third batch may or may not get written after that.
    assert 1 <= len(store.batches[0]) and len(store.batches[1]) == MAX_BATCH
    failed = store.fail_id
    assert failed is not None and failed in store.batches[1]
    names = {fid: name for name, fid in poller._feed_ids.items()}
    stored = items_per_feed(path)
    for fid in store.batches[0] + store.batches[1]:
        name = names[fid]
        assert stored[name] == (0 if fid == failed else expected_items(name)), name
    rows = {r[0]: r[1:] for r in committed(path, "SELECT id, fetch_count, last_status, etag FROM feeds")}
    assert rows[failed] == (0, None, None)
    assert all(rows[fid] == (1, 200, None) for fid in store.batches[0] + store.batches[1] if fid != failed)


class HeldStore(Store):
    """A real Store whose batches wait at the door until the test lets them through, noting that one has begun."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.committing = threading.Event()
        self.release = threading.Event()

    def record_results(self, calls):  # type: ignore[no-untyped-def]
        self.committing.set()
        self.release.wait(GATE_TIMEOUT)
        return super().record_results(calls)


def test_a_poll_cancelled_mid_batch_does_not_hang_the_next(fault_server: FaultServer, tmp_path: Path) -> None:
    """Cancelling poll_once closes its loop under the writer thread; the next poll must still finish."""
    config = poll_config(fault_server, 6, f"cancel-{tmp_path.name}")
    store = HeldStore.open(tmp_path / "cw.db")
    poller = Poller(config, store, workers=1)

    async def cancelled_mid_batch() -> None:
        poll = asyncio.ensure_future(poller.poll_once())
        assert await asyncio.to_thread(store.committing.wait, GATE_TIMEOUT), "no batch ever reached the store"
        poll.cancel()
        with pytest.raises(asyncio.CancelledError):
            await poll

    try:
        asyncio.run(cancelled_mid_batch())  # its loop is closed while the writer is inside a batch
        store.release.set()
        deadline = time.monotonic() + 10
        while True:  # the writer finishes that batch against the closed loop
            with poller._pending_lock:
                if not poller._draining:
                    break
            assert time.monotonic() < deadline, "the writer thread never finished its batch"
            time.sleep(0.01)
        summary = asyncio.run(asyncio.wait_for(poller.poll_once(), 30))
    finally:
        store.release.set()
        poller.close()
    assert summary.feeds == 6 and summary.errors == 0, summary.line()
    assert sum(items_per_feed(tmp_path / "cw.db").values()) == sum(expected_items(f.name) for f in config.feeds)
