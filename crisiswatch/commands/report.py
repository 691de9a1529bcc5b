"""``crisiswatch report``: a situation report of a period (Markdown, HTML or JSON)."""

from __future__ import annotations

import argparse
import sys

from ..errors import CrisiswatchError
from .context import Context


def _count(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if not 0 <= number <= 10_000:
        raise argparse.ArgumentTypeError("must be between 0 and 10000")
    return number


def register(sub: argparse._SubParsersAction, formatter: type[argparse.HelpFormatter]) -> None:
    p = sub.add_parser(
        "report", help="write a situation report of a period (md, html, json)", formatter_class=formatter,
        description="A situation report from the database: coverage, headline numbers, pinned and top\n"
        "stories with every outlet, a timeline, mentions per keyword and failing feeds. The\n"
        "structure is fixed (docs/REPORT.md), so reports of consecutive days diff cleanly.\n"
        "A date or time without an offset is read in the report's time zone.",
        epilog="examples:\n"
        "  crisiswatch report                              the last 24 h, Markdown to stdout\n"
        "  crisiswatch report --format html -o sitrep.html one self-contained page (prints on A4)\n"
        "  crisiswatch report --since 2026-11-30 --until 2026-12-01 --tz Europe/Belgrade\n"
        "  crisiswatch report --since 7d --format json | jq .headline",
    )
    p.add_argument("--since", metavar="WHEN", help="start: a duration back from now (24h, 7d), a date "
                   "(2026-11-30) or a date and time (2026-11-30T08:00); default: 24 h before --until")
    p.add_argument("--until", metavar="WHEN", help="end (not included), in the same forms; default: now")
    p.add_argument("--format", "-f", choices=("md", "html", "json"), default="md", help="default: md (Markdown)")
    p.add_argument("--tz", metavar="ZONE", help="also show local times in ZONE, e.g. Europe/Belgrade "
                   "(default: settings.timezone, else UTC only)")
    p.add_argument("--top", type=_count, default=20, metavar="N", help="how many top stories to list (default 20)")
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    p.set_defaults(handler=run)


def _zone_name(ctx: Context) -> str | None:
    """--tz, else settings.timezone when a config file is there to read (a report never creates one)."""
    if ctx.args.tz is not None:
        return str(ctx.args.tz)
    if ctx.args.config or ctx.config_path.exists():
        return ctx.config.settings.timezone
    return None


def run(ctx: Context) -> int:
    from ..models import utcnow
    from ..outfile import output_label, write_output
    from ..report import Period, PeriodError, load_zone, make_report, render
    from ..store import Store

    now = utcnow()
    try:
        zone = load_zone(_zone_name(ctx))
        period = Period.resolve(ctx.args.since, ctx.args.until, now=now, zone=zone)
    except PeriodError as exc:
        raise CrisiswatchError(str(exc), 2) from None
    store = Store.open(ctx.db_path, readonly=True)
    try:
        text = render(make_report(store, period, now=now, top=ctx.args.top), ctx.args.format)
    finally:
        store.close()
    output = ctx.args.output
    # write_output: a regular file is replaced atomically (keeping its mode), a FIFO, device or
    # /dev/stdout is written through, a symlink's target is written; stdout when no -o.
    write_output(output, text)
    if output and output != "-":
        print(f"report written to {output_label(output)}", file=sys.stderr)
    return 0
