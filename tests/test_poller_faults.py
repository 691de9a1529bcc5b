"""The poller against servers that misbehave: every failure recorded with its reason,
the schedule honouring Retry-After and backing off, good items always kept."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from faultserver import FaultServer, big_feed
from feedgen import rss
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from crisiswatch.config import Config, Feed, Keyword, Settings
from crisiswatch.models import from_iso, utcnow
from crisiswatch.poller import Poller, PollSummary
from crisiswatch.store import Store
from crisiswatch.worker import init_worker, parse_and_match

KEYWORDS = (Keyword("KFOR", severity="high"), Keyword("Ibar"))


def make_config(feeds: list[tuple[str, str]], **settings: object) -> Config:
    base = {"timeout": 2.0, **settings}
    return Config(None, Settings(**base), tuple(Feed(n, u) for n, u in feeds), KEYWORDS)


def run_poll(config: Config, db: Path, *, workers: int = 1, feeds: list[Feed] | None = None,
             at: datetime | None = None):
    """One ``poll_once`` in a fresh process-like Poller; ``at`` sets its clock (hold-offs are judged by it)."""
    store = Store.open(db)
    poller = Poller(config, store, workers=workers, **({"clock": lambda: at} if at is not None else {}))
    try:
        return asyncio.run(poller.poll_once(feeds)), store
    finally:
        poller.close()


def events(store: Store, kind: str) -> list[dict]:
    return [e for e in store.events_tail(10_000) if e["kind"] == kind]


def row(store: Store, name: str) -> dict:
    return next(r for r in store.feeds() if r["name"] == name)


def test_gone_feed_is_not_polled_again_until_reenabled(fault_server: FaultServer, tmp_path: Path) -> None:
    url = fault_server.url("/status?code=410&case=gone1")
    config = make_config([("gone", url), ("fine", fault_server.url("/rss?n=3&tag=gone1"))])
    summary, store = run_poll(config, tmp_path / "cw.db")
    assert summary.errors == 1 and summary.ok == 1
    assert row(store, "gone")["gone"] == 1
    assert "410" in events(store, "feed_gone")[0]["detail"]
    before = len(fault_server.requests_to("/status?code=410&case=gone1"))
    summary, store = run_poll(config, tmp_path / "cw.db")
    assert summary.feeds == 1  # only "fine"
    assert len(fault_server.requests_to("/status?code=410&case=gone1")) == before
    assert store.reenable_feed("gone")
    summary, store = run_poll(config, tmp_path / "cw.db")
    assert summary.feeds == 2


@pytest.mark.parametrize("retry", ["600", "date:900"])
def test_rate_limited_feed_waits_for_retry_after(fault_server: FaultServer, tmp_path: Path, retry: str) -> None:
    config = make_config([("limited", fault_server.url(f"/ratelimit?code=429&retry={retry}"))])
    _, store = run_poll(config, tmp_path / "cw.db")
    feed = row(store, "limited")
    wait = from_iso(feed["next_poll"]) - from_iso(feed["last_fetch"])
    assert wait >= timedelta(seconds=590)
    assert feed["last_error_kind"] == "ratelimit"


def test_failures_back_off_exponentially_with_a_cap(fault_server: FaultServer, tmp_path: Path) -> None:
    config = make_config([("flaky", fault_server.url("/status?code=500&case=backoff"))], poll_interval=60.0)
    waits = []
    at = utcnow()
    for _ in range(4):
        _, store = run_poll(config, tmp_path / "cw.db", at=at)
        feed = row(store, "flaky")
        waits.append((from_iso(feed["next_poll"]) - from_iso(feed["last_fetch"])).total_seconds())
        at = from_iso(feed["next_poll"]) + timedelta(seconds=1)  # each poll after the backoff has passed
    assert feed["failures"] == 4
    for n, wait in enumerate(waits):
        assert 60 * 2**n * 0.8 <= wait <= 60 * 2**n * 1.2, waits
    assert len(events(store, "fetch_error")) == 4
    assert all("500" in e["detail"] for e in events(store, "fetch_error"))


def test_recovery_and_permanent_moves(httpserver: HTTPServer, tmp_path: Path) -> None:
    state = {"fail": True}

    def flaky(_: Request) -> Response:
        if state["fail"]:
            return Response("down", status=503)
        return Response(rss("R", [("a", "KFOR at the Ibar bridge")]), content_type="application/rss+xml")

    httpserver.expect_request("/flaky").respond_with_handler(flaky)
    httpserver.expect_request("/old").respond_with_response(
        Response(status=301, headers={"Location": httpserver.url_for("/new")}))
    httpserver.expect_request("/temp").respond_with_response(
        Response(status=302, headers={"Location": httpserver.url_for("/new")}))
    httpserver.expect_request("/new").respond_with_data(rss("N", [("n", "Markets")]), content_type="application/rss+xml")
    config = make_config([("flaky", httpserver.url_for("/flaky")), ("moved", httpserver.url_for("/old")),
                          ("temp", httpserver.url_for("/temp"))])
    _, store = run_poll(config, tmp_path / "cw.db")
    assert row(store, "flaky")["failures"] == 1
    assert row(store, "moved")["url"] == httpserver.url_for("/new")
    assert row(store, "temp")["url"] == httpserver.url_for("/temp")
    assert [e["feed"] for e in events(store, "feed_moved")] == ["moved"]
    state["fail"] = False
    # flaky's one failure holds it off for a minute (even for poll --once): poll after that.
    summary, store = run_poll(config, tmp_path / "cw.db", at=utcnow() + timedelta(minutes=2))
    assert summary.errors == 0 and summary.new_alerts == 1
    assert [e["feed"] for e in events(store, "feed_recovered")] == ["flaky"]


def test_each_bad_document_names_its_cause(fault_server: FaultServer, tmp_path: Path) -> None:
    cases = {"html": "/html", "empty": "/empty", "malformed": "/malformed", "loop": "/loop/a",
             "chain": "/chain?hops=7", "bomb": "/bomb?gb=1", "huge": "/oversized?mb=3"}
    config = make_config([(n, fault_server.url(p)) for n, p in cases.items()], max_feed_bytes=1_000_000)
    summary, store = run_poll(config, tmp_path / "cw.db")
    assert summary.errors == len(cases)
    detail = {e["feed"]: e["detail"].lower() for e in events(store, "fetch_error")}
    assert "html" in detail["html"]
    assert "empty" in detail["empty"]
    assert "malformed" in detail["malformed"]
    assert "redirect" in detail["loop"] and "redirect" in detail["chain"]
    assert "cap" in detail["bomb"] and "cap" in detail["huge"]


def test_hostile_text_is_inert_in_the_store(fault_server: FaultServer, tmp_path: Path) -> None:
    config = make_config([("ansi", fault_server.url("/ansi")), ("long", fault_server.url("/long-title"))])
    _, store = run_poll(config, tmp_path / "cw.db")
    titles = [r["title"] for r in store.conn.execute("select title, summary from items")]
    assert titles
    for (title,) in ((t,) for t in titles):
        assert "\x1b" not in title and "\u202e" not in title and len(title) <= 1000
        assert not any(ord(c) < 32 for c in title)


def test_stalling_feeds_cost_at_most_the_deadline(fault_server: FaultServer, tmp_path: Path) -> None:
    feeds = [(f"ok{n}", fault_server.url(f"/rss?n=5&tag=stall{n}")) for n in range(14)]
    feeds += [(f"stall{n}", fault_server.url(f"/stall-body?seconds=30&i={n}")) for n in range(3)]
    feeds += [(f"trickle{n}", fault_server.url(f"/trickle?interval=0.3&i={n}")) for n in range(3)]
    config = make_config(feeds, timeout=0.6)
    started = time.monotonic()
    summary, _ = run_poll(config, tmp_path / "cw.db")
    elapsed = time.monotonic() - started
    assert summary.ok == 14 and summary.errors == 6, [r.error for r in summary.reports if r.error]
    assert elapsed < 0.6 + 3.0, elapsed  # the stalls last 30 s: finishing at all proves the deadline


@pytest.mark.slow
def test_a_big_feed_parses_off_the_loop(fault_server: FaultServer, tmp_path: Path) -> None:
    """A big feed is parsed in the process pool: the event loop never stalls for anything like
    the time its parse takes, and slow small feeds still meet a tight deadline.

    The probe is a ticker on the poll's own loop; the control is the same parse and match timed
    here, which is what the loop would stall for if the poller parsed on it. A first poll of a
    small feed starts the pool and the HTTP client, so the probe watches the big feed alone.
    """
    mb = 1.0
    url = fault_server.url(f"/big?mb={mb}")
    body = big_feed(mb)  # what /big serves (built once per process)
    init_worker(KEYWORDS, ())
    started = time.perf_counter()
    parse_and_match(body, "application/rss+xml", url, utcnow())
    parse_seconds = time.perf_counter() - started
    feeds = [("big", url)] + [(f"slow{n}", fault_server.url(f"/slow?delay=0.4&i={n}")) for n in range(6)]
    config = make_config(feeds + [("warm", fault_server.url("/rss?n=1&tag=warm-pool"))], timeout=2.0,
                         max_feed_bytes=20_000_000, per_host_connections=10)
    gaps: list[float] = []

    async def polls() -> PollSummary:
        await poller.poll_once([f for f in config.feeds if f.name == "warm"])
        done = asyncio.Event()

        async def ticker() -> None:
            last = time.monotonic()
            while not done.is_set():
                await asyncio.sleep(0.005)
                now = time.monotonic()
                gaps.append(now - last)
                last = now

        tick = asyncio.ensure_future(ticker())
        try:
            return await poller.poll_once([f for f in config.feeds if f.name != "warm"])
        finally:
            done.set()
            await tick

    store = Store.open(tmp_path / "cw.db")
    poller = Poller(config, store, workers=2)
    try:
        summary = asyncio.run(polls())
    finally:
        poller.close()
    assert summary.errors == 0, [r.error for r in summary.reports if r.error]
    assert row(store, "big")["items_count"] == body.count(b"<item>") > 500
    assert parse_seconds > 0.1, parse_seconds  # long enough for a stall to show
    assert max(gaps) < parse_seconds / 3, (max(gaps), parse_seconds)
