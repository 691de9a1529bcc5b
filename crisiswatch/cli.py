"""The ``crisiswatch`` command: argument parsing and dispatch only.

Each subcommand lives in ``crisiswatch/commands/<name>.py`` with a
``register(subparsers, formatter)`` that adds its parser and a handler taking a
:class:`Context`; :data:`COMMANDS` is the table of them. Heavy imports (Textual,
feedparser, httpx) happen inside handlers so ``crisiswatch match`` and
``--help`` start fast.

The global options (:data:`GLOBAL_OPTIONS`) are accepted before or after the
subcommand: ``crisiswatch --db X export events`` and ``crisiswatch export
events --db X`` mean the same.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Any

from . import __version__
from .commands import check, completion, demo, export, feeds, keywords, match, poll, report, run
from .commands.context import Context
from .errors import ConfigError, CrisiswatchError

# httpx's package __init__ imports its own command-line tool (httpx._main), which
# drags in click, rich and pygments: ~40-70 ms of every `poll`/`check` start spent
# on code we never run. httpx guards that import with `except ImportError` and
# falls back to a stub, so marking it absent here (only if nothing imported it
# yet) is safe; the TUI imports rich itself when it needs it.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]


COMMANDS: tuple[ModuleType, ...] = (run, poll, match, export, report, check, demo, feeds, keywords, completion)
"""Every subcommand module, in the order ``--help`` lists them."""

GLOBAL_OPTIONS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("--config", {"metavar": "PATH", "help": "feeds.toml to use (default: ./feeds.toml if present, "
                  "else the user config dir)"}),
    ("--db", {"metavar": "PATH", "help": "SQLite database (default: settings.database next to the config, "
              "else the user data dir)"}),
)
"""Options every command takes, before or after its name."""


class _Formatter(argparse.RawDescriptionHelpFormatter):
    pass


def _subparsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """The parsers of ``parser``'s subcommands (each once, though aliases name it twice)."""
    found: dict[int, argparse.ArgumentParser] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                found.setdefault(id(child), child)
    return list(found.values())


def _accept_global_options(parser: argparse.ArgumentParser) -> None:
    """Add the global options to every (nested) subcommand, unless it defines its own.

    ``default=SUPPRESS`` matters: a subparser copies its values over the main
    parser's, so an option not given after the subcommand must leave no value
    behind, or it would erase one given before it.
    """
    for child in _subparsers(parser):
        group = None
        for flag, kwargs in GLOBAL_OPTIONS:
            if flag in child._option_string_actions:
                continue  # e.g. ``demo --db``, which has its own default
            if group is None:
                group = child.add_argument_group("global options (also accepted before the command)")
            group.add_argument(flag, default=argparse.SUPPRESS, **kwargs)
        _accept_global_options(child)


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
    for flag, kwargs in GLOBAL_OPTIONS:
        parser.add_argument(flag, **kwargs)
    parser.add_argument("--version", action="version", version=f"crisiswatch {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMANDS:
        module.register(sub, _Formatter)
    _accept_global_options(parser)
    return parser


def _shown(exc: Exception) -> str:
    """An error message as printed: URLs in it redacted, terminal controls removed (it may quote hostile text)."""
    from .redact import redact_text
    from .termsafe import multi_line

    return multi_line(redact_text(str(exc)))


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args([*(argv if argv is not None else sys.argv[1:]), "run"])
    ctx = Context(args, parser)
    try:
        return int(args.handler(ctx) or 0)
    except ConfigError as exc:
        print(f"crisiswatch: config error: {_shown(exc)}", file=sys.stderr)
        return 2
    except CrisiswatchError as exc:
        print(f"crisiswatch: {_shown(exc)}", file=sys.stderr)
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
