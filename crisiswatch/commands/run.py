"""``crisiswatch run``: the dashboard (the default command)."""

from __future__ import annotations

import argparse

from .context import Context


def register(sub: argparse._SubParsersAction, formatter: type[argparse.HelpFormatter]) -> None:
    p = sub.add_parser(
        "run", help="open the dashboard (default)", formatter_class=formatter,
        description="Open the terminal dashboard on the configured feeds and database; polling runs in "
        "the background. Press ? inside for the keys.",
        epilog="examples:\n"
        "  crisiswatch                         same as `crisiswatch run`\n"
        "  crisiswatch --config ~/kosovo.toml run\n"
        "  crisiswatch run --no-poll           browse the database without polling",
    )
    p.add_argument("--no-poll", action="store_true", help="do not poll; only show what is stored")
    p.set_defaults(handler=run)


def run(ctx: Context) -> int:
    from ..tui.app import run_app

    if not ctx.args.no_poll:
        from ..notify import configured, targets

        if configured(ctx.config.settings):
            targets(ctx.config.settings)  # a notify URL Apprise cannot use: a config error before the screen opens
    return run_app(ctx.config, ctx.db_path, poll=not ctx.args.no_poll)
