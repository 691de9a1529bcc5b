"""``crisiswatch poll``: headless polling, once or forever."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from .context import Context

if TYPE_CHECKING:
    from ..notify import Notifier


def register(sub: argparse._SubParsersAction, formatter: type[argparse.HelpFormatter]) -> None:
    p = sub.add_parser(
        "poll", help="poll feeds headless (forever, or --once)", formatter_class=formatter,
        description="Fetch every feed on its interval, store new items, raise alerts. Runs until "
        "SIGINT/SIGTERM; each cycle ends with a summary line on stderr.",
        epilog="examples:\n"
        "  crisiswatch poll --once           one cycle, then exit\n"
        "  crisiswatch poll --once -v        with a line per feed\n"
        "  crisiswatch --db /srv/cw.db poll  run forever (e.g. under systemd or tmux)",
    )
    p.add_argument("--once", action="store_true", help="poll every feed once and exit (feeds a server holds "
                   "off — Retry-After, error backoff, 410 — still wait)")
    p.add_argument("-v", "--verbose", action="store_true", help="print a line per feed")
    p.set_defaults(handler=run)


def run(ctx: Context) -> int:
    import asyncio
    import contextlib
    import signal

    from ..fetch import warm_tls

    warm_tls()  # overlaps loading the config and opening the database
    from ..poller import FeedReport, Poller, PollSummary
    from ..redact import redact_text
    from ..termsafe import one_line

    config = ctx.config
    if not config.feeds:
        print(f"crisiswatch: {ctx.config_path} has no [[feeds]]; add one (see `crisiswatch feeds add --help`)",
              file=sys.stderr)
        return 2
    verbose = ctx.args.verbose

    def report(r: FeedReport) -> None:
        if verbose:
            print(r.line(), file=sys.stderr, flush=True)

    def summary(s: PollSummary) -> None:
        if verbose:
            for hold in s.held:  # not fetched: the server's hold-off outranks --once
                print(f"{'held off':<12} ---  {one_line(redact_text(hold.line()))}", file=sys.stderr, flush=True)
        print(s.line(), file=sys.stderr, flush=True)

    notifier = _notifier(ctx)
    store = ctx.open_store()
    poller = Poller(config, store, on_report=report, notifier=notifier)

    async def main() -> int:
        # SIGINT and SIGTERM end the run promptly and quietly: the cycle in flight is cancelled (every
        # feed is written in its own transaction, so nothing committed is lost) and the workers, the
        # notifier and the database are closed in order below, without a traceback from anyone.
        stop = asyncio.Event()
        received: list[int] = []
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, lambda sig=sig: (received.append(sig), stop.set()))
        if ctx.args.once:
            work = asyncio.ensure_future(poller.poll_once())
        else:
            work = asyncio.ensure_future(poller.run(
                stop, on_summary=summary,
                on_error=lambda msg: print(f"crisiswatch: {msg}", file=sys.stderr, flush=True)))
        stopping = asyncio.ensure_future(stop.wait())
        await asyncio.wait({work, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if not work.done():
            work.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await work
        if work.cancelled():
            print("crisiswatch: stopped" + (" (interrupted; the feeds already polled are stored)"
                                            if ctx.args.once else ""), file=sys.stderr)
            return 130 if ctx.args.once and signal.SIGINT in received else 0
        result = work.result()
        if ctx.args.once:
            summary(result)
        else:
            print("crisiswatch: stopped", file=sys.stderr)
        return 0

    try:
        return asyncio.run(main())
    finally:
        poller.close()
        if notifier is not None:
            notifier.close()
        store.close()


def _notifier(ctx: Context) -> Notifier | None:
    from ..notify import Notifier, configured

    settings = ctx.config.settings
    if not configured(settings):
        return None
    return Notifier(settings, ctx.db_path)  # an Apprise URL it cannot use is a ConfigError (exit 2)
