"""The event log pane: the tail of the events table, oldest at the top, live."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import tzinfo
from typing import Any, ClassVar

from rich.text import Text
from textual.widgets import RichLog

from ..format import local_time

KIND_LABELS: dict[str, str] = {
    "poll_started": "poll",
    "poll_finished": "polled",
    "alert_new": "ALERT",
    "alert_grouped": "grouped",
    "surge": "SURGE",
    "fetch_error": "error",
    "feed_gone": "gone",
    "feed_moved": "moved",
    "feed_recovered": "recovered",
    "feed_reenabled": "re-enabled",
    "alert_pinned": "pinned",
    "alert_unpinned": "unpinned",
    "alert_dismissed": "dismissed",
    "alert_restored": "restored",
    "export": "export",
    "notify_failed": "notify ✗",
    "webhook_failed": "webhook ✗",
}
"""Short labels, padded to one width so the log reads as columns."""

KIND_CLASS: dict[str, str] = {
    "alert_new": "alert",
    "surge": "surge",
    "fetch_error": "error",
    "feed_gone": "error",
    "notify_failed": "error",
    "webhook_failed": "error",
    "feed_recovered": "good",
    "feed_reenabled": "good",
    "poll_started": "quiet",
    "poll_finished": "quiet",
}


class EventLog(RichLog):
    """Appends events as they are stored; keeps the last ``MAX_LINES``."""

    MAX_LINES = 500
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "event-log--time",
        "event-log--alert",
        "event-log--surge",
        "event-log--error",
        "event-log--good",
        "event-log--quiet",
        "event-log--kind",
    }

    def __init__(self, tz: tzinfo | None, *, id: str | None = None) -> None:
        super().__init__(id=id, max_lines=self.MAX_LINES, wrap=False, markup=False, highlight=False,
                         auto_scroll=True)
        self.tz = tz
        self.last_id = 0

    def line(self, event: dict[str, Any]) -> Text:
        kind = event["kind"]
        css = KIND_CLASS.get(kind)
        kind_style = self.get_component_rich_style(f"event-log--{css}" if css else "event-log--kind", partial=True)
        parts: list[tuple[str, Any] | Text] = [
            (local_time(event["time"], self.tz), self.get_component_rich_style("event-log--time", partial=True)),
            (" ", ""),
            (f"{KIND_LABELS.get(kind, kind):<10}", kind_style),
            (" ", ""),
        ]
        if event.get("feed"):
            parts.append((f"{event['feed']}: ", ""))
        if event.get("title"):
            parts.append(Text(event["title"]))
            if event.get("detail"):
                parts.append((" — ", ""))
        if event.get("detail"):
            parts.append(Text(event["detail"], style=self.get_component_rich_style("event-log--quiet", partial=True)
                              if not event.get("title") and css == "quiet" else ""))
        return Text.assemble(*parts, no_wrap=True, end="")

    def add(self, events: Iterable[dict[str, Any]]) -> None:
        for event in events:
            if event["id"] <= self.last_id:
                continue
            self.last_id = event["id"]
            self.write(self.line(event), shrink=False, scroll_end=None)
