"""Subcommands, one module each; ``cli.COMMANDS`` is the table of them.

Each module has ``register(subparsers, formatter)``, which sets ``handler`` to a
function taking a :class:`~crisiswatch.commands.context.Context` and returning
an exit code. Modules here import only the standard library at import time;
everything heavy is imported inside handlers so the CLI starts fast.
"""

from __future__ import annotations

from ..errors import CrisiswatchError
from .context import Context

__all__ = ["Context", "CrisiswatchError"]
