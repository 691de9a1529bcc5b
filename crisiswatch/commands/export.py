"""``crisiswatch export``: events, alerts or items as CSV, JSON or JSON Lines."""

from __future__ import annotations

import argparse
import sys

from ..errors import CrisiswatchError
from .context import Context


def register(sub: argparse._SubParsersAction, formatter: type[argparse.HelpFormatter]) -> None:
    p = sub.add_parser(
        "export", help="export events, alerts or items (csv, json, jsonl)", formatter_class=formatter,
        description="Stream a table out of the database. Times are ISO-8601 UTC; keywords are canonical "
        "terms joined with '; '. Safe to run while a poll is writing.",
        epilog="examples:\n"
        "  crisiswatch export events -o events.csv\n"
        "  crisiswatch export alerts --since 24h --format jsonl | jq .title\n"
        "  crisiswatch export items --since 2026-11-20 --format json -o items.json",
    )
    p.add_argument("table", choices=("events", "alerts", "items"), help="what to export")
    p.add_argument("--format", "-f", choices=("csv", "json", "jsonl"), default="csv", help="default: csv")
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    p.add_argument("--since", metavar="WHEN", help="only rows from WHEN on: a date (2026-11-20) or a duration (24h)")
    p.set_defaults(handler=run)


def run(ctx: Context) -> int:
    from ..export import export, parse_since
    from ..outfile import open_output, output_label
    from ..store import Store

    try:
        since = parse_since(ctx.args.since)
    except ValueError as exc:
        raise CrisiswatchError(str(exc), 2) from None
    store = Store.open(ctx.db_path, readonly=True)
    output = ctx.args.output
    try:
        # open_output: a regular file is replaced atomically (keeping its mode), a FIFO,
        # device or /dev/stdout is written through, a symlink's target is written.
        with open_output(output) as out:
            count = export(store, ctx.args.table, ctx.args.format, out, since)
    finally:
        store.close()
    if output and output != "-":
        print(f"exported {count} {ctx.args.table} to {output_label(output)}", file=sys.stderr)
    return 0
