"""A server's wishes outrank the user's "now" (issue 15).

``poll --once`` and the dashboard's ``r`` override the user's interval, never a
server's hold-off: a 429/503 Retry-After (seconds or HTTP-date), a 410, or the
error backoff. Holds live in SQLite, so separate processes (cron running
``poll --once``) honour them. A 301/308 is stored only once the new address
answered with a feed. Real loopback servers and real SQLite files throughout.
"""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from faultserver import FaultServer
from feedgen import rss
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from crisiswatch.cli import main
from crisiswatch.config import Config, Feed, Keyword, Settings
from crisiswatch.models import FetchResult, from_iso, utcnow
from crisiswatch.poller import HOLD_BASE, MAX_BACKOFF, Poller, PollSummary
from crisiswatch.store import Store

KEYWORDS = (Keyword("KFOR", severity="high"),)


def make_config(feeds: list[tuple[str, str]], **settings: object) -> Config:
    return Config(None, Settings(**{"timeout": 3.0, **settings}), tuple(Feed(n, u) for n, u in feeds), KEYWORDS)


def poll_at(config: Config, db: Path, at: datetime | None = None) -> PollSummary:
    """One ``poll_once`` by a fresh Poller and Store (as a new process would), its clock at ``at``."""
    store = Store.open(db)
    poller = Poller(config, store, workers=1, **({"clock": lambda: at} if at is not None else {}))
    try:
        return asyncio.run(poller.poll_once())
    finally:
        poller.close()
        store.close()


def feed_row(db: Path, name: str) -> dict:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        return dict(conn.execute("SELECT * FROM feeds WHERE name = ?", (name,)).fetchone())
    finally:
        conn.close()


def event_kinds(db: Path, feed: str) -> list[str]:
    conn = sqlite3.connect(db)
    try:
        return [k for (k,) in conn.execute("SELECT kind FROM events WHERE feed = ? ORDER BY id", (feed,))]
    finally:
        conn.close()


def write_config(path: Path, feeds: list[tuple[str, str]]) -> Path:
    path.write_text('[settings]\ntimeout = "3s"\n' + "".join(
        f'[[feeds]]\nname = "{n}"\nurl = "{u}"\n' for n, u in feeds), encoding="utf-8")
    return path


# -- Retry-After -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("code", "retry", "seconds"), [(429, "3600", 3600), (503, "date:900", 900)])
def test_retry_after_holds_poll_once_across_processes(fault_server: FaultServer, tmp_path: Path, code: int,
                                                      retry: str, seconds: int) -> None:
    """The cron user: two separate ``poll --once`` processes; the limited feed is fetched once."""
    limited = f"/ratelimit?code={code}&retry={retry}&case=cron{code}"
    fine = f"/rss?n=2&tag=cron{code}"
    cfg = write_config(tmp_path / "feeds.toml", [("limited", fault_server.url(limited)),
                                                 ("fine", fault_server.url(fine))])
    db = tmp_path / "cw.db"
    argv = [sys.executable, "-m", "crisiswatch.cli", "--config", str(cfg), "--db", str(db), "poll", "--once", "-v"]
    first = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=True)
    assert "1 errors" in first.stderr
    row = feed_row(db, "limited")
    assert row["hold_kind"] == "retry-after" and f"HTTP {code}" in row["hold_reason"]
    held_for = (from_iso(row["hold_until"]) - from_iso(row["last_fetch"])).total_seconds()
    assert seconds - 3 <= held_for <= seconds + 1
    second = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=True)
    assert "polled 1 feeds" in second.stderr and "1 held off by their servers" in second.stderr
    assert f"limited: held off until {row['hold_until']}" in second.stderr  # -v names it
    assert len(fault_server.requests_to(limited)) == 1
    assert len(fault_server.requests_to(fine)) == 2


def test_a_retry_after_that_has_passed_lets_the_feed_be_fetched(fault_server: FaultServer, tmp_path: Path) -> None:
    path = "/ratelimit?code=429&retry=1&case=short"
    config = make_config([("limited", fault_server.url(path))])
    db = tmp_path / "cw.db"
    poll_at(config, db)
    until = from_iso(feed_row(db, "limited")["hold_until"])
    assert until is not None
    assert poll_at(config, db, until - timedelta(seconds=0.5)).held  # still on: not fetched
    assert len(fault_server.requests_to(path)) == 1
    summary = poll_at(config, db, until + timedelta(milliseconds=1))  # a new process, just past the hold-off
    assert not summary.held and summary.feeds == 1
    assert len(fault_server.requests_to(path)) == 2


def test_retry_after_zero_is_no_hold(fault_server: FaultServer, tmp_path: Path) -> None:
    path = "/ratelimit?code=503&retry=0&case=zero"
    config = make_config([("busy", fault_server.url(path))])
    db = tmp_path / "cw.db"
    poll_at(config, db)
    assert feed_row(db, "busy")["hold_until"] is None
    poll_at(config, db)
    assert len(fault_server.requests_to(path)) == 2


# -- error backoff -----------------------------------------------------------------------------------------


def test_error_backoff_holds_poll_once_and_doubles(fault_server: FaultServer, tmp_path: Path) -> None:
    path = "/status?code=500&case=doubling"
    config = make_config([("broken", fault_server.url(path))], poll_interval=300.0)
    db = tmp_path / "cw.db"
    at = utcnow()
    holds = []
    for n in range(1, 8):
        poll_at(config, db, at)
        row = feed_row(db, "broken")
        assert row["failures"] == n and row["hold_kind"] == "backoff"
        until = from_iso(row["hold_until"])
        holds.append((until - from_iso(row["last_fetch"])).total_seconds())
        # Just before the hold ends, --once does not fetch it...
        assert [h.name for h in poll_at(config, db, until - timedelta(seconds=1)).held] == ["broken"]
        assert len(fault_server.requests_to(path)) == n
        at = until + timedelta(seconds=1)  # ...just after, it does
    assert holds == [min(HOLD_BASE * 2**k, MAX_BACKOFF) for k in range(7)]
    assert "after 7 failures in a row (last: HTTP 500" in feed_row(db, "broken")["hold_reason"]


def test_recovery_lifts_the_hold(httpserver: HTTPServer, tmp_path: Path) -> None:
    state = {"fail": True}
    httpserver.expect_request("/flaky").respond_with_handler(
        lambda _: Response("down", status=500) if state["fail"] else
        Response(rss("F", [("f1", "KFOR at the bridge")]), content_type="application/rss+xml"))
    config = make_config([("flaky", httpserver.url_for("/flaky"))])
    db = tmp_path / "cw.db"
    poll_at(config, db)
    state["fail"] = False
    later = utcnow() + timedelta(seconds=HOLD_BASE + 1)
    summary = poll_at(config, db, later)
    assert summary.ok == 1 and summary.new_alerts == 1
    row = feed_row(db, "flaky")
    assert (row["failures"], row["hold_until"], row["hold_kind"], row["hold_reason"]) == (0, None, None, None)


def test_backoff_after_1100_failures_is_capped_and_rescheduled(fault_server: FaultServer, tmp_path: Path) -> None:
    """2 ** 1100 used to raise OverflowError every cycle, leaving the feed never rescheduled."""
    path = "/status?code=503&case=overflow"
    config = make_config([("dead", fault_server.url(path))], poll_interval=300.0)
    db = tmp_path / "cw.db"
    poll_at(config, db)
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("UPDATE feeds SET failures = 1100, hold_until = NULL")
    conn.close()
    summary = poll_at(config, db)
    assert summary.errors == 1
    row = feed_row(db, "dead")
    assert row["failures"] == 1101
    fetched = from_iso(row["last_fetch"])
    assert (from_iso(row["hold_until"]) - fetched).total_seconds() == MAX_BACKOFF
    assert MAX_BACKOFF <= (from_iso(row["next_poll"]) - fetched).total_seconds() <= MAX_BACKOFF * 1.15
    poller = Poller(config, Store.open(tmp_path / "unit.db"), workers=1)
    try:
        failed = FetchResult("u", status=500, error="HTTP 500", error_kind="http")
        for failures in (1025, 10**6, 10**30):
            next_poll, hold = poller._schedule(config.feeds[0], failed, failures, fetched)
            assert hold is not None and (hold[0] - fetched).total_seconds() == MAX_BACKOFF
            assert (next_poll - fetched).total_seconds() <= MAX_BACKOFF * 1.15
    finally:
        poller.close()


# -- the run loop and the TUI's r ---------------------------------------------------------------------------


def test_request_poll_skips_held_and_gone_feeds(fault_server: FaultServer, tmp_path: Path) -> None:
    """What the dashboard's ``r`` calls: every feed now, except those a server holds off."""
    paths = {"limited": "/ratelimit?code=429&retry=3600&case=r", "broken": "/status?code=500&case=r",
             "gone": "/status?code=410&case=r", "fine": "/rss?n=2&tag=r"}
    config = make_config([(n, fault_server.url(p)) for n, p in paths.items()], poll_interval=3600.0)
    store = Store.open(tmp_path / "cw.db")
    poller = Poller(config, store, workers=1)
    answered: list[list[str]] = []
    summaries: list[PollSummary] = []

    def count(name: str) -> int:
        return len(fault_server.requests_to(paths[name]))

    async def scenario() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        runner = asyncio.create_task(poller.run(stop, on_summary=summaries.append))
        deadline = loop.time() + 20
        while not summaries:
            assert loop.time() < deadline, "first cycle did not finish"
            await asyncio.sleep(0.02)
        answered.append(sorted(h.name for h in poller.request_poll()))
        while count("fine") < 2:
            assert loop.time() < deadline, "r did not poll the fine feed"
            await asyncio.sleep(0.02)
        stop.set()
        await runner

    try:
        asyncio.run(scenario())
    finally:
        poller.close()
        store.close()
    assert answered == [["broken", "limited"]]
    assert (count("limited"), count("broken"), count("gone")) == (1, 1, 1)
    assert [s.feeds for s in summaries] == [4, 1]
    assert sorted(h.name for h in summaries[1].held) == ["broken", "limited"]


async def test_the_dashboards_r_does_not_fetch_a_held_feed(fault_server: FaultServer, tmp_path: Path) -> None:
    from pilotkit import QUICK, wait_for

    from crisiswatch.tui.app import CrisiswatchApp

    limited, fine = "/ratelimit?code=429&retry=3600&case=tui", "/rss?n=2&tag=tui"
    config = make_config([("limited", fault_server.url(limited)), ("fine", fault_server.url(fine))],
                         poll_interval=3600.0)
    app = CrisiswatchApp(config, tmp_path / "tui.db", poll=True, pace=QUICK)

    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: len(fault_server.requests_to(fine)) == 1
                       and len(fault_server.requests_to(limited)) == 1 and app._poller is not None, timeout=20)
        await pilot.press("r")
        await wait_for(pilot, lambda: len(fault_server.requests_to(fine)) == 2, timeout=20)
        await pilot.press("r")
        await wait_for(pilot, lambda: len(fault_server.requests_to(fine)) == 3, timeout=20)
    assert len(fault_server.requests_to(limited)) == 1


# -- check --probe -----------------------------------------------------------------------------------------


def test_check_and_probe_say_which_feeds_are_held_off_and_until_when(
        fault_server: FaultServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    limited, gone = "/ratelimit?code=429&retry=3600&case=probe", "/status?code=410&case=probe"
    cfg = write_config(tmp_path / "feeds.toml", [("limited", fault_server.url(limited)),
                                                 ("gone", fault_server.url(gone)),
                                                 ("fine", fault_server.url("/rss?tag=probe"))])
    db = tmp_path / "cw.db"
    assert main(["--config", str(cfg), "--db", str(db), "poll", "--once"]) == 0
    until = feed_row(db, "limited")["hold_until"]
    capsys.readouterr()
    assert main(["--config", str(cfg), "--db", str(db), "check"]) == 0
    out = capsys.readouterr().out
    assert f"held off: limited: held off until {until} — HTTP 429 Too Many Requests" in out
    assert "held off: gone: held off until re-enabled" in out and "fine:" not in out
    assert main(["--config", str(cfg), "--db", str(db), "check", "--probe"]) == 1
    captured = capsys.readouterr()
    line = next(x for x in captured.out.splitlines() if x.startswith("limited "))
    assert f"[held off until {until}: HTTP 429 Too Many Requests" in line
    assert "[held off until re-enabled" in next(x for x in captured.out.splitlines() if x.startswith("gone "))
    assert "2 held off by their servers: probed anyway" in captured.err
    assert len(fault_server.requests_to(limited)) == 2  # the probe may still probe; poll did once
    events_before = sqlite3.connect(db).execute("SELECT count(*) FROM events").fetchone()[0]
    assert main(["--config", str(cfg), "--db", str(db), "check", "--probe"]) == 1
    assert sqlite3.connect(db).execute("SELECT count(*) FROM events").fetchone()[0] == events_before


# -- user actions ------------------------------------------------------------------------------------------


def test_reenable_clears_backoff_but_keeps_a_retry_after(fault_server: FaultServer, tmp_path: Path) -> None:
    config = make_config([("limited", fault_server.url("/ratelimit?code=429&retry=3600&case=re")),
                          ("broken", fault_server.url("/status?code=500&case=re"))])
    db = tmp_path / "cw.db"
    poll_at(config, db)
    with Store.open(db) as store:
        assert store.reenable_feed("limited") and store.reenable_feed("broken")
    assert feed_row(db, "broken")["hold_until"] is None
    assert feed_row(db, "limited")["hold_kind"] == "retry-after"
    assert [h.name for h in poll_at(config, db).held] == ["limited"]


def test_a_changed_config_url_lifts_the_hold(fault_server: FaultServer, tmp_path: Path) -> None:
    db = tmp_path / "cw.db"
    poll_at(make_config([("desk", fault_server.url("/ratelimit?code=429&retry=3600&case=edit"))]), db)
    summary = poll_at(make_config([("desk", fault_server.url("/rss?tag=edit"))]), db)
    assert summary.ok == 1 and not summary.held


# -- permanent redirects -----------------------------------------------------------------------------------


@pytest.mark.parametrize("code", [301, 308])
def test_a_permanent_redirect_to_a_portal_keeps_the_feed_until_the_new_url_serves_a_feed(
        httpserver: HTTPServer, tmp_path: Path, code: int) -> None:
    state = {"portal": True}
    portal = b"<!doctype html><html><head><title>Hotel Wi-Fi login</title></head><body>Log in</body></html>"

    def new(_: Request) -> Response:
        if state["portal"]:
            return Response(portal, content_type="text/html")
        return Response(rss("Moved", [("m1", "KFOR moved its feed")]), content_type="application/rss+xml")

    httpserver.expect_request("/old").respond_with_response(
        Response(status=code, headers={"Location": httpserver.url_for("/new")}))
    httpserver.expect_request("/new").respond_with_handler(new)
    old = httpserver.url_for("/old")
    config = make_config([("desk", old)])
    db = tmp_path / "cw.db"
    at = utcnow()
    for _ in range(2):  # the portal answers twice; each time the old URL is kept and the error recorded
        summary = poll_at(config, db, at)
        assert summary.errors == 1
        row = feed_row(db, "desk")
        assert row["url"] == old
        assert "got an HTML page, not a feed" in row["last_error"]
        assert f"at {httpserver.url_for('/new')}, reached by a permanent redirect" in row["last_error"]
        at = from_iso(row["hold_until"]) + timedelta(seconds=1)
    assert "feed_moved" not in event_kinds(db, "desk")
    state["portal"] = False
    summary = poll_at(config, db, at)
    assert summary.ok == 1 and summary.new_alerts == 1
    assert feed_row(db, "desk")["url"] == httpserver.url_for("/new")
    assert event_kinds(db, "desk").count("feed_moved") == 1


@pytest.mark.parametrize("code", [302, 307])
def test_a_temporary_redirect_is_never_stored(httpserver: HTTPServer, tmp_path: Path, code: int) -> None:
    httpserver.expect_request("/temp").respond_with_response(
        Response(status=code, headers={"Location": httpserver.url_for("/real")}))
    httpserver.expect_request("/real").respond_with_data(rss("R", [("r1", "x")]), content_type="application/rss+xml")
    config = make_config([("desk", httpserver.url_for("/temp"))])
    db = tmp_path / "cw.db"
    for _ in range(3):
        assert poll_at(config, db).ok == 1
    assert feed_row(db, "desk")["url"] == httpserver.url_for("/temp")
    assert "feed_moved" not in event_kinds(db, "desk")


def test_a_permanent_redirect_answered_by_a_304_is_not_stored(httpserver: HTTPServer, tmp_path: Path) -> None:
    """A 304 carries no feed to check the new address by; the move waits for a 200 with one."""
    state = {"moved": False}

    def old(request: Request) -> Response:
        if state["moved"]:
            return Response(status=301, headers={"Location": httpserver.url_for("/new")})
        return Response(rss("O", [("o1", "x")]), headers={"ETag": '"v1"'}, content_type="application/rss+xml")

    def new(request: Request) -> Response:
        if request.headers.get("If-None-Match") == '"v1"':
            return Response(status=304, headers={"ETag": '"v1"'})
        return Response(rss("O", [("o1", "x")]), headers={"ETag": '"v2"'}, content_type="application/rss+xml")

    httpserver.expect_request("/old").respond_with_handler(old)
    httpserver.expect_request("/new").respond_with_handler(new)
    config = make_config([("desk", httpserver.url_for("/old"))])
    db = tmp_path / "cw.db"
    poll_at(config, db)
    state["moved"] = True
    assert poll_at(config, db).not_modified == 1
    assert feed_row(db, "desk")["url"] == httpserver.url_for("/old")
    assert "feed_moved" not in event_kinds(db, "desk")


def test_a_permanent_redirect_to_an_error_keeps_the_url_and_records_it(fault_server: FaultServer,
                                                                       tmp_path: Path) -> None:
    url = fault_server.url("/redirect?code=301&to=/status%3Fcode%3D404%26case%3Dmoved404")
    config = make_config([("desk", url)])
    db = tmp_path / "cw.db"
    poll_at(config, db)
    row = feed_row(db, "desk")
    assert row["url"] == url and "HTTP 404" in row["last_error"] and row["hold_kind"] == "backoff"


def test_a_hold_reason_never_stores_a_secret_from_a_url(httpserver: HTTPServer, tmp_path: Path) -> None:
    """The reason quotes the last error, which can name a redirect target with credentials in it."""
    secret_target = httpserver.url_for("/portal").replace("http://", "http://desk:hunter2@")
    httpserver.expect_request("/old").respond_with_response(Response(status=301, headers={"Location": secret_target}))
    httpserver.expect_request("/portal").respond_with_data("<!doctype html><html><body>login</body></html>",
                                                           content_type="text/html")
    db = tmp_path / "cw.db"
    poll_at(make_config([("desk", httpserver.url_for("/old"))]), db)
    row = feed_row(db, "desk")
    assert row["hold_kind"] == "backoff" and "reached by a permanent redirect" in row["hold_reason"]
    assert "hunter2" not in row["hold_reason"] and "hunter2" not in row["last_error"]
    conn = sqlite3.connect(db)
    assert not conn.execute("SELECT count(*) FROM events WHERE detail LIKE '%hunter2%'").fetchone()[0]


def test_a_feed_with_a_short_interval_is_held_no_longer_than_its_interval(fault_server: FaultServer,
                                                                          tmp_path: Path) -> None:
    config = make_config([("fast", fault_server.url("/status?code=502&case=fast"))], poll_interval=2.0)
    db = tmp_path / "cw.db"
    at = utcnow()
    holds = []
    for _ in range(3):
        poll_at(config, db, at)
        row = feed_row(db, "fast")
        until = from_iso(row["hold_until"])
        holds.append((until - from_iso(row["last_fetch"])).total_seconds())
        at = until + timedelta(seconds=1)
    assert holds == [2.0, 4.0, 8.0]


def test_feeds_enable_lets_a_cron_user_poll_a_gone_feed_again(fault_server: FaultServer, tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    gone, limited = "/status?code=410&case=enable", "/ratelimit?code=429&retry=3600&case=enable"
    cfg = write_config(tmp_path / "feeds.toml", [("Gone wire", fault_server.url(gone)),
                                                 ("limited", fault_server.url(limited))])
    db = tmp_path / "cw.db"
    argv = ["--config", str(cfg), "--db", str(db)]
    assert main([*argv, "feeds", "enable", "gone wire"]) == 0
    assert "has never been polled" in capsys.readouterr().out
    assert main([*argv, "poll", "--once"]) == 0
    assert main([*argv, "poll", "--once"]) == 0
    assert len(fault_server.requests_to(gone)) == 1
    capsys.readouterr()
    assert main([*argv, "feeds", "enable", "GONE WIRE"]) == 0
    assert "re-enabled 'Gone wire': the next poll fetches it" in capsys.readouterr().out
    assert main([*argv, "feeds", "enable", "limited"]) == 0
    until = feed_row(db, "limited")["hold_until"]
    assert f"Retry-After still holds it until {until}" in capsys.readouterr().out
    assert main([*argv, "poll", "--once"]) == 0
    assert len(fault_server.requests_to(gone)) == 2 and len(fault_server.requests_to(limited)) == 1
    assert "feed_reenabled" in event_kinds(db, "Gone wire")
    assert main([*argv, "feeds", "enable", "nope"]) == 2
    assert "no feed named 'nope'" in capsys.readouterr().err
