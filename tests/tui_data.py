"""Deterministic dashboard data, written through the real Store API.

``build(path)`` makes a small database a user would recognise: five feeds (one
failing, one gone), a dozen headlines in English, Serbian (Latin and Cyrillic)
and Albanian, alerts of every severity, one pinned and one dismissed, all
relative to the fixed clock ``NOW`` so snapshots never drift.
"""

from __future__ import annotations

import atexit
import shutil
import sqlite3
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from crisiswatch.config import Config, Feed, Keyword, Settings
from crisiswatch.models import Assessment, FetchResult, ParsedFeed, ParsedItem
from crisiswatch.store import Store

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
SETTINGS = Settings(bell=True)

FEEDS = (
    Feed("RTS", "http://127.0.0.1:9/rts.xml"),
    Feed("KoSSev", "http://127.0.0.1:9/kossev.xml"),
    Feed("Koha", "http://127.0.0.1:9/koha.xml"),
    Feed("BIRN", "http://127.0.0.1:9/birn.xml"),
    Feed("Old Wire", "http://127.0.0.1:9/gone.xml"),
)
KEYWORDS = (
    Keyword("KFOR", severity="medium"),
    Keyword("Jarinje", aliases=("Јариње",), severity="high"),
    Keyword("roadblock", aliases=("barikade", "барикаде", "bllokadë"), severity="high"),
    Keyword("Mitrovica", aliases=("Митровица", "Mitrovicë"), severity="medium"),
    Keyword("gunfire", aliases=("pucnjava", "пуцњава", "të shtëna"), severity="critical"),
)


def config(feeds: tuple[Feed, ...] = FEEDS, **settings: object) -> Config:
    return Config(None, Settings(**{"bell": True, **settings}), feeds, KEYWORDS)


@dataclass(frozen=True)
class Story:
    feed: str
    key: str
    title: str
    minutes_ago: int
    severity: str | None = None
    keywords: tuple[str, ...] = ()
    summary: str = ""


STORIES: tuple[Story, ...] = (
    Story("RTS", "rts-1", "Барикаде код Јариња: саобраћај обустављен", 3, "high", ("Jarinje", "roadblock"),
          "Грађани су поставили барикаде на путу ка прелазу Јариње."),
    Story("KoSSev", "kossev-1", "KFOR pojačao patrole u Severnoj Mitrovici", 12, "medium", ("KFOR", "Mitrovica"),
          "Pripadnici KFOR-a viđeni su na mostu na Ibru."),
    Story("Koha", "koha-1", "Të shtëna pranë Mitrovicës së Veriut, policia në vend", 25, "critical",
          ("Mitrovica", "gunfire"), "Policia e Kosovës raporton të shtëna gjatë natës."),
    Story("BIRN", "birn-1", "EU envoys meet in Brussels on Kosovo-Serbia normalisation", 40),
    Story("RTS", "rts-2", "Vremenska prognoza: sneg na severu", 55),
    Story("KoSSev", "kossev-2", "Roadblock lifted near Jarinje after talks with KFOR", 70, "high",
          ("Jarinje", "KFOR", "roadblock"), "Traffic resumed at the crossing in the afternoon."),
    Story("Koha", "koha-2", "Kuvendi miraton buxhetin për vitin 2027", 95),
    Story("BIRN", "birn-2", "<b>Not markup</b> [bold red]KFOR[/] statement on Mitrovica bridge", 130, "medium",
          ("KFOR", "Mitrovica"), "Feed text is hostile: [link=https://evil.example]x[/link] stays literal."),
    Story("RTS", "rts-3", "Sednica Vlade Srbije o energetici", 190),
    Story("KoSSev", "kossev-3", "Мирно у Митровици после јучерашњих инцидената", 300, "low", ("Mitrovica",)),
)


@dataclass
class Built:
    path: Path
    config: Config
    feed_ids: dict[str, int] = field(default_factory=dict)

    def store(self) -> Store:
        return Store.open(self.path)


def parsed_item(story: Story) -> ParsedItem:
    return ParsedItem(key=story.key, title=story.title, link=f"https://news.example/{story.key}", guid=story.key,
                      summary=story.summary, author=None, published=NOW - timedelta(minutes=story.minutes_ago))


def assessment(story: Story) -> Assessment | None:
    if story.severity is None:
        return None
    return Assessment(hits=(), keywords=tuple(sorted(story.keywords)), severity=story.severity)


def record(store: Store, feed_id: int, stories: list[Story], *, now: datetime, cfg: Config) -> None:
    result = FetchResult(url="http://127.0.0.1:9/x.xml", status=200, body=b"<rss/>")
    parsed = ParsedFeed("t", tuple(parsed_item(s) for s in stories))
    store.record_result(feed_id, result, parsed, [assessment(s) for s in stories], settings=cfg.settings,
                        next_poll=now + timedelta(minutes=5), now=now)


_TEMPLATE: Built | None = None
"""The default data set, written once per process; ``build`` copies its file (see there)."""


def build(path: Path, *, cfg: Config | None = None) -> Built:
    """Write the fixed data set; alerts are created oldest first so ids follow time.

    With the default config the set is written once per test process and each
    test gets a byte copy of that closed database (the same file a fresh write
    would give, at a tenth of the cost: ~100 pilot tests each paid 50 ms here).
    """
    global _TEMPLATE
    if cfg is None:
        if _TEMPLATE is None:
            folder = Path(tempfile.mkdtemp(prefix="crisiswatch-tui-data-"))
            atexit.register(shutil.rmtree, folder, ignore_errors=True)
            _TEMPLATE = _write(folder / "template.db", config())
            with sqlite3.connect(_TEMPLATE.path) as conn:  # everything into the main file, then copy that
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        if not path.exists() and not Path(f"{path}-wal").exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(_TEMPLATE.path, path)
            return Built(path, config(), dict(_TEMPLATE.feed_ids))
    return _write(path, cfg or config())


def _write(path: Path, cfg: Config) -> Built:
    built = Built(path, cfg)
    with Store.open(path) as store:
        built.feed_ids = store.sync_feeds(cfg.feeds)
        for story in sorted(STORIES, key=lambda s: -s.minutes_ago):
            record(store, built.feed_ids[story.feed], [story], now=NOW - timedelta(minutes=story.minutes_ago),
                   cfg=cfg)
        # A failing feed and a gone feed, for the health screen.
        store.record_result(built.feed_ids["BIRN"], FetchResult(url=FEEDS[3].url, status=503, error="HTTP 503",
                                                                   error_kind="http"),
                            None, [], settings=cfg.settings, next_poll=NOW + timedelta(minutes=10),
                            now=NOW - timedelta(minutes=2))
        store.record_result(built.feed_ids["Old Wire"], FetchResult(url=FEEDS[4].url, status=410,
                                                                       error="HTTP 410 Gone", error_kind="gone"),
                            None, [], settings=cfg.settings, next_poll=NOW + timedelta(days=1),
                            now=NOW - timedelta(minutes=30))
        alerts = {a["title"]: a["id"] for a in store.alerts_page(0, 100, show_dismissed=True)}
        store.set_alert_state(alerts["Roadblock lifted near Jarinje after talks with KFOR"], "pinned",
                              now=NOW - timedelta(minutes=60))
        store.set_alert_state(alerts["Мирно у Митровици после јучерашњих инцидената"], "dismissed",
                              now=NOW - timedelta(minutes=50))
        store.add_event("poll_finished", detail="polled 5 feeds in 1.2s: 3 ok, 0 not modified, 2 errors",
                        now=NOW - timedelta(minutes=1))
    return built


def add_alert(path: Path, cfg: Config, *, key: str = "live-1", title: str = "Gunfire reported at Jarinje crossing",
              severity: str = "critical", feed: str = "RTS", now: datetime = NOW) -> None:
    """Store a new alert from a separate connection, as the poller or another process would."""
    story = Story(feed, key, title, 0, severity, ("Jarinje", "gunfire"))
    with Store.open(path) as store:
        ids = {f["name"]: f["id"] for f in store.feeds()}
        record(store, ids[feed], [story], now=now, cfg=cfg)


def events_of(path: Path, kind: str) -> list[dict]:
    """Every event of ``kind`` in the database, read back through its own connection."""
    with Store.open(path) as store:
        return [e for e in store.events_tail(10_000) if e["kind"] == kind]
