"""The headlines pane: every item, newest first, or full-text search results."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from datetime import datetime
from typing import Any, ClassVar

from rich.style import Style
from rich.text import Text

from ..format import SEVERITY_LABELS, Highlighter, age
from ..reader import Database
from .paged_table import Column, PagedTable


class Headlines(PagedTable):
    """Items newest first; ``query`` switches to FTS5 search over titles and summaries."""

    COLUMNS: ClassVar[Sequence[Column]] = (
        Column("age", 3, justify="right"),
        Column("severity", 4),
        Column("feed", 16, min_table_width=70),
        Column("title", None),
    )
    VOLATILE = "age"
    EMPTY = "No headlines yet. They appear here after the first poll."

    def __init__(self, db: Database, highlighter: Highlighter, clock: Callable[[], datetime],
                 fresh: dict[int, float], *, id: str | None = None) -> None:
        super().__init__(db, id=id)
        self.highlighter = highlighter
        self.clock = clock
        self.fresh = fresh
        self.query_text = ""
        self._now = clock()

    def view_key(self) -> Hashable:
        return self.query_text

    def fetch_count(self, store: Any) -> int:
        if self.query_text:
            return store.count_search(self.query_text)
        return store.count_items()

    def fetch(self, store: Any, offset: int, limit: int) -> list[dict[str, Any]]:
        if self.query_text:
            return store.items_page(offset, limit, query=self.query_text)
        return store.items_window(offset, limit)

    def search(self, text: str) -> None:
        text = text.strip()
        if text != self.query_text:
            self.query_text = text
            self.cursor_row = 0
            self.scroll_to(y=0, animate=False, immediate=True)
            self.reload()

    def empty_text(self) -> str:
        return f"No headline matches “{self.query_text}”." if self.query_text else self.EMPTY

    def render_line(self, y: int):  # type: ignore[override]
        if y == 0:
            self._now = self.clock()
        return super().render_line(y)

    def static_key(self, row: dict[str, Any]) -> Hashable:
        return (tuple(row.values()), row.get("alert_id") in self.fresh)

    def line_key(self, row: dict[str, Any]) -> Hashable:
        return (self.static_key(row), age(row["published"], self._now))

    def cells(self, row: dict[str, Any], columns: Sequence[Column]) -> list[Text]:
        out: list[Text] = []
        for column in columns:
            key = column.key
            if key == "age":
                out.append(Text(age(row["published"], self._now), style=self.style_for("muted")))
            elif key == "severity":
                severity = row.get("severity")
                if severity and row.get("state") != "dismissed":
                    out.append(Text(SEVERITY_LABELS.get(severity, severity), style=self.style_for(severity)))
                else:
                    out.append(Text(""))
            elif key == "feed":
                out.append(Text(row["feed"] or "", style=self.style_for("muted")))
            else:
                out.append(self.highlighter.text(row["title"], self.style_for("hit")))
        return out

    def row_style(self, row: dict[str, Any]) -> Style | None:
        alert_id = row.get("alert_id")
        if alert_id is not None and alert_id in self.fresh:
            return self.style_for("fresh")
        return None
