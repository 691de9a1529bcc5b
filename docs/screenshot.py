"""Regenerate docs/screenshot.svg: the dashboard on the demo feeds, as a new user first sees it.

    python docs/screenshot.py [--size 120x36] [--seed 7]

Serves the demo feeds on 127.0.0.1, polls them twice with the real poller
(the second time after a few more batches have been released, so the event
log and sparkline have something to show), then opens the real app on that
database and saves Textual's SVG screenshot.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path

from crisiswatch.demo import DemoServer
from crisiswatch.poller import Poller
from crisiswatch.store import Store
from crisiswatch.tui.app import CrisiswatchApp

OUT = Path(__file__).resolve().parent / "screenshot.svg"


async def main(size: tuple[int, int], seed: int) -> None:
    with tempfile.TemporaryDirectory() as tmp, DemoServer(seed=seed) as server:
        db = Path(tmp) / "demo.db"
        config = server.config()
        store = Store.open(db)
        poller = Poller(config, store, workers=1)
        try:
            await poller.poll_once()
            for _ in range(4):
                server.release_next()
            await poller.poll_once()
        finally:
            poller.close()
            store.close()
        app = CrisiswatchApp(config, db, poll=False)
        async with app.run_test(size=size) as pilot:
            await pilot.pause(1.0)
            app.save_screenshot(filename=OUT.name, path=str(OUT.parent))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="120x36", help="columns x rows (default 120x36)")
    parser.add_argument("--seed", type=int, default=7, help="demo schedule seed (default 7)")
    args = parser.parse_args()
    cols, rows = (int(v) for v in args.size.lower().split("x"))
    asyncio.run(main((cols, rows), args.seed))
