"""The store: feed results, grouping, surges, user actions, migrations, pages."""

from __future__ import annotations

import itertools
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crisiswatch.config import Feed, Settings
from crisiswatch.models import Assessment, FetchResult, ParsedFeed, ParsedItem
from crisiswatch.store import SCHEMA_VERSION, Store, StoreError

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
SETTINGS = Settings()


def item(key: str, title: str, link: str | None = None, minutes: int = 0) -> ParsedItem:
    return ParsedItem(key=key, title=title, link=link, guid=key, summary="", author=None,
                      published=NOW - timedelta(minutes=minutes))


def verdict(*keywords: str, severity: str = "medium", rules: tuple[str, ...] = ()) -> Assessment:
    return Assessment(hits=(), keywords=tuple(sorted(keywords)), severity=severity, rules=rules)


def ok(url: str = "https://x.example/rss") -> FetchResult:
    return FetchResult(url=url, status=200, body=b"<rss/>", etag='"v1"')


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store.open(tmp_path / "cw.db")
    s.sync_feeds([Feed(f"Feed {n}", f"https://{n}.example/rss") for n in "ABCDE"])
    yield s
    s.close()


def feed_id(store: Store, name: str) -> int:
    return next(r["id"] for r in store.feeds() if r["name"] == name)


def record(store: Store, name: str, items: list[ParsedItem], verdicts: list[Assessment | None],
           now: datetime = NOW, settings: Settings = SETTINGS):
    return store.record_result(feed_id(store, name), ok(), ParsedFeed("t", tuple(items)), verdicts,
                               settings=settings, next_poll=now + timedelta(minutes=5), now=now)


def kinds(store: Store) -> list[str]:
    return [e["kind"] for e in store.events_tail(1000)]


def test_new_items_alert_once_and_repoll_adds_nothing(store: Store) -> None:
    items = [item("a", "KFOR patrols the Ibar bridge", "https://n.example/1"), item("b", "Weather", None)]
    out = record(store, "Feed A", items, [verdict("Ibar", "KFOR", severity="high"), None])
    assert out.new_items == 2 and len(out.new_alerts) == 1
    alert = out.new_alerts[0]
    assert alert["keywords"] == "Ibar; KFOR" and alert["severity"] == "high" and alert["feed"] == "Feed A"
    again = record(store, "Feed A", items, [verdict("Ibar", "KFOR", severity="high"), None])
    assert again.new_items == 0 and again.new_alerts == []
    assert store.count_alerts() == 1
    assert kinds(store).count("alert_new") == 1


def test_same_story_from_several_outlets_is_one_alert_and_surges(store: Store) -> None:
    link = "https://birn.example/story?id=7&utm_source=twitter"
    for n, name in enumerate(["Feed A", "Feed B", "Feed C"]):
        url = link if n != 1 else "https://birn.example/story?id=7&fbclid=abc"
        record(store, name, [item(f"k{n}", "Roadblock near Jarinje", url)], [verdict("roadblock", "Jarinje")],
               now=NOW + timedelta(minutes=10 * n))
    assert store.count_alerts() == 1
    alert = store.alerts_page()[0]
    assert alert["feed_count"] == 3
    assert alert["feeds"] == "Feed A; Feed B; Feed C"
    assert alert["surge"] == 1
    assert alert["severity"] == "high"  # medium raised one step by the surge
    surge = [e for e in store.events_tail(100) if e["kind"] == "surge"]
    assert len(surge) == 1 and "3 outlets" in surge[0]["detail"]


def test_near_identical_titles_group_without_links(store: Store) -> None:
    record(store, "Feed A", [item("x", "Vučić: Serbia will not recognise Kosovo")], [verdict("Vučić")])
    record(store, "Feed B", [item("y", "Vucic: Serbia will not recognise Kosovo - Reuters")], [verdict("Vučić")])
    assert store.count_alerts() == 1


def test_spread_out_story_does_not_surge(store: Store) -> None:
    for n, name in enumerate(["Feed A", "Feed B", "Feed C"]):
        record(store, name, [item(f"k{n}", "EULEX statement on Zvečan", "https://e.example/s")],
               [verdict("EULEX")], now=NOW + timedelta(hours=2 * n))
    alert = store.alerts_page()[0]
    assert alert["feed_count"] == 3 and alert["surge"] == 0 and alert["severity"] == "medium"


def test_keyword_surge_against_its_own_baseline(store: Store) -> None:
    settings = Settings(surge_min_mentions=5, surge_factor=3.0)
    # A quiet baseline: one mention an hour for a day.
    for h in range(24):
        record(store, "Feed A", [item(f"base{h}", f"Quiet item {h} mentions Kurti")], [verdict("Kurti")],
               now=NOW - timedelta(hours=24 - h), settings=settings)
    assert "surge" not in kinds(store)
    for n in range(5):
        record(store, "Feed B", [item(f"burst{n}", f"Kurti burst story number {n}")], [verdict("Kurti")],
               now=NOW + timedelta(minutes=n), settings=settings)
    surges = [e for e in store.events_tail(1000) if e["kind"] == "surge"]
    assert len(surges) == 1 and "keyword Kurti" in surges[0]["detail"]


def test_user_actions_change_state_and_log_events(store: Store) -> None:
    record(store, "Feed A", [item(str(n), f"KFOR story {n}") for n in range(3)], [verdict("KFOR")] * 3)
    ids = [a["id"] for a in store.alerts_page()]
    assert store.toggle_pin(ids[2]) == "pinned"
    assert store.alerts_page()[0]["id"] == ids[2]  # pinned on top
    assert store.toggle_pin(ids[2]) == "new"
    store.dismiss(ids[0])
    store.dismiss(ids[1])
    assert store.count_alerts() == 1
    assert store.count_alerts(show_dismissed=True) == 3
    assert store.restore_last_dismissed() == ids[1]
    assert store.restore_last_dismissed() == ids[0]
    assert store.restore_last_dismissed() is None
    # A pinned alert dismissed (d on the wrong row) comes back pinned, not demoted to new.
    store.toggle_pin(ids[2])
    store.dismiss(ids[2])
    assert store.restore_last_dismissed() == ids[2]
    assert store.alerts_page()[0]["id"] == ids[2] and store.alerts_page()[0]["state"] == "pinned"
    log = kinds(store)
    for kind in ("alert_pinned", "alert_unpinned", "alert_dismissed", "alert_restored"):
        assert kind in log


def test_fetch_errors_gone_moved_recovered(store: Store) -> None:
    fid = feed_id(store, "Feed A")
    nxt = NOW + timedelta(minutes=5)
    store.record_result(fid, ok(), ParsedFeed("t", ()), [], settings=SETTINGS, next_poll=nxt, now=NOW)
    store.record_result(fid, FetchResult(url="u", status=500, error="HTTP 500 Internal Server Error",
                                         error_kind="http"), None, [], settings=SETTINGS, next_poll=nxt)
    row = store.feed(fid)
    assert row["failures"] == 1 and "HTTP 500" in row["last_error"]
    store.record_result(fid, FetchResult(url="u", status=200, body=b"x", moved_to="https://new.example/rss"),
                        ParsedFeed("t", ()), [], settings=SETTINGS, next_poll=nxt)
    row = store.feed(fid)
    assert row["url"] == "https://new.example/rss" and row["failures"] == 0
    store.record_result(fid, FetchResult(url="u", status=410, error="HTTP 410 Gone", error_kind="gone"), None, [],
                        settings=SETTINGS, next_poll=nxt)
    assert store.feed(fid)["gone"] == 1
    log = kinds(store)
    assert ["fetch_error", "feed_moved", "feed_recovered", "feed_gone"] == [
        k for k in log if k in ("fetch_error", "feed_moved", "feed_recovered", "feed_gone")]
    assert store.reenable_feed("Feed A") and store.feed(fid)["gone"] == 0


def test_changed_config_url_resets_feed(store: Store) -> None:
    fid = feed_id(store, "Feed A")
    store.record_result(fid, FetchResult(url="u", status=410, error="gone", error_kind="gone"), None, [],
                        settings=SETTINGS, next_poll=NOW)
    store.sync_feeds([Feed("Feed A", "https://elsewhere.example/rss")])
    row = store.feed(fid)
    assert row["gone"] == 0 and row["url"] == "https://elsewhere.example/rss" and row["etag"] is None


def test_fts_search_is_safe_and_folds_diacritics(store: Store) -> None:
    record(store, "Feed A", [item("1", "Vučić meets EU envoy"), item("2", "Weather in Niš")], [None, None])
    assert [r["title"] for r in store.items_page(query="vucic")] == ["Vučić meets EU envoy"]
    assert store.items_page(query='" OR 1=1 --') == []
    assert store.count_search("weather") == 1


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    Store.open(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(StoreError, match="newer crisiswatch"):
        Store.open(path)


def test_locked_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "cw.db"
    store = Store.open(path)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    store.conn.execute("PRAGMA busy_timeout = 100")
    with pytest.raises(StoreError, match="locked by another process"):
        store.add_event("poll_started")
    other.execute("ROLLBACK")
    store.add_event("poll_started")


def test_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(StoreError, match="not a crisiswatch database"):
        Store.open(path)


def test_wal_foreign_keys_and_version(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "cw.db")
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert store.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert store.conn.execute("PRAGMA busy_timeout").fetchone()[0] > 0


def test_full_disk_and_read_only_are_clear_errors(store: Store) -> None:
    items = [item(str(n), "x" * 900 + str(n)) for n in range(200)]
    pages = store.conn.execute("PRAGMA page_count").fetchone()[0]
    store.conn.execute(f"PRAGMA max_page_count = {pages}")
    with pytest.raises(StoreError, match="disk is full"):
        record(store, "Feed A", items, [None] * 200)
    store.conn.execute("PRAGMA max_page_count = 1073741823")
    assert store.count_items() == 0  # the failed feed left nothing half-written
    store.conn.execute("PRAGMA query_only = 1")
    with pytest.raises(StoreError, match="read-only"):
        store.add_event("poll_started")


def test_export_reads_one_consistent_snapshot_while_another_process_writes(tmp_path: Path) -> None:
    path = tmp_path / "cw.db"
    writer = Store.open(path)
    for n in range(2500):
        writer.add_event("fetch_error", detail=f"e{n}")
    reader = Store.open(path, readonly=True)
    rows = reader.iter_rows("events")
    first = next(rows)
    for n in range(100):
        writer.add_event("poll_finished", detail=f"late{n}")  # committed mid-export
    rest = list(rows)
    assert first["detail"] == "e0"
    assert len(rest) + 1 == 2500
    assert all(r["kind"] == "fetch_error" for r in rest)
    assert sum(1 for _ in reader.iter_rows("events")) == 2600


def test_search_crosses_scripts(store: Store) -> None:
    record(store, "Feed A", [item("1", "Прелаз Јариње затворен"), item("2", "Mitrovicës së Veriut")], [None, None])
    assert [r["title"] for r in store.items_page(query="Jarinje")] == ["Прелаз Јариње затворен"]
    assert [r["title"] for r in store.items_page(query="јариње")] == ["Прелаз Јариње затворен"]
    assert store.count_search("mitrovices") == 1


def test_search_finds_declined_forms(store: Store) -> None:
    record(store, "Feed A", [item("1", "Protest u Mitrovici"), item("2", "Policia në Mitrovicës"),
                             item("3", "Kolona kod Jarinja")], [None, None, None])
    assert store.count_search("Mitrovica") == 2
    assert store.count_search("jarinje") == 1


# -- pages: the index-seeking queries give what a plain sort would ---------------------------------


def test_pages_match_a_plain_sort(tmp_path: Path) -> None:
    """alerts_page/items_page seek through indexes; a plain ORDER BY ... LIMIT/OFFSET is the reference."""
    import tui_data

    data = tui_data.build(tmp_path / "ui.db")
    with Store.open(data.path) as store:
        def plain(sql: str, params: tuple) -> list[dict]:
            return [dict(r) for r in store.conn.execute(sql, params)]

        cols = ("id, created, published, severity, keywords, rules, feeds, feed_count, title, link, state, "
                "surge, item_id")
        for severity in ("low", "medium", "high", "critical"):
            for dismissed in (False, True):
                states = "" if dismissed else "AND state != 'dismissed'"
                for (offset, limit), (sort, order) in itertools.product(
                        ((0, 100), (0, 2), (1, 2), (2, 3), (4, 10)),
                        (("time", "published DESC, id DESC"), ("severity", "rank DESC, published DESC, id DESC"))):
                    # Pinned first, then the newest story (its own published time), or the most severe.
                    expected = plain(f"SELECT {cols} FROM alerts WHERE rank >= ? {states} "  # noqa: S608
                                     f"ORDER BY (state = 'pinned') DESC, {order} LIMIT ? OFFSET ?",
                                     (["low", "medium", "high", "critical"].index(severity), limit, offset))
                    got = store.alerts_page(offset, limit, min_severity=severity, show_dismissed=dismissed,
                                            sort=sort)
                    assert [{k: r[k] for k in expected[0]} for r in got] == expected if expected else got == []
                    assert all(r["keywords_list"] == tuple(k for k in r["keywords"].split("; ") if k) for r in got)
        assert any(store.alerts_page(0, 100, show_dismissed=True)), "the fixture must hold alerts"
        for offset, limit in ((0, 100), (3, 4), (9, 5)):
            expected = plain(
                "SELECT i.id, i.feed_id, f.name AS feed, i.published, i.fetched, i.title, i.link, i.alert_id, "
                "a.severity, a.state FROM items i JOIN feeds f ON f.id = i.feed_id "
                "LEFT JOIN alerts a ON a.id = i.alert_id ORDER BY i.published DESC, i.id DESC LIMIT ? OFFSET ?",
                (limit, offset))
            got = store.items_page(offset, limit)
            assert [{k: r[k] for k in expected[0]} for r in got] == expected and expected


def test_first_opens_of_a_new_database_at_once_all_succeed(tmp_path: Path) -> None:
    """The dashboard's UI thread and its poller (or two ``poll`` processes) open a new file together.

    Both used to switch it to WAL and migrate it unguarded; in rollback mode SQLite
    settles two openers escalating at once by failing one immediately with "database
    is locked" (a deadlock, so the busy timeout never applies): about 1 such pair in 40.
    Forty rounds of six openers released together.
    """
    import threading

    failures: list[str] = []
    for round_ in range(40):
        path = tmp_path / f"fresh-{round_}.db"
        start = threading.Barrier(6)

        def first_open(path: Path = path, start: threading.Barrier = start) -> None:
            start.wait()
            try:
                with Store.open(path) as opened:
                    assert opened.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            except StoreError as exc:
                failures.append(str(exc))

        openers = [threading.Thread(target=first_open) for _ in range(6)]
        for opener in openers:
            opener.start()
        for opener in openers:
            opener.join()
    assert not failures, failures[:3]
    with Store.open(tmp_path / "fresh-0.db") as store:
        assert store.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
