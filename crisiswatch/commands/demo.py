"""``crisiswatch demo``: the dashboard on synthetic feeds, fully offline.

The first command a new user runs, so it must need nothing: no feeds.toml
(``ctx.config`` is never touched), no network (the feeds come from a server on
127.0.0.1 inside this process), no leftovers (a temporary database, removed on
exit, unless ``--db`` asks to keep one).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import CrisiswatchError
from .context import Context

if TYPE_CHECKING:
    from ..demo import DemoServer


def _positive(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number") from None
    if not number > 0:
        raise argparse.ArgumentTypeError("must be more than zero")
    return number


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError("must be between 0 and 65535")
    return port


def register(sub: argparse._SubParsersAction, formatter: type[argparse.HelpFormatter]) -> None:
    p = sub.add_parser(
        "demo", help="try crisiswatch offline on synthetic feeds", formatter_class=formatter,
        description="Open the dashboard on six synthetic news feeds (English, Serbian Latin and\n"
        "Cyrillic, Albanian) served from 127.0.0.1 inside this process. A first screenful\n"
        "is there at once; new stories arrive every 10-20 seconds, so alerts, stories\n"
        "carried by several outlets and surges appear live. Needs no config file and no\n"
        "network; the database is temporary unless --db is given.",
        epilog="examples:\n"
        "  crisiswatch demo                        the dashboard on the demo feeds\n"
        "  crisiswatch demo --speed 3              news three times as fast\n"
        "  crisiswatch demo --db demo.db           keep the demo database afterwards\n"
        "  crisiswatch demo --headless             no dashboard: print alerts as they arrive\n"
        "  crisiswatch demo --headless --once      one poll of the first screenful, then exit\n"
        "  crisiswatch demo --port 8765 --seed 7   fixed address and a repeatable schedule",
    )
    p.add_argument("--speed", type=_positive, default=1.0, metavar="FACTOR",
                   help="release news FACTOR times as fast (default 1: a batch every 10-20 s); "
                   "feeds are polled correspondingly more often")
    p.add_argument("--seed", type=int, metavar="N", help="repeatable release schedule (default: random)")
    p.add_argument("--port", type=_port, default=0, metavar="PORT",
                   help="serve the feeds on this port of 127.0.0.1 (default: any free port)")
    p.add_argument("--db", dest="demo_db", metavar="PATH",
                   help="keep the demo database in PATH (same as the global --db; default: a temporary file)")
    p.add_argument("--headless", action="store_true",
                   help="no dashboard: poll in this terminal and print alerts and poll summaries")
    p.add_argument("--once", action="store_true", help="with --headless: poll once, then exit")
    p.add_argument("--duration", type=_positive, metavar="SECONDS", help="with --headless: stop after SECONDS")
    p.set_defaults(handler=run)


def run(ctx: Context) -> int:
    import shutil

    from ..demo import DemoServer, make_temp_dir

    args = ctx.args
    if (args.once or args.duration is not None) and not args.headless:
        raise CrisiswatchError("--once and --duration only apply with --headless", 2)
    chosen = getattr(args, "demo_db", None) or args.db
    tmpdir: Path | None = None
    if chosen:
        db_path = Path(chosen).expanduser()
    else:
        tmpdir = make_temp_dir()
        db_path = tmpdir / "demo.db"
    server = DemoServer(seed=args.seed, speed=args.speed, port=args.port)
    try:
        try:
            server.start()
        except OSError as exc:
            raise CrisiswatchError(f"cannot serve the demo feeds on 127.0.0.1:{args.port}: "
                                   f"{exc.strerror or exc}; try another --port, or leave it out", 1) from None
        if args.headless:
            return _headless(server, db_path, temporary=tmpdir is not None, once=args.once,
                             duration=args.duration)
        return _dashboard(server, db_path)
    finally:
        server.stop()
        if tmpdir is not None:
            shutil.rmtree(tmpdir, ignore_errors=True)
            if not args.headless:
                # The dashboard hid the banner; say where pins and the event log went.
                print("crisiswatch demo: the temporary database was removed "
                      "(run `crisiswatch demo --db PATH` to keep one)", file=sys.stderr)


def _dashboard(server: DemoServer, db_path: Path) -> int:
    try:
        from ..tui.app import run_app
    except ModuleNotFoundError as exc:
        if exc.name not in ("textual", "crisiswatch.tui", "crisiswatch.tui.app"):
            raise
        raise CrisiswatchError("the dashboard is not available in this installation "
                               f"({exc.name} is missing); try `crisiswatch demo --headless`", 1) from None
    return int(run_app(server.config(), db_path, poll=True) or 0)


def _headless(server: DemoServer, db_path: Path, *, temporary: bool, once: bool, duration: float | None) -> int:
    import asyncio
    import signal

    from ..demo import describe, headless

    def write(line: str) -> None:
        print(line, flush=True)

    write(describe(server, db_path, temporary=temporary))
    if not once:
        write("press Ctrl-C to stop")

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            loop.add_signal_handler(sig, stop.set)
        # Six small feeds parse in milliseconds: one in-process worker starts at once, where a
        # process pool would add seconds before the first alert on a busy laptop.
        await headless(server, db_path, stop=stop, duration=duration, once=once, write=write, workers=1)

    asyncio.run(main())
    if not once:
        print("crisiswatch demo: stopped", file=sys.stderr)
    return 0
