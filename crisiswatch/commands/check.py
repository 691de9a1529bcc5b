"""``crisiswatch check``: validate the config, optionally probe every feed."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from .context import Context

if TYPE_CHECKING:
    from ..config import Config, Feed
    from ..poller import Hold


def register(sub: argparse._SubParsersAction, formatter: type[argparse.HelpFormatter]) -> None:
    p = sub.add_parser(
        "check", help="validate the config; --probe fetches every feed once", formatter_class=formatter,
        description="Load and validate the config and say which file was used. With --probe, fetch every "
        "feed once (nothing is written to the database) and print a table of results.",
        epilog="examples:\n"
        "  crisiswatch check\n"
        "  crisiswatch --config ~/kosovo.toml check --probe",
    )
    p.add_argument("--probe", action="store_true", help="fetch and parse every feed once, without storing")
    p.set_defaults(handler=run)


def run(ctx: Context) -> int:
    from ..redact import redact_text
    from ..termsafe import one_line

    config = ctx.config
    _refuse_an_impossible_database(ctx)
    enabled = sum(1 for f in config.feeds if f.enabled)
    print(f"config: {one_line(ctx.config_path.resolve())}")
    print(f"database: {one_line(ctx.db_path)}{_database_summary(ctx)}")
    print(f"ok: {len(config.feeds)} feeds ({enabled} enabled), {len(config.keywords)} keywords "
          f"({sum(len(k.aliases) for k in config.keywords)} aliases), {len(config.rules)} rules")
    notify = _notifications(config)
    if notify:
        print(f"notify: {notify}")
    holds = _holds(ctx)
    for hold in holds.values():
        print(f"held off: {one_line(redact_text(hold.line()))}")
    if not ctx.args.probe:
        return 0
    import asyncio

    rows = asyncio.run(_probe(config, holds))
    _print_table(rows)
    failed = sum(1 for r in rows if r[1] != "ok")
    print(f"\n{len(rows) - failed} of {len(rows)} feeds ok", file=sys.stderr)
    if holds:
        print(f"{len(holds)} held off by their servers: probed anyway (nothing stored); poll --once and the "
              "dashboard's r wait until each hold-off ends", file=sys.stderr)
    return 1 if failed else 0


def _holds(ctx: Context) -> dict[str, Hold]:
    """Feed name → the server's hold-off the database records for it now (Retry-After, backoff, 410)."""
    if not ctx.db_path.exists():
        return {}
    from ..models import utcnow
    from ..poller import hold_of
    from ..store import Store

    now = utcnow()
    with Store.open(ctx.db_path, readonly=True) as store:
        rows = {row["name"]: row for row in store.feeds()}
    holds = {}
    for feed in ctx.config.feeds:
        hold = hold_of(rows[feed.name], now) if feed.enabled and feed.name in rows else None
        if hold is not None:
            holds[feed.name] = hold
    return holds


def _notifications(config: Config) -> str:
    """The notification channels, each URL checked by Apprise and shown redacted ('' when none)."""
    from ..notify import configured, targets
    from ..termsafe import one_line

    settings = config.settings
    if not configured(settings):
        return ""
    shown = [f"command {one_line(settings.notify_command[0])}"] if settings.notify_command else []
    shown += [t.shown for t in targets(settings)]  # a URL Apprise cannot use: ConfigError, exit 2
    return f"{', '.join(shown)} (at or above {settings.notify_min_severity})"


def _refuse_an_impossible_database(ctx: Context) -> None:
    """A database path that can never be created is a configuration error, found here, not at the first poll."""
    from ..errors import ConfigError
    from ..store.connection import creation_problem
    from ..termsafe import one_line

    problem = creation_problem(ctx.db_path)
    if problem is None:
        return
    if ctx.args.db:
        raise ConfigError(f"--db {one_line(ctx.db_path)}: cannot create the database: {problem}\n"
                          "  fix: pass --db a file path in a folder you can write")
    if ctx.config.settings.database:
        from ..config import located_error

        raise located_error(ctx.config.path, "settings.database",
                            f"cannot create the database {one_line(ctx.db_path)}: {problem}",
                            'write database = "crisiswatch.db" (beside this file), or a path in a folder you can write')
    raise ConfigError(f"{one_line(ctx.db_path)}: cannot create the database: {problem}\n"
                      "  fix: set `database` in [settings], or pass --db, to a path in a folder you can write")


def _database_summary(ctx: Context) -> str:
    """' (schema 1: 1200 items, 45 alerts, …)' for an existing database, '' otherwise."""
    if not ctx.db_path.exists():
        return " (not created yet)"
    from ..store import Store

    with Store.open(ctx.db_path, readonly=True) as store:
        counts = store.table_counts()
        version = store.conn.execute("PRAGMA user_version").fetchone()[0]
    shown = ", ".join(f"{counts[t]} {t}" for t in ("feeds", "items", "alerts", "events") if t in counts)
    return f" (schema {version}: {shown})"


async def _probe(config: Config, holds: dict[str, Hold]) -> list[tuple[str, str, str, str, str, str]]:
    import asyncio
    import time

    from ..fetch import Fetcher
    from ..models import iso, utcnow
    from ..parse import parse_feed
    from ..redact import redact_text, redact_url

    async def one(fetcher: Fetcher, feed: Feed) -> tuple[str, str, str, str, str, str]:
        row = await probe(fetcher, feed)
        hold = holds.get(feed.name)
        if hold is None:
            return row
        until = "until re-enabled" if hold.until is None else f"until {iso(hold.until)}"
        return (*row[:5], f"{row[5]}  [held off {until}: {redact_text(hold.reason)}]")

    async def probe(fetcher: Fetcher, feed: Feed) -> tuple[str, str, str, str, str, str]:
        started = time.monotonic()
        result = await fetcher.fetch(feed.url)
        status = str(result.status) if result.status is not None else "---"
        if not result.ok or result.body is None:
            return (feed.name, "error", status, "", "",
                    f"{time.monotonic() - started:.2f}s  {redact_text(result.error)}")
        parsed = await asyncio.to_thread(parse_feed, result.body, content_type=result.content_type,
                                         url=result.url, fetched_at=utcnow())
        elapsed = f"{time.monotonic() - started:.2f}s"
        if parsed.error:
            return (feed.name, "error", status, "", "", f"{elapsed}  {redact_text(parsed.error)}")
        newest = max((i.published for i in parsed.items), default=None)
        note = f"  moved permanently to {redact_url(result.moved_to)}" if result.moved_to else ""
        return (feed.name, "ok", status, str(len(parsed.items)), iso(newest) or "", elapsed + note)

    async with Fetcher(config.settings) as fetcher:
        return list(await asyncio.gather(*(one(fetcher, f) for f in config.feeds if f.enabled)))


def _print_table(rows: list[tuple[str, ...]]) -> None:
    from ..termsafe import one_line

    rows = [tuple(one_line(c) for c in row) for row in rows]  # names, errors and URLs are the network's text
    header = ("feed", "result", "http", "items", "newest item", "time")
    widths = [max(len(header[i]), *(len(r[i]) for r in rows)) if rows else len(header[i]) for i in range(5)]
    print()
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=False)) + "  " + header[5])
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)) + "  " + r[5])
