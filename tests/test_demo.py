"""``crisiswatch demo``: the loopback feed server, its schedule, and the real poller on it.

Everything here is real: a ThreadingHTTPServer on 127.0.0.1, the core Poller
(httpx fetch, feedparser, the matcher) and SQLite files in ``tmp_path``. Time
is only faked for the *release schedule* (an injected clock), so the tests are
deterministic and fast; the HTTP traffic is never faked.
"""

from __future__ import annotations

import asyncio
import gzip
import re
import tempfile
import tomllib
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import feedparser
import pytest
from pilotkit import QUICK, wait_for

from crisiswatch import cli
from crisiswatch.config import Config, load_config
from crisiswatch.demo import (
    FEED_LENGTH,
    RELEASE_INTERVAL,
    UPDATE_PREFIX,
    DemoServer,
    demo_config,
    format_event,
    headless,
    load_timeline,
    parse_timeline,
)
from crisiswatch.poller import Poller, PollSummary
from crisiswatch.store import Store

REPO = Path(__file__).resolve().parent.parent
CYRILLIC = re.compile(r"[\u0400-\u04ff]")


class FakeClock:
    """Monotonic seconds under the test's control; drives only the release schedule."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def server(clock: FakeClock) -> Iterator[DemoServer]:
    with DemoServer(seed=42, clock=clock) as s:
        yield s


def get(url: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def alerts(db: Path) -> list[dict[str, Any]]:
    with Store.open(db, readonly=True) as store:
        return [dict(r) for r in store.conn.execute(
            "SELECT a.*, f.name AS feed FROM alerts a JOIN items i ON i.id = a.item_id "
            "JOIN feeds f ON f.id = i.feed_id ORDER BY a.id")]


def alert_titled(db: Path, title: str) -> dict[str, Any]:
    found = [a for a in alerts(db) if a["title"] == title]
    assert found, f"no alert for {title!r}; alerts: {[a['title'] for a in alerts(db)]}"
    return found[0]


async def poll(config: Config, db: Path) -> PollSummary:
    store = Store.open(db)
    poller = Poller(config, store, workers=1)
    try:
        return await poller.poll_once()
    finally:
        poller.close()
        store.close()


# -- the bundled data -----------------------------------------------------------------------
def test_timeline_covers_languages_formats_and_noise() -> None:
    timeline = load_timeline()
    assert 4 <= len(timeline.outlets) <= 6
    assert {o.format for o in timeline.outlets} == {"rss", "atom"}
    assert {o.lang for o in timeline.outlets} == {"en", "sr-Latn", "sr-Cyrl", "sq"}
    live = [item for batch in timeline.batches for item in batch]
    everything = [*timeline.start, *live]
    assert sum(bool(CYRILLIC.search(i.title)) for i in everything) >= 10
    # Plenty of ordinary news, so that not everything alerts.
    assert sum(i.noise for i in everything) >= len(everything) // 4
    # The same story reaching several outlets at once, to show grouping and surges.
    assert any(len({i.outlet for i in batch}) >= 3 for batch in timeline.batches)
    assert all(any(f.outlet == o.slug for f in timeline.fillers) for o in timeline.outlets
               if any(i.noise and i.outlet == o.slug for i in live))


def test_every_story_alerts_and_no_ordinary_item_does() -> None:
    """The labels in timeline.toml hold for the real matcher and the shipped keywords and rules."""
    import random

    from crisiswatch.match import Matcher

    matcher = Matcher.from_config(demo_config("http://127.0.0.1:9/"))
    timeline = load_timeline()
    wrong = []
    for item in [*timeline.start, *(i for batch in timeline.batches for i in batch)]:
        alerts_ = matcher.assess(item.title, item.summary).severity is not None
        if alerts_ == item.noise:
            wrong.append(f"{'noise' if item.noise else 'story'} {'alerts' if alerts_ else 'is quiet'}: {item.title}")
    rng = random.Random(0)
    for filler in timeline.fillers:
        for _ in range(20):
            title, summary = filler.render(rng)
            if matcher.assess(title, summary).severity is not None:
                wrong.append(f"filler alerts: {title}")
    assert not wrong, "\n".join(wrong)


def test_timeline_errors_are_loud() -> None:
    good = '[[outlet]]\nslug="a"\ntitle="A"\nlang="en"\nformat="rss"\nsite="https://a.example/"\n'
    with pytest.raises(ValueError, match="unknown outlet"):
        parse_timeline(good + '[[item]]\noutlet="b"\nage=1\ntitle="x"\n[[item]]\noutlet="a"\ntitle="y"\n')
    with pytest.raises(ValueError, match="with_previous"):
        parse_timeline(good + '[[item]]\noutlet="a"\nage=1\ntitle="x"\n'
                              '[[item]]\noutlet="a"\nwith_previous=true\ntitle="y"\n')
    with pytest.raises(ValueError, match="format"):
        parse_timeline(good.replace('"rss"', '"json"') + '[[item]]\noutlet="a"\nage=1\ntitle="x"\n')


def test_demo_config_goes_through_the_loader_and_points_at_loopback() -> None:
    config = demo_config("http://127.0.0.1:9/", poll_interval=10)
    assert config.path is None
    assert len(config.feeds) == len(load_timeline().outlets)
    assert all(f.url.startswith("http://127.0.0.1:9/feeds/") and f.interval == 10 for f in config.feeds)
    assert config.settings.poll_interval == 10
    terms = {k.term for k in config.keywords}
    for term in ("KFOR", "Ibar", "Vučić", "roadblock", "Kurti", "Mitrovica", "Jarinje", "Zvečan",
                 "Zubin Potok", "Leposavić", "Brnjak", "Banjska", "EULEX"):
        assert term in terms
    assert config.rules


def test_demo_keywords_and_rules_match_the_shipped_feeds_toml() -> None:
    """The demo must alert on what a real installation alerts on; recopy the section if this fails."""
    shipped_path = REPO / "feeds.toml"
    assert shipped_path.exists(), "the repository ships feeds.toml at its top level"
    shipped = load_config(shipped_path)
    demo = demo_config("http://127.0.0.1:9/")
    assert demo.keywords == shipped.keywords
    assert demo.rules == shipped.rules


def test_speed_shortens_the_poll_interval(clock: FakeClock) -> None:
    assert DemoServer(speed=1, clock=clock).config().settings.poll_interval == 10
    assert DemoServer(speed=5, clock=clock).config().settings.poll_interval == 2
    assert DemoServer(speed=100, clock=clock).config().settings.poll_interval == 1


# -- the server ---------------------------------------------------------------------------------
def test_serves_every_outlet_as_a_valid_feed_with_conditional_get(server: DemoServer) -> None:
    for outlet in server.timeline.outlets:
        status, headers, body = get(server.url(outlet.slug))
        assert status == 200
        expected = "application/rss+xml" if outlet.format == "rss" else "application/atom+xml"
        assert headers["Content-Type"].startswith(expected)
        parsed = feedparser.parse(body)
        assert not parsed.bozo, parsed.get("bozo_exception")
        assert parsed.version == ("rss20" if outlet.format == "rss" else "atom10")
        assert parsed.feed.title == outlet.title
        assert parsed.entries, outlet.slug
        assert all(e.get("published_parsed") and e.get("id") and e.get("link") for e in parsed.entries)
        etag = headers["ETag"]
        assert get(server.url(outlet.slug), **{"If-None-Match": etag})[0] == 304
        assert get(server.url(outlet.slug), **{"If-None-Match": f'"other", W/{etag}'})[0] == 304
        assert get(server.url(outlet.slug), **{"If-None-Match": '"stale"'})[0] == 200
        assert get(server.url(outlet.slug), **{"If-Modified-Since": headers["Last-Modified"]})[0] == 304
    assert server.count(304) == 3 * len(server.timeline.outlets)


def test_gzip_head_index_and_404(server: DemoServer) -> None:
    url = server.url("ibarske")
    plain = get(url)[2]
    status, headers, body = get(url, **{"Accept-Encoding": "gzip"})
    assert status == 200 and headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(body) == plain
    assert "Ибарске вести" in plain.decode()
    req = urllib.request.Request(url, method="HEAD")
    with urllib.request.urlopen(req, timeout=5) as r:
        assert r.status == 200 and r.read() == b"" and int(r.headers["Content-Length"]) == len(plain)
    status, _, body = get(server.base_url)
    assert status == 200 and b"/feeds/balkanwire.xml" in body
    assert get(server.base_url + "feeds/nope.xml")[0] == 404
    assert get(server.base_url + "etc/passwd")[0] == 404


def test_a_release_changes_the_etag(server: DemoServer) -> None:
    slug = server.timeline.batches[0][0].outlet
    _, headers, _ = get(server.url(slug))
    released = server.release_next()
    assert released and {e.outlet for e in released} >= {slug}
    status, after, body = get(server.url(slug), **{"If-None-Match": headers["ETag"]})
    assert status == 200 and after["ETag"] != headers["ETag"]
    assert released[0].title in body.decode()


def test_schedule_every_10_to_20_seconds_and_speed(clock: FakeClock) -> None:
    low, high = RELEASE_INTERVAL
    with DemoServer(seed=1, clock=clock) as s:
        first_screen = len(s.released())
        assert first_screen == len(s.timeline.start)
        clock.advance(low - 0.01)
        assert s.batches_released == 0
        clock.advance(high - low + 0.02)
        assert s.batches_released == 1
        clock.advance(600)
        assert 600 / high <= s.batches_released - 1 <= 600 / low + 1
    with DemoServer(seed=1, speed=10, clock=clock) as fast:
        clock.advance(high / 10 + 0.01)
        assert fast.batches_released == 1
        assert 0 < fast.seconds_to_next() <= high / 10


def test_schedule_is_deterministic_under_a_seed() -> None:
    def run(seed: int) -> list[tuple[int, str, str]]:
        clock = FakeClock()
        seen: dict[int, tuple[int, str, str]] = {}
        with DemoServer(seed=seed, clock=clock) as s:
            for second in range(0, 2400, 5):
                clock.t = 1000.0 + second
                for e in s.released():
                    seen.setdefault(e.number, (second, e.outlet, e.title))
        return [seen[n] for n in sorted(seen)]

    a, b, c = run(7), run(7), run(8)
    assert a == b
    assert [t for _, _, t in a[:20]] == [t for _, _, t in c[:20]]  # same script…
    assert [s for s, _, _ in a] != [s for s, _, _ in c]  # …on a different schedule


def test_replay_after_the_script_adds_update_markers_and_fresh_noise(server: DemoServer) -> None:
    timeline = server.timeline
    for _ in range(len(timeline.batches)):
        server.release_next()
    replayed = []
    while len(replayed) < 12:
        replayed.extend(server.release_next())
    script = {i.title for batch in timeline.batches for i in batch}
    markers = tuple(p.format(n=1) for p in UPDATE_PREFIX.values())
    for entry in replayed:
        assert entry.title.startswith(markers) or entry.title not in script, entry.title
    entries = server.released()
    assert len({e.guid for e in entries}) == len(entries)
    assert len({e.link for e in entries if "utm_source" not in e.link}) == \
        len([e for e in entries if "utm_source" not in e.link])
    for outlet in timeline.outlets:
        _, _, body = get(server.url(outlet.slug))
        assert len(feedparser.parse(body).entries) <= FEED_LENGTH


def test_stop_closes_the_port(clock: FakeClock) -> None:
    s = DemoServer(clock=clock).start()
    url = s.url("balkanwire")
    assert get(url)[0] == 200
    s.stop()
    s.stop()
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(url, timeout=2)


# -- the real poller on the demo ------------------------------------------------------------------
async def test_first_poll_alerts_in_every_script_and_skips_ordinary_news(server: DemoServer,
                                                                          tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    summary = await poll(server.config(), db)
    assert summary.ok == len(server.timeline.outlets) and summary.errors == 0
    assert summary.new_items == len(server.timeline.start)
    assert summary.new_alerts >= 8
    # Serbian Cyrillic, declined (Јариња) and in the title's own script.
    kfor = alert_titled(db, "КФОР појачао патроле код Јариња")
    assert {"KFOR", "Jarinje"} <= set(kfor["keywords"].split("; "))
    assert kfor["feed"] == "Ибарске вести"
    # Albanian, definite form (Mitrovicë), and Serbian Latin with a case ending (KFOR-a).
    assert "Mitrovica" in alert_titled(db, "EULEX monitoron situatën në Mitrovicë")["keywords"]
    assert "Kurti" in alert_titled(db, "Kurti: Policia e Kosovës mbetet në veri")["keywords"]
    assert "KFOR" in alert_titled(db, "Patrola KFOR-a obišla Jarinje, saobraćaj normalan")["keywords"]
    # A rule fired: KFOR on the Ibar bridge in Mitrovica.
    assert alert_titled(db, "KFOR steps up patrols on the Ibar bridge in Mitrovica")["severity"] == "critical"
    # Ordinary news is stored as a headline but does not alert.
    with Store.open(db, readonly=True) as store:
        quiet = store.conn.execute("SELECT count(*) FROM items WHERE alert_id IS NULL").fetchone()[0]
        ecb = store.conn.execute("SELECT alert_id FROM items WHERE title = 'ECB leaves interest rates unchanged'"
                                 ).fetchone()
    assert ecb is not None and ecb["alert_id"] is None
    assert quiet >= len(server.timeline.start) // 3


async def test_second_poll_is_all_304_and_adds_nothing(server: DemoServer, tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    config = server.config()
    first = await poll(config, db)
    before = server.count(304)
    second = await poll(config, db)
    assert second.not_modified == len(config.feeds) and second.ok == 0
    assert second.new_items == 0 and second.new_alerts == 0
    assert server.count(304) - before == len(config.feeds)
    with Store.open(db, readonly=True) as store:
        assert store.count_items() == first.new_items
        assert store.count_alerts(show_dismissed=True) == first.new_alerts


async def test_later_releases_raise_new_alerts_grouped_across_outlets_with_a_surge(server: DemoServer,
                                                                                  tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    config = server.config()
    first = await poll(config, db)
    seen = {a["id"] for a in alerts(db)}
    # Batches 1-2: a local story and sport; 3: the Jarinje agency story in two outlets; 4: a third outlet.
    released = [e for _ in range(4) for e in server.release_next()]
    assert any(e.title == "KFOR closes Jarinje crossing after overnight roadblocks" for e in released)
    second = await poll(config, db)
    assert second.new_items == len(released)
    assert 0 < second.ok < len(config.feeds) and second.not_modified == len(config.feeds) - second.ok
    assert second.new_alerts >= 2
    new = [a for a in alerts(db) if a["id"] not in seen]
    assert {a["title"] for a in new} >= {"KFOR closes Jarinje crossing after overnight roadblocks",
                                         "Грађани Звечана протестују због затварања амбуланте"}
    story = alert_titled(db, "KFOR closes Jarinje crossing after overnight roadblocks")
    assert story["feed_count"] == 3 and story["surge"] == 1 and story["severity"] == "critical"
    with Store.open(db, readonly=True) as store:
        kinds = [e["kind"] for e in store.events_tail(500)]
    assert kinds.count("alert_grouped") >= 2 and "surge" in kinds
    # Nothing from the first screen was alerted again.
    assert len(alerts(db)) == first.new_alerts + len(new)


async def test_same_story_in_cyrillic_and_latin_is_one_alert(server: DemoServer, tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    config = server.config()
    await poll(config, db)
    while not any(e.title == "Прелаз Јариње затворен након ноћних барикада" for e in server.release_next()):
        pass
    await poll(config, db)
    # Both feeds are fetched concurrently, so either script may be first; one alert, both outlets (and,
    # since stories are clustered across languages, the English wires' alert of the same closure).
    titles = {"Prelaz Jarinje zatvoren nakon noćnih barikada", "Прелаз Јариње затворен након ноћних барикада"}
    with Store.open(db, readonly=True) as store:
        alert_ids = {r[0] for r in store.conn.execute("SELECT alert_id FROM items WHERE title IN (?, ?)",
                                                      sorted(titles))}
    assert len(alert_ids) == 1 and None not in alert_ids, alert_ids
    story = next(a for a in alerts(db) if a["id"] in alert_ids)
    assert {"Sever Danas", "Ибарске вести"} <= set(story["feeds"].split("; "))
    assert {"sr-Latn", "sr-Cyrl"} <= set(story["languages"].split("; "))


# -- headless, and the command ---------------------------------------------------------------------
async def test_headless_prints_alerts_as_they_arrive_live(tmp_path: Path) -> None:
    """Real time on the real schedule, sped up: seed 5 at speed 40 releases batches at 0.41 s and
    0.84 s, so the second poll (the poller's 1 s minimum) sees both. The run stops as soon as what is
    asserted has been printed (through ``stop``, as Ctrl-C does), or after ``duration`` at worst."""
    lines: list[str] = []
    stop = asyncio.Event()

    def printed_enough() -> bool:
        summaries = [i for i, line in enumerate(lines) if line.startswith("polled ")]
        return (len(summaries) >= 2 and any(" ALERT " in line for line in lines[summaries[0] + 1:])
                and server.batches_released >= 2)

    def write(line: str) -> None:
        lines.append(line)
        if printed_enough():
            stop.set()

    with DemoServer(seed=5, speed=40) as server:
        await asyncio.wait_for(headless(server, tmp_path / "d.db", stop=stop, duration=20.0, write=write,
                                        workers=1), timeout=30)
        assert server.batches_released >= 2
    summaries = [i for i, line in enumerate(lines) if line.startswith("polled ")]
    assert len(summaries) >= 2
    first_alerts = [line for line in lines[: summaries[0]] if " ALERT " in line]
    assert first_alerts, lines
    assert any(" ALERT " in line for line in lines[summaries[0] + 1:]), "no alert arrived after the first poll"
    assert any("Ибарске вести" in line for line in first_alerts)


def test_format_event_ignores_bookkeeping() -> None:
    assert format_event({"kind": "poll_started", "time": "2026-11-26T01:00:00Z"}) is None
    line = format_event({"kind": "alert_new", "time": "2026-11-26T01:02:03Z", "feed": "Ura Press",
                         "title": "Kurti", "keywords": "Kurti", "detail": "severity medium"})
    assert line == "01:02:03  ALERT medium   Ura Press: Kurti  [Kurti]"


def test_cli_demo_headless_once_needs_no_config_and_cleans_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    missing = tmp_path / "no-such-feeds.toml"
    assert cli.main(["--config", str(missing), "demo", "--headless", "--once", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert "ALERT" in out and "polled 6 feeds" in out
    assert not list(tmp_path.glob("crisiswatch-demo-*")), "the temporary database was left behind"
    url = re.search(r"http://127\.0\.0\.1:\d+/", out)
    assert url is not None
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(url.group(0), timeout=2)


def test_a_demo_killed_with_its_terminal_is_swept_by_the_next_one(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    from crisiswatch.demo import make_temp_dir, sweep_stale_dirs

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / "crisiswatch-demo-stale"
    stale.mkdir()
    (stale / "owner.pid").write_text(f"{dead.pid}\n")
    (stale / "demo.db").write_bytes(b"x")
    foreign = tmp_path / "crisiswatch-demo-foreign"  # no owner file: not ours to judge
    foreign.mkdir()
    mine = make_temp_dir(tmp_path)
    assert not stale.exists() and foreign.exists() and mine.exists()
    assert (mine / "owner.pid").read_text().strip() == str(os.getpid())
    assert sweep_stale_dirs(tmp_path) == []  # a live owner keeps its directory


def test_cli_demo_keeps_the_database_given_with_db(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "kept.db"
    assert cli.main(["demo", "--db", str(db), "--headless", "--once"]) == 0
    assert db.exists() and alerts(db)
    db2 = tmp_path / "global.db"
    assert cli.main(["--db", str(db2), "demo", "--headless", "--once"]) == 0
    assert db2.exists()
    assert str(db2) in capsys.readouterr().out


def test_cli_demo_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["demo", "--once"]) == 2
    assert "--headless" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        cli.main(["demo", "--speed", "0"])
    assert exc.value.code == 2
    help_text = cli.build_parser()._subparsers._group_actions[0].choices["demo"].format_help()  # type: ignore[union-attr]
    assert "examples:" in help_text and "--speed" in help_text and "--headless" in help_text


def test_pyproject_ships_the_demo_data() -> None:
    data = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert "demo_data/*" in data["tool"]["setuptools"]["package-data"]["crisiswatch"]


# -- through the dashboard ---------------------------------------------------------------------------
def test_cli_demo_runs_the_dashboard_on_the_live_server_then_stops_it(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import crisiswatch.tui.app as tui_app

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    seen: dict[str, Any] = {}

    def fake_run_app(config: Config, db_path: Path, poll: bool = True) -> int:
        seen.update(config=config, db_path=Path(db_path), poll=poll, status=get(config.feeds[0].url)[0],
                    tmp_exists=Path(db_path).parent.exists())
        return 0

    monkeypatch.setattr(tui_app, "run_app", fake_run_app)
    assert cli.main(["--config", str(tmp_path / "absent.toml"), "demo", "--seed", "1"]) == 0
    assert seen["poll"] is True and seen["status"] == 200 and seen["tmp_exists"]
    assert seen["db_path"].parent.name.startswith("crisiswatch-demo-")
    assert not seen["db_path"].parent.exists(), "temporary database not removed"
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(seen["config"].feeds[0].url, timeout=2)


def _titles(table: Any) -> list[str]:
    return [row["title"] for row in (table.row_at(i) for i in range(table.row_count)) if row is not None]


async def test_the_demo_dashboard_shows_its_first_alert_then_a_live_one(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch,
                                                                       clock: FakeClock) -> None:
    from crisiswatch.tui.app import CrisiswatchApp
    from crisiswatch.tui.widgets.alerts_table import AlertsTable
    from crisiswatch.tui.widgets.event_log import EventLog
    from crisiswatch.tui.widgets.headlines import Headlines

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("CRISISWATCH_BROWSER", "0")
    # speed=10 gives the 1 s poll interval; the fake clock means batches come only from release_next().
    with DemoServer(seed=11, speed=10, clock=clock) as server:
        app = CrisiswatchApp(server.config(), tmp_path / "demo.db", poll=True, pace=QUICK)
        async with app.run_test(size=(100, 30)) as pilot:
            alerts_table = app.screen.query_one(AlertsTable)
            await wait_for(pilot, lambda: alerts_table.row_count > 0, timeout=15)
            start_titles = {i.title for i in server.timeline.start}
            assert set(_titles(alerts_table)) <= start_titles
            headlines = app.screen.query_one(Headlines)
            await wait_for(pilot, lambda: headlines.row_count == len(start_titles), timeout=15)
            # Ordinary news is a headline, not an alert.
            await wait_for(pilot, lambda: alerts_table.row_count == len(alerts(tmp_path / "demo.db")), timeout=5)
            assert alerts_table.row_count < headlines.row_count

            live = server.release_next()[0].title
            assert live == "Грађани Звечана протестују због затварања амбуланте"
            # Newest first, without a key press: wait on exactly what is asserted (the table fills
            # a page at a time, so "live is listed" can hold a moment before "live is first").
            await wait_for(pilot, lambda: _titles(alerts_table)[:1] == [live], timeout=15)
            assert _titles(alerts_table)[0] == live
            # The event log follows its tail: the live alert's event is on screen. A short log is "at the
            # bottom" before the event arrives, so wait for the event first, then for the scroll to reach
            # it (polls keep adding lines, so the two are waited on one after the other, not at one instant).
            log = app.screen.query_one(EventLog)
            await wait_for(pilot, lambda: any(live in str(line) for line in log.lines), timeout=15)
            await wait_for(pilot, lambda: log.scroll_y == log.max_scroll_y, timeout=15)
            assert any(live in str(line) for line in log.lines)


@pytest.mark.slow
async def test_live_demo_news_stays_in_view_without_a_key_press(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                clock: FakeClock) -> None:
    from crisiswatch.tui.app import CrisiswatchApp
    from crisiswatch.tui.widgets.alerts_table import AlertsTable
    from crisiswatch.tui.widgets.headlines import Headlines

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("CRISISWATCH_BROWSER", "0")
    with DemoServer(seed=11, speed=10, clock=clock) as server:
        app = CrisiswatchApp(server.config(), tmp_path / "demo.db", poll=True, pace=QUICK)
        async with app.run_test(size=(80, 24)) as pilot:
            table = app.screen.query_one(AlertsTable)
            headlines = app.screen.query_one(Headlines)
            await wait_for(pilot, lambda: table.row_count > 0, timeout=15)
            for _ in range(3):  # three live batches, each in a poll of its own, after the panes already overflow
                before = headlines.row_count
                server.release_next()
                # The background poller fetches it now rather than at its next tick (the poller sleeps at
                # least 1 s): the same poll, store and watcher path, called as the app's own request_poll,
                # which touches no table. Arrival on the interval alone is the previous test's subject.
                app.request_poll(quiet=True)
                await wait_for(pilot, lambda b=before: headlines.row_count > b, timeout=15)
            # Every released item and alert is on screen (not merely polled) before judging the scroll.
            db = tmp_path / "demo.db"
            await wait_for(pilot, lambda: headlines.row_count == len(server.released())
                            and table.row_count == len(alerts(db)), timeout=15)
            # More rows than either pane shows, or "in view" would prove nothing.
            assert table.row_count > table.size.height and headlines.row_count > headlines.size.height
            assert table.scroll_y == 0, "the newest alert scrolled out of view"
            assert headlines.scroll_y == 0, "the newest headline scrolled out of view"
