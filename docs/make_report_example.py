"""Render docs/report-example.html (and .png) from the demo timeline.

The real path end to end: ``crisiswatch demo``'s loopback server releases its
scripted news over a simulated day (the server's and the poller's clocks are
driven from here, so a run takes seconds and gives the same dates every time),
the real Poller fetches, parses, matches and stores it, an analyst pins and
dismisses a few alerts, and the outlets' server is down for an hour in the
afternoon. One extra feed points at a closed port and fails all day. Then
``crisiswatch report`` renders the last 24 h in HTML, with Belgrade local times.

    python docs/make_report_example.py            # writes docs/report-example.html
    python docs/make_report_example.py --png      # and the PNG, with headless Chromium
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from crisiswatch.config import Feed
from crisiswatch.demo import DemoServer
from crisiswatch.poller import Poller
from crisiswatch.report import Period, load_zone, make_report, render
from crisiswatch.store import Store

HERE = Path(__file__).resolve().parent
START = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
END = START + timedelta(hours=24)
STEP = timedelta(minutes=10)
OUTAGE = (START + timedelta(hours=15), START + timedelta(hours=16))
"""The outlets' server is unreachable then: every feed goes down and recovers."""


class Clock:
    """The simulated time shared by the demo server (wall and monotonic) and the poller."""

    def __init__(self) -> None:
        self.now = START

    def wall(self) -> datetime:
        return self.now

    def monotonic(self) -> float:
        return (self.now - START).total_seconds()


async def simulate(db: Path) -> None:
    clock = Clock()
    batches = len(DemoServer(seed=7).timeline.batches)
    # The scripted news fills the day and ends just before it does (no replayed "UPDATE 1:" stories).
    spread = (END - START).total_seconds() * 0.985 / batches
    server = DemoServer(seed=7, interval=(spread * 0.95, spread * 1.05), clock=clock.monotonic, now=clock.wall)
    server.start()
    config = server.config(poll_interval=STEP.total_seconds())
    dead = Feed("Radio Ibar (offline)", "http://127.0.0.1:9/feed.xml")
    config = dataclasses.replace(config, feeds=(*config.feeds, dead))
    store = Store.open(db)
    poller = Poller(config, store, clock=clock.wall, workers=1)
    down = False
    try:
        while clock.now < END:
            outage = OUTAGE[0] <= clock.now < OUTAGE[1]
            if outage and not down:
                server.stop()
                down = True
            elif not outage and down:
                server.start()
                down = False
            await poller.poll_once()
            clock.now += STEP
    finally:
        poller.close()
        server.stop()
    alerts = store.alerts_page(0, 1000, show_dismissed=True)
    by_rank = sorted(alerts, key=lambda a: (-["low", "medium", "high", "critical"].index(a["severity"]),
                                           -a["feed_count"], a["id"]))
    for alert, minutes in zip(by_rank[:2], (390, 900), strict=False):
        store.set_alert_state(alert["id"], "pinned", now=START + timedelta(minutes=minutes))
    weakest = sorted(alerts, key=lambda a: (["low", "medium", "high", "critical"].index(a["severity"]), a["id"]))
    for alert, minutes in zip(weakest[:2], (420, 1000), strict=False):
        store.set_alert_state(alert["id"], "dismissed", now=START + timedelta(minutes=minutes))
    store.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--png", action="store_true", help="also write docs/report-example.png (needs chromium)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="crisiswatch-example-") as tmp:
        db = Path(tmp) / "demo.db"
        asyncio.run(simulate(db))
        period = Period.resolve(None, None, now=END, zone=load_zone("Europe/Belgrade"))
        with Store.open(db, readonly=True) as store:
            report = make_report(store, period, now=END)
        html = HERE / "report-example.html"
        html.write_text(render(report, "html"), encoding="utf-8")
        print(f"wrote {html}: {report.headline.alerts} alerts, {len(report.timeline)} timeline entries")
    if args.png:
        browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
        if browser is None:
            print("no chromium found (apt-get install -y chromium)", file=sys.stderr)
            return 1
        png = HERE / "report-example.png"
        subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                        f"--screenshot={png}", "--window-size=1200,2000", html.as_uri()],
                       check=True, capture_output=True, timeout=120)
        print(f"wrote {png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
