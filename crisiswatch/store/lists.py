"""How a list is kept in one TEXT column: ``"KFOR; Ibar"`` (alerts' keywords, rules and feeds; events' keywords).

The one place that encodes and decodes it. The query layer hands readers the
decoded values (``keywords_list``, ``rules_list``, ``feeds_list``, as tuples)
beside the stored strings, which stay in the rows because CSV exports and
older readers show them as they are.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

SEPARATOR = "; "


def join(values: Iterable[str]) -> str:
    """``["KFOR", "Ibar"]`` → ``"KFOR; Ibar"``."""
    return SEPARATOR.join(values)


def split(text: str | None) -> list[str]:
    """``"KFOR; Ibar"`` → ``["KFOR", "Ibar"]``; empty or missing → ``[]``."""
    return [v for v in (text or "").split(SEPARATOR) if v]


LIST_COLUMNS = ("keywords", "rules", "feeds", "languages")
"""The columns stored this way; a row's decoded copy of ``keywords`` is ``keywords_list``."""


def with_lists(row: dict[str, Any]) -> dict[str, Any]:
    """Add the decoded ``<column>_list`` of every list column the row has (in place; returns the row).

    Tuples, not lists: the dashboard caches rendered rows by their values, so rows stay hashable.
    """
    for column in LIST_COLUMNS:
        if column in row:
            row[f"{column}_list"] = tuple(split(row[column]))
    return row


__all__ = ["LIST_COLUMNS", "SEPARATOR", "join", "split", "with_lists"]
