"""The ``crisiswatch`` command: argument parsing and dispatch only.

Each subcommand lives in ``crisiswatch/commands/<name>.py`` with a
``register(subparsers)`` that adds its parser and a handler taking a
:class:`Context`. Heavy imports (Textual, feedparser, httpx) happen inside
handlers so ``crisiswatch match`` and ``--help`` start fast.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import __version__
from .commands import COMMANDS
from .commands.context import Context
from .errors import ConfigError, CrisiswatchError

# httpx's package __init__ imports its own command-line tool (httpx._main), which
# drags in click, rich and pygments: ~40-70 ms of every `poll`/`check` start spent
# on code we never run. httpx guards that import with `except ImportError` and
# falls back to a stub, so marking it absent here (only if nothing imported it
# yet) is safe; the TUI imports rich itself when it needs it.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]


class _Formatter(argparse.RawDescriptionHelpFormatter):
    pass


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="crisiswatch",
        formatter_class=_Formatter,
        description="Follow a crisis from the terminal: poll news feeds, match names in every "
        "script, raise alerts, keep a durable event log.",
        epilog="examples:\n"
        "  crisiswatch demo                 try it offline on synthetic feeds\n"
        "  crisiswatch                      open the dashboard on ./feeds.toml\n"
        "  crisiswatch poll --once -v       one headless poll, a line per feed\n"
        "  crisiswatch export events -o log.csv\n"
        "  crisiswatch <command> --help     more on each command",
    )
    parser.add_argument("--config", metavar="PATH", help="feeds.toml to use (default: ./feeds.toml if present, "
                        "else the user config dir)")
    parser.add_argument("--db", metavar="PATH", help="SQLite database (default: settings.database next to the "
                        "config, else the user data dir)")
    parser.add_argument("--version", action="version", version=f"crisiswatch {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMANDS:
        module.register(sub, _Formatter)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args([*(argv if argv is not None else sys.argv[1:]), "run"])
    ctx = Context(args)
    try:
        return int(args.handler(ctx) or 0)
    except ConfigError as exc:
        print(f"crisiswatch: config error: {exc}", file=sys.stderr)
        return 2
    except CrisiswatchError as exc:
        print(f"crisiswatch: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # Downstream closed (``| head``): not an error. Point stdout at devnull so the
        # interpreter's final flush does not complain either.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
