"""The alerts pane: unseen marker, severity, state, age, feed, keywords and title.

Pinned first, then the newest story first by the item's own (clamped)
published time — or most severe first (``t``). The age is the story's age, the
same number the headlines pane shows for it.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from datetime import datetime
from typing import Any, ClassVar

from rich.style import Style
from rich.text import Text

from ...models import SEVERITIES
from ..format import SEVERITY_LABELS, STATE_LABELS, UNSEEN_MARK, Highlighter, first_feed
from ..reader import Database
from .paged_table import Column
from .searchable_table import SearchableTable

SORTS = ("time", "severity")


class AlertsTable(SearchableTable):
    """Alerts filtered by minimum severity (and a search), dismissed ones hidden unless asked for."""

    COLUMNS: ClassVar[Sequence[Column]] = (
        Column("seen", 1),
        Column("severity", 4),
        Column("state", 3),
        Column("age", 3, justify="right"),
        Column("feed", 14, min_table_width=70),
        Column("keywords", 16, min_table_width=100),
        Column("title", None),
    )
    TIME_FIELD = "published"
    EMPTY = "No alerts match. New ones appear here as they are stored."

    def __init__(self, db: Database, highlighter: Highlighter, clock: Callable[[], datetime],
                 fresh: dict[int, float], *, id: str | None = None) -> None:
        super().__init__(db, highlighter, clock, fresh, id=id)
        self.min_severity = "low"
        self.show_dismissed = False
        self.sort = "time"

    def fresh_id(self, row: dict[str, Any]) -> int | None:
        return row["id"]

    def view_key(self) -> Hashable:
        return (self.min_severity, self.show_dismissed, self.sort, self.query_text)

    def _filters(self) -> dict[str, Any]:
        return {"min_severity": self.min_severity, "show_dismissed": self.show_dismissed, "sort": self.sort,
                "query": self.plan if self.query_text else None}

    def fetch_count(self, store: Any) -> int:
        return store.count_alerts(**self._filters())

    def fetch(self, store: Any, offset: int, limit: int) -> list[dict[str, Any]]:
        return store.alerts_page(offset, limit, **self._filters())

    async def unseen_positions(self) -> list[int]:
        """Row indexes of the unseen alerts in this view, in display order (for ``n`` / ``N``)."""
        filters = self._filters()
        return await self.db.call(lambda store: store.unseen_positions(**filters))

    def empty_text(self) -> str:
        return f"No alert matches “{self.query_text}”." if self.query_text else self.EMPTY

    def cells(self, row: dict[str, Any], columns: Sequence[Column]) -> list[Text]:
        severity = row["severity"]
        out: list[Text] = []
        for column in columns:
            key = column.key
            if key == "seen":
                unseen = row.get("seen_at") is None and row["state"] != "dismissed"
                out.append(Text(UNSEEN_MARK if unseen else " ", style=self.style_for("unseen")))
            elif key == "severity":
                out.append(Text(SEVERITY_LABELS.get(severity, severity), style=self.style_for(severity)))
            elif key == "state":
                state = row["state"]
                style = self.style_for("pinned") if state == "pinned" else self.style_for("muted")
                out.append(Text(STATE_LABELS.get(state, state), style=style))
            elif key == "age":
                out.append(Text(self.age_of(row), style=self.style_for("muted")))
            elif key == "feed":
                out.append(Text(first_feed(row["feeds_list"], row.get("feed_count") or 1)))
            elif key == "keywords":
                out.append(Text(", ".join(row["keywords_list"]), style=self.style_for("hit")))
            else:
                title = self.highlighter.text(row["title"], self.style_for("hit"))
                if row.get("surge"):
                    title = Text.assemble(("SURGE ", self.style_for("critical")), title, no_wrap=True, end="")
                out.append(title)
        return out

    def row_style(self, row: dict[str, Any]) -> Style | None:
        if row["state"] == "dismissed":
            return self.style_for("dim")
        return self.fresh_style(row)

    def cycle_severity(self) -> str:
        self.min_severity = SEVERITIES[(SEVERITIES.index(self.min_severity) + 1) % len(SEVERITIES)]
        self.reload()
        return self.min_severity

    def cycle_sort(self) -> str:
        self.sort = SORTS[(SORTS.index(self.sort) + 1) % len(SORTS)]
        self.reload()
        return self.sort

    def toggle_dismissed(self) -> bool:
        self.show_dismissed = not self.show_dismissed
        self.reload()
        return self.show_dismissed

