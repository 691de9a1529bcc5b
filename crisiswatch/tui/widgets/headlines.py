"""The headlines pane: every item, newest first, or the results of a search."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any, ClassVar

from rich.style import Style
from rich.text import Text

from ...termsafe import one_line
from ..format import SEVERITY_LABELS
from .paged_table import Column
from .searchable_table import SearchableTable


class Headlines(SearchableTable):
    """Items newest first; a query switches to search (keywords through the matcher, words through FTS5)."""

    COLUMNS: ClassVar[Sequence[Column]] = (
        Column("age", 3, justify="right"),
        Column("severity", 4),
        Column("feed", 16, min_table_width=70),
        Column("title", None),
    )
    TIME_FIELD = "published"
    EMPTY = "No headlines yet. They appear here after the first poll."

    @property
    def search_hint(self) -> str:
        return self.plan.hint

    def fresh_id(self, row: dict[str, Any]) -> int | None:
        return row.get("alert_id")

    def view_key(self) -> Hashable:
        return self.query_text

    def fetch_count(self, store: Any) -> int:
        if self.query_text:
            return store.count_search(self.plan)
        return store.count_items()

    def fetch(self, store: Any, offset: int, limit: int) -> list[dict[str, Any]]:
        if self.query_text:
            return store.search_items(self.plan, offset, limit)
        return store.items_page(offset, limit)


    def empty_text(self) -> str:
        return f"No headline matches “{self.query_text}”." if self.query_text else self.EMPTY

    def cells(self, row: dict[str, Any], columns: Sequence[Column]) -> list[Text]:
        out: list[Text] = []
        for column in columns:
            key = column.key
            if key == "age":
                out.append(Text(self.age_of(row), style=self.style_for("muted")))
            elif key == "severity":
                severity = row.get("severity")
                if severity and row.get("state") != "dismissed":
                    out.append(Text(SEVERITY_LABELS.get(severity, severity), style=self.style_for(severity)))
                else:
                    out.append(Text(""))
            elif key == "feed":
                out.append(Text(one_line(row["feed"] or ""), style=self.style_for("muted")))
            else:
                out.append(self.highlighter.text(row["title"], self.style_for("hit")))
        return out

    def row_style(self, row: dict[str, Any]) -> Style | None:
        return self.fresh_style(row)
