"""A fixed day of the crisis for report tests, written through the real Store API.

``build(path)`` writes 36 hours (2026-11-29 00:00Z … 2026-11-30 12:00Z) so the
report period (the 24 h to ``NOW``) has history before it: a feed that was
already failing, an alert raised before the period that is carried by another
outlet inside it. Inside the period: stories in four scripts, one carried by
three outlets within an hour (a surge), a keyword surge, a pin, a dismissal, a
feed going down and recovering, a feed gone — and hostile titles and links.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from crisiswatch.config import Config, Feed, Keyword, Settings
from crisiswatch.models import Assessment, FetchResult, ParsedFeed, ParsedItem
from crisiswatch.store import Store

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
SINCE = NOW - timedelta(hours=24)
SETTINGS = Settings(surge_feeds=3, surge_window=3600, surge_min_mentions=3, surge_factor=2.0)
FEEDS = (
    Feed("Balkan Wire", "http://127.0.0.1:9/balkanwire.xml"),
    Feed("Sever Danas", "http://127.0.0.1:9/severdanas.xml"),
    Feed("Ибарске вести", "http://127.0.0.1:9/ibarske.xml"),
    Feed("Koha Ditore", "http://127.0.0.1:9/koha.xml"),
    Feed("Flaky <b>Radio</b>", "http://127.0.0.1:9/flaky.xml"),
    Feed("Old Wire", "http://127.0.0.1:9/gone.xml"),
)
KEYWORDS = (Keyword("KFOR"), Keyword("Jarinje", severity="high"), Keyword("Mitrovica"),
            Keyword("roadblock", severity="high"), Keyword("Vučić"))
HOSTILE_TITLE = "<script>alert(1)</script> [click](javascript:alert(1)) **KFOR** https://evil.example/x | x"
HOSTILE_LINK = "javascript:alert(1)"
SECRET_LINK = "https://analyst:s3cret@news.example/kfor-bridge"


def config() -> Config:
    return Config(None, SETTINGS, FEEDS, KEYWORDS)


def _item(key: str, title: str, link: str | None, published: datetime, summary: str = "") -> ParsedItem:
    return ParsedItem(key=key, title=title, link=link, guid=key, summary=summary, author=None, published=published)


def _ok(store: Store, feed_id: int, items: list[tuple[ParsedItem, Assessment | None]], now: datetime) -> None:
    result = FetchResult(url="http://127.0.0.1:9/x.xml", status=200, body=b"<rss/>")
    parsed = ParsedFeed("feed", tuple(i for i, _ in items))
    store.record_result(feed_id, result, parsed, [a for _, a in items], settings=SETTINGS,
                        next_poll=now + timedelta(minutes=5), now=now)


def _fail(store: Store, feed_id: int, now: datetime, error: str, kind: str = "http", status: int | None = 503) -> None:
    store.record_result(feed_id, FetchResult(url="http://127.0.0.1:9/x.xml", status=status, error=error,
                                             error_kind=kind),
                        None, [], settings=SETTINGS, next_poll=now + timedelta(minutes=5), now=now)


def _hit(severity: str, *keywords: str, rules: tuple[str, ...] = ()) -> Assessment:
    return Assessment(hits=(), keywords=tuple(sorted(keywords)), severity=severity, rules=rules)


def build(path: Path) -> Path:
    """Write the fixed day; every timestamp comes from the fixed clock, so two builds are identical."""
    at = NOW.replace
    with Store.open(path) as store:
        ids = store.sync_feeds(FEEDS)
        bw, sd, ib, kd, fl, ow = (ids[f.name] for f in FEEDS)
        # Before the period: a story that another outlet carries later, and a feed that starts failing.
        _ok(store, bw, [(_item("bw-0", "KFOR patrols the Ibar bridge in Mitrovica", "https://balkanwire.example/0",
                               at(day=29, hour=6)), _hit("medium", "KFOR", "Mitrovica"))], at(day=29, hour=6, minute=5))
        _fail(store, ow, at(day=29, hour=9), "HTTP 503")
        _ok(store, kd, [(_item("kd-0", "Lajme nga Prishtina", "https://koha.example/0", at(day=29, hour=8)), None)],
            at(day=29, hour=8, minute=10))
        # Inside the period.
        _ok(store, sd, [(_item("sd-1", "Barikade kod Jarinja, KFOR na prelazu", "https://severdanas.example/1",
                               at(day=29, hour=14)), _hit("high", "Jarinje", "KFOR", "roadblock",
                                                          rules=("KFOR at a roadblock",)))],
            at(day=29, hour=14, minute=5))
        _ok(store, ib, [(_item("ib-1", "Барикаде код Јариња, КФОР на прелазу", "https://severdanas.example/1",
                               at(day=29, hour=14, minute=10)), _hit("high", "Jarinje", "KFOR", "roadblock")),
                        (_item("ib-2", "KFOR patrols the Ibar bridge in Mitrovica", "https://balkanwire.example/0",
                               at(day=29, hour=14, minute=12)), _hit("medium", "KFOR", "Mitrovica"))],
            at(day=29, hour=14, minute=20))
        _ok(store, kd, [(_item("kd-1", "Barrikada në Jarinjë, KFOR në pikëkalim", "https://severdanas.example/1",
                               at(day=29, hour=14, minute=30)), _hit("high", "Jarinje", "KFOR", "roadblock"))],
            at(day=29, hour=14, minute=40))
        _fail(store, fl, at(day=29, hour=16), "timed out after 20s", kind="timeout", status=None)
        _fail(store, fl, at(day=29, hour=16, minute=5), "timed out after 20s", kind="timeout", status=None)
        _ok(store, fl, [(_item("fl-1", "Vučić: Srbija neće priznati Kosovo", "https://flaky.example/1",
                               at(day=29, hour=16, minute=30)), _hit("medium", "Vučić"))], at(day=29, hour=16, minute=35))
        _ok(store, bw, [(_item("bw-2", HOSTILE_TITLE, HOSTILE_LINK, at(day=29, hour=20)), _hit("low", "KFOR")),
                        (_item("bw-3", "KFOR statement on the Mitrovica bridge", SECRET_LINK, at(day=29, hour=20, minute=1)),
                         _hit("medium", "KFOR", "Mitrovica"))], at(day=29, hour=20, minute=10))
        _ok(store, sd, [(_item("sd-2", "Vremenska prognoza: sneg na severu", "https://severdanas.example/2",
                               at(day=29, hour=22)), None)], at(day=29, hour=22, minute=5))
        # Overnight, KFOR mentions spike within one hour: a keyword surge.
        _ok(store, kd, [(_item(f"kd-k{n}", f"KFOR njoftim {n}", f"https://koha.example/k{n}",
                               at(hour=3, minute=n)), _hit("low", "KFOR")) for n in range(4)],
            at(hour=3, minute=30))
        _fail(store, ow, at(hour=6), "HTTP 410 Gone", kind="gone", status=410)
        _ok(store, bw, [(_item("bw-4", "Vučić and Kurti to meet in Brussels", "https://balkanwire.example/4",
                               at(hour=9)), _hit("medium", "Vučić"))], at(hour=9, minute=5))
        alerts = {a["title"]: a["id"] for a in store.alerts_page(0, 100, show_dismissed=True)}
        store.set_alert_state(alerts["Barikade kod Jarinja, KFOR na prelazu"], "pinned", now=at(hour=8))
        store.set_alert_state(alerts[HOSTILE_TITLE], "dismissed", now=at(hour=8, minute=30))
        store.add_event("poll_finished", detail="polled 6 feeds", now=at(hour=9, minute=6))
        store.add_event("poll_finished", detail="polled 6 feeds", now=at(day=29, hour=20, minute=11))
        # After the period: must not show.
        _ok(store, sd, [(_item("sd-9", "Posle perioda: KFOR", "https://severdanas.example/9", at(hour=13)),
                         _hit("critical", "KFOR"))], at(hour=13, minute=5))
    return path
