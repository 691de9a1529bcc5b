"""Every user-facing failure of crisiswatch, in one hierarchy.

A :class:`CrisiswatchError` carries the exit code ``cli.main`` returns after
printing its one-line message (never a traceback): 1 for a runtime failure,
2 for a usage or config error. Everyone raises and catches these from here,
so the core, the commands and the TUI share them without importing each other.
Only the standard library is imported.
"""

from __future__ import annotations


class CrisiswatchError(Exception):
    """A failure to report in one line, without traceback; ``exit_code`` is what the CLI returns."""

    exit_code: int = 1

    def __init__(self, message: str = "", exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class ConfigError(CrisiswatchError):
    """A problem the user fixes by editing the config file; shown without traceback (exit 2)."""

    exit_code = 2


class StoreError(CrisiswatchError):
    """A database problem the user must act on (locked, read-only, full, too new)."""


class DiscoveryError(CrisiswatchError):
    """No usable feed at that URL; the message says what was found instead."""


class OpmlError(CrisiswatchError, ValueError):
    """The file is not OPML we can read; the message says where and why."""


class EditError(CrisiswatchError, ValueError):
    """The requested edit cannot be made; the message says why and what to do."""


__all__ = ["ConfigError", "CrisiswatchError", "DiscoveryError", "EditError", "OpmlError", "StoreError"]
