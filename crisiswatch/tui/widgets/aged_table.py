"""What the alerts and headlines panes share: an age column, a clock and fresh-row highlights."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from datetime import datetime
from typing import Any, ClassVar

from rich.style import Style
from textual.strip import Strip

from ..format import Highlighter, age
from ..reader import Database
from .paged_table import PagedTable


class AgedTable(PagedTable):
    """A paged table of stories whose ``age`` cell is the only part that changes with the clock.

    Subclasses name the row's timestamp (``TIME_FIELD``) and the alert id that
    marks a row as fresh (``fresh_id``); the clock is read once per repaint so
    every row on screen ages against the same instant.
    """

    VOLATILE = "age"
    TIME_FIELD: ClassVar[str]

    def __init__(self, db: Database, highlighter: Highlighter, clock: Callable[[], datetime],
                 fresh: dict[int, float], *, id: str | None = None) -> None:
        super().__init__(db, id=id)
        self.highlighter = highlighter
        self.clock = clock
        self.fresh = fresh
        self._now = clock()

    def fresh_id(self, row: dict[str, Any]) -> int | None:
        raise NotImplementedError

    def is_fresh(self, row: dict[str, Any]) -> bool:
        alert_id = self.fresh_id(row)
        return alert_id is not None and alert_id in self.fresh

    def age_of(self, row: dict[str, Any]) -> str:
        return age(row[self.TIME_FIELD], self._now)

    def render_line(self, y: int) -> Strip:
        if y == 0:
            self._now = self.clock()
        return super().render_line(y)

    def static_key(self, row: dict[str, Any]) -> Hashable:
        return (tuple(row.values()), self.is_fresh(row))

    def line_key(self, row: dict[str, Any]) -> Hashable:
        return (self.static_key(row), self.age_of(row))

    def fresh_style(self, row: dict[str, Any]) -> Style | None:
        return self.style_for("fresh") if self.is_fresh(row) else None
