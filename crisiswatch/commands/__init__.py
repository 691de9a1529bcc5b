"""Subcommands. Each module has ``register(subparsers, formatter)``, which sets
``handler`` to a function taking a :class:`~crisiswatch.commands.context.Context`
and returning an exit code.

Modules here import only the standard library at import time; everything heavy
is imported inside handlers so the CLI starts fast.
"""

from __future__ import annotations

from ..errors import CrisiswatchError
from .context import Context


def _commands() -> list:
    from . import check, export, match, poll, run

    modules = [run, poll, match, export, check]
    for optional in ("demo", "feeds", "keywords", "completion"):
        try:
            modules.append(__import__(f"{__name__}.{optional}", fromlist=[optional]))
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{optional}":
                raise
    return modules


COMMANDS = _commands()

__all__ = ["COMMANDS", "Context", "CrisiswatchError"]
