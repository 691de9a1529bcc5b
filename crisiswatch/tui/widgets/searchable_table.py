"""The story panes' shared search: the alerts and the headlines filter by one query, one way."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from ...search import SearchPlan, plan
from ..format import Highlighter
from ..reader import Database
from .aged_table import AgedTable


class SearchableTable(AgedTable):
    """An :class:`AgedTable` that a search narrows; the plan comes from the matcher, so every spelling
    of a keyword finds the same rows in both panes."""

    def __init__(self, db: Database, highlighter: Highlighter, clock: Callable[[], datetime],
                 fresh: dict[int, float], *, id: str | None = None) -> None:
        super().__init__(db, highlighter, clock, fresh, id=id)
        self.query_text = ""
        self.plan: SearchPlan = SearchPlan("")

    def search(self, text: str) -> None:
        """Filter to the rows the search finds (an empty query shows everything again), from the top."""
        text = text.strip()
        if text != self.query_text:
            self.query_text = text
            self.plan = plan(text, self.highlighter.matcher())
            self.cursor_row = 0
            self.scroll_to(y=0, animate=False, immediate=True)
            self.reload()
