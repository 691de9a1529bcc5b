"""Key latency in the dashboard while the background poller polls 200 feeds.

A stdlib ThreadingHTTPServer on 127.0.0.1 serves 200 RSS feeds; every request
returns fresh items (new guids, a third naming a keyword), so each poll
stores thousands of items and hundreds of alerts while we type. The app runs
headless with the real poller (thread worker + process pool). A task sends
``j``/``k`` key events through the driver every 40 ms, like a user scrolling,
without waiting for the app to go idle; we record, per key, the time from the
Key event's creation to

* **handled** — the cursor action ran, and
* **painted** — the next screen refresh after it completed.

Keys are sent through two polls (the first at start-up, the second via ``r``).

    /work/venv/bin/python benchmarks/tui_latency.py [--feeds 200] [--items 30] [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import http.server
import itertools
import multiprocessing
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

from textual import events

from crisiswatch.config import Config, Feed, Keyword, Settings
from crisiswatch.store import Store
from crisiswatch.tui.app import CrisiswatchApp
from crisiswatch.tui.widgets.alerts_table import AlertsTable
from crisiswatch.tui.widgets.paged_table import PagedTable

WORDS = ["KFOR", "Jarinje", "roadblock", "Mitrovica", "Brnjak", "talks", "weather", "budget", "bridge", "police"]


class FeedServer:
    """200 feeds that never repeat an item."""

    def __init__(self, feeds: int, items: int) -> None:
        self.feeds = feeds
        self.items = items
        self.counter = itertools.count()
        self.requests = 0
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = outer.body(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def body(self, path: str) -> bytes:
        self.requests += 1
        batch = next(self.counter)
        now = datetime.now(UTC)
        entries = []
        for i in range(self.items):
            words = [WORDS[(batch + i + k) % len(WORDS)] for k in range(3)]
            title = f"Update {batch}-{i}: {' '.join(words)} {'reported' if i % 3 == 0 else 'noted'}"
            if i % 3:
                title = f"Update {batch}-{i}: regional news item {i}"
            entries.append(
                f"<item><title>{escape(title)}</title><link>http://news.example{escape(path)}/{batch}/{i}</link>"
                f"<guid isPermaLink='false'>{escape(path)}-{batch}-{i}</guid>"
                f"<description>{escape(title)} — details follow.</description>"
                f"<pubDate>{format_datetime(now - timedelta(seconds=i))}</pubDate></item>")
        return (f"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>{escape(path)}</title>"
                f"<link>http://news.example/</link><description>x</description>{''.join(entries)}</channel></rss>"
                ).encode()

    def __enter__(self) -> FeedServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def _serve(feeds: int, items: int, port: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    with FeedServer(feeds, items) as server:
        port.put(server.server.server_port)
        threading.Event().wait()


class ServerProcess:
    """The feed server in its own process, as remote feeds would be: its threads must not
    compete with the app for this process's GIL, or we would measure the benchmark, not the app."""

    def __init__(self, feeds: int, items: int) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.queue = ctx.Queue()
        self.process = ctx.Process(target=_serve, args=(feeds, items, self.queue), daemon=True)

    def __enter__(self) -> ServerProcess:
        self.process.start()
        self.base = f"http://127.0.0.1:{self.queue.get(timeout=30)}"
        return self

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        self.process.join(5)


def config(base: str, feeds: int) -> Config:
    keywords = (Keyword("KFOR"), Keyword("Jarinje", severity="high"), Keyword("roadblock", severity="high"),
                Keyword("Mitrovica"), Keyword("Brnjak", severity="critical"))
    return Config(None, Settings(poll_interval=3600.0, bell=False),
                  tuple(Feed(f"Feed {n:03d}", f"{base}/f/{n}.xml") for n in range(feeds)), keywords)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def measure(cfg: Config, db: Path, seconds: float, *, poll: bool = True) -> dict[str, list[float]]:
    handled: list[float] = []
    painted: list[float] = []
    app = CrisiswatchApp(cfg, db, poll=poll)
    original_down = PagedTable.action_cursor_down
    original_up = PagedTable.action_cursor_up
    pending: dict[int, float] = {}

    def stamp(self: PagedTable, original: object) -> None:
        event_time = pending.pop(id(self), None)
        original(self)  # type: ignore[operator]
        if event_time is not None:
            now = time.monotonic()
            handled.append(now - event_time)
            self.call_after_refresh(lambda: painted.append(time.monotonic() - event_time))

    PagedTable.action_cursor_down = lambda self: stamp(self, original_down)  # type: ignore[method-assign]
    PagedTable.action_cursor_up = lambda self: stamp(self, original_up)  # type: ignore[method-assign]
    polls_seen = 0
    try:
        async with app.run_test(size=(160, 48)) as pilot:
            table = app.screen.query_one(AlertsTable)
            table.focus()
            start = time.monotonic()
            second_poll_asked = False
            keys = itertools.cycle(["j"] * 15 + ["k"] * 15)
            while time.monotonic() - start < seconds:
                key = next(keys)
                event = events.Key(key, key)
                pending[id(table)] = event.time
                app._driver.send_message(event)  # type: ignore[union-attr]
                await asyncio.sleep(0.04)
                if not second_poll_asked and app._poller is not None and time.monotonic() - start > seconds / 2:
                    app.request_poll(quiet=True)
                    second_poll_asked = True
            await pilot.pause()
        with Store.open(db) as store:
            polls_seen = sum(1 for e in store.events_tail(100_000) if e["kind"] == "poll_finished")
            stats = (store.count_items(), store.count_alerts(show_dismissed=True))
    finally:
        PagedTable.action_cursor_down = original_down  # type: ignore[method-assign]
        PagedTable.action_cursor_up = original_up  # type: ignore[method-assign]
    print(f"  polls finished during the run: {polls_seen}; stored {stats[0]:,} items, {stats[1]:,} alerts")
    return {"handled": handled, "painted": painted}


async def fill(cfg: Config, db: Path) -> None:
    """For the baseline: one poll first, so the keys move through the same kind of data."""
    from crisiswatch.poller import Poller

    with Store.open(db) as store:
        poller = Poller(cfg, store)
        try:
            await poller.poll_once()
        finally:
            poller.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--items", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--baseline", action="store_true",
                        help="poll once first, then the same keys with polling off: what this machine gives an idle dashboard")
    args = parser.parse_args()
    with ServerProcess(args.feeds, args.items) as server, tempfile.TemporaryDirectory() as tmp:
        cfg = config(server.base, args.feeds)
        db = Path(tmp) / "latency.db"
        if args.baseline:
            asyncio.run(fill(cfg, db))
        result = asyncio.run(measure(cfg, db, args.seconds, poll=not args.baseline))
    for name, values in result.items():
        if not values:
            print(f"{name}: no samples")
            continue
        ms = [v * 1000 for v in values]
        during = "with polling off (baseline)" if args.baseline else f"during a {args.feeds}-feed poll"
        print(f"key latency ({name}) over {len(ms)} keys {during}: "
              f"p50 {statistics.median(ms):.1f} ms, p90 {pct(ms, 0.9):.1f} ms, p99 {pct(ms, 0.99):.1f} ms, "
              f"max {max(ms):.1f} ms (target p99 < 50 ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
