"""The event log pane: the tail of the events table, oldest at the top, live."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from datetime import tzinfo
from typing import Any, ClassVar

from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.strip import Strip

from ...redact import redact_text
from ...termsafe import one_line
from ..format import local_time
from .paged_table import BaseStyleCache, set_virtual_height

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
    "notify_dropped": "dropped ✗",
    "notify_abandoned": "unsent ✗",
    "webhook_failed": "webhook ✗",
}
"""Short labels, padded to one width so the log reads as columns."""

KIND_CLASS: dict[str, str] = {
    "alert_new": "alert",
    "surge": "surge",
    "fetch_error": "error",
    "feed_gone": "error",
    "notify_failed": "error",
    "notify_dropped": "error",
    "notify_abandoned": "error",
    "webhook_failed": "error",
    "feed_recovered": "good",
    "feed_reenabled": "good",
    "poll_started": "quiet",
    "poll_finished": "quiet",
}


class EventLog(BaseStyleCache, can_focus=True):
    """The last ``MAX_LINES`` events, oldest first, following the end while scrolled to the bottom.

    A Line API widget: each event becomes Text only when its line is on screen,
    so a burst of 200 events (one poll of 200 feeds) costs a list append each,
    not 200 renders on the event loop.
    """

    MAX_LINES = 1000
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "scroll_up", "Up", show=False),
        Binding("down,j", "scroll_down", "Down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home,g", "scroll_home", "First", show=False),
        Binding("end,G", "scroll_end", "Last", show=False),
    ]
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
        super().__init__(id=id)
        self.tz = tz
        self.last_id = 0
        self.events: deque[dict[str, Any]] = deque(maxlen=self.MAX_LINES)
        self._styles: dict[str, Style] = {}

    @property
    def lines(self) -> list[Text]:
        """Every kept event as Text (for tests and copy-out; the screen renders lazily)."""
        return [self.line(e) for e in self.events]

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles.clear()

    def _style(self, name: str) -> Style:
        style = self._styles.get(name)
        if style is None:
            style = self._styles[name] = self.get_component_rich_style(f"event-log--{name}", partial=True)
        return style

    def line(self, event: dict[str, Any]) -> Text:
        kind = event["kind"]
        css = KIND_CLASS.get(kind)
        parts: list[tuple[str, Any] | Text] = [
            (local_time(event["time"], self.tz), self._style("time")),
            (" ", ""),
            (f"{KIND_LABELS.get(kind, kind):<10}", self._style(css or "kind")),
            (" ", ""),
        ]
        # One inert line per event, without secrets, whatever an older version stored.
        if event.get("feed"):
            parts.append((f"{one_line(event['feed'])}: ", ""))
        if event.get("title"):
            parts.append(Text(one_line(event["title"])))
            if event.get("detail"):
                parts.append((" — ", ""))
        if event.get("detail"):
            quiet = not event.get("title") and css == "quiet"
            parts.append(Text(one_line(redact_text(event["detail"])), style=self._style("quiet") if quiet else ""))
        return Text.assemble(*parts, no_wrap=True, end="")

    def add(self, events: Iterable[dict[str, Any]]) -> None:
        at_end = self.scroll_y >= self.max_scroll_y
        added = 0
        for event in events:
            if event["id"] <= self.last_id:
                continue
            self.last_id = event["id"]
            self.events.append(event)
            added += 1
        if not added:
            return
        set_virtual_height(self, len(self.events))
        if at_end:
            self.scroll_end(animate=False, immediate=True, x_axis=False)
            # When the scrollbar just appeared the new range is only known after layout.
            self.call_after_refresh(self.scroll_end, animate=False, immediate=True, x_axis=False)
        self.refresh()

    def on_resize(self) -> None:
        set_virtual_height(self, len(self.events))

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self.base_style
        index = int(self.scroll_y) + y
        if index >= len(self.events):
            return Strip.blank(width, base)
        text = self.line(self.events[index])
        return Strip(text.render(self.app.console)).crop_extend(0, width, None).apply_style(base)
