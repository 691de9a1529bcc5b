"""The event log pane: the tail of the events table, oldest at the top, live."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from datetime import tzinfo
from typing import Any, ClassVar

from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
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
    "caught_up": "caught up",
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


CHATTER_KINDS = frozenset({"poll_started", "poll_finished"})
"""Routine lines, hidden by default (``v`` shows them; the export always has them)."""


class EventLog(BaseStyleCache, can_focus=True):
    """The last ``MAX_LINES`` events, oldest first, following the end while the cursor is on the last line.

    A Line API widget: each event becomes Text only when its line is on screen,
    so a burst of 200 events (one poll of 200 feeds) costs a list append each,
    not 200 renders on the event loop. Poll chatter is filtered out of the view
    by default; ``enter`` on a line posts :class:`EventLog.Selected` so the
    screen can show its full text (surge reasons are longer than any pane).
    """

    MAX_LINES = 1000
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor_up", "Up", show=False),
        Binding("down,j", "cursor_down", "Down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home,g", "first", "First", show=False),
        Binding("end,G", "last", "Last", show=False),
        Binding("enter", "select", "Full text", show=False),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "event-log--time",
        "event-log--alert",
        "event-log--surge",
        "event-log--error",
        "event-log--good",
        "event-log--quiet",
        "event-log--kind",
        "event-log--cursor",
    }

    class Selected(Message):
        """Enter on an event: the screen shows its full text."""

        def __init__(self, event: dict[str, Any]) -> None:
            super().__init__()
            self.event = event

    def __init__(self, tz: tzinfo | None, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.tz = tz
        self.last_id = 0
        self.events: deque[dict[str, Any]] = deque(maxlen=self.MAX_LINES)
        self.shown: list[dict[str, Any]] = []
        self.show_chatter = False
        self.cursor = -1
        """Index into ``shown``; -1 follows the newest line."""
        self._styles: dict[str, Style] = {}

    @property
    def lines(self) -> list[Text]:
        """Every kept event as Text, shown or not (for tests and copy-out; the screen renders lazily)."""
        return [self.line(e) for e in self.events]

    @property
    def shown_lines(self) -> list[Text]:
        return [self.line(e) for e in self.shown]

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles.clear()

    def _style(self, name: str) -> Style:
        style = self._styles.get(name)
        if style is None:
            style = self._styles[name] = self.get_component_rich_style(f"event-log--{name}", partial=True)
        return style

    def _visible(self, event: dict[str, Any]) -> bool:
        return self.show_chatter or event["kind"] not in CHATTER_KINDS

    def update_title(self) -> None:
        hidden = "" if self.show_chatter else " · poll lines hidden (v)"
        self.border_title = f"Event log{hidden}"

    def toggle_chatter(self) -> bool:
        self.show_chatter = not self.show_chatter
        self.shown = [e for e in self.events if self._visible(e)]
        self.cursor = -1
        self.update_title()
        set_virtual_height(self, len(self.shown))
        self.scroll_end(animate=False, immediate=True, x_axis=False)
        self.call_after_refresh(self.scroll_end, animate=False, immediate=True, x_axis=False)
        self.refresh()
        return self.show_chatter

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
        at_end = self.cursor < 0 and self.scroll_y >= self.max_scroll_y
        added = 0
        trimmed = False
        for event in events:
            if event["id"] <= self.last_id:
                continue
            self.last_id = event["id"]
            if len(self.events) == self.events.maxlen:
                trimmed = True
            self.events.append(event)
            if self._visible(event):
                self.shown.append(event)
                added += 1
        if trimmed:
            selected = self.shown[self.cursor] if 0 <= self.cursor < len(self.shown) else None
            kept = {id(e) for e in self.events}
            self.shown = [e for e in self.shown if id(e) in kept]
            if selected is not None:
                self.cursor = next((i for i, e in enumerate(self.shown) if e is selected), -1)
        if not added:
            return
        set_virtual_height(self, len(self.shown))
        if at_end:
            self.scroll_end(animate=False, immediate=True, x_axis=False)
            # When the scrollbar just appeared the new range is only known after layout.
            self.call_after_refresh(self.scroll_end, animate=False, immediate=True, x_axis=False)
        self.refresh()

    # -- cursor ----------------------------------------------------------------------------------
    @property
    def cursor_index(self) -> int:
        return len(self.shown) - 1 if self.cursor < 0 else self.cursor

    @property
    def selected(self) -> dict[str, Any] | None:
        index = self.cursor_index
        return self.shown[index] if 0 <= index < len(self.shown) else None

    def move_cursor(self, index: int) -> None:
        if not self.shown:
            return
        index = max(0, min(len(self.shown) - 1, index))
        self.cursor = -1 if index == len(self.shown) - 1 else index
        height = self.scrollable_content_region.height
        top = int(self.scroll_y)
        if index < top:
            self.scroll_to(y=index, animate=False, immediate=True)
        elif height > 0 and index >= top + height:
            self.scroll_to(y=index - height + 1, animate=False, immediate=True)
        self.refresh()

    def action_cursor_up(self) -> None:
        self.move_cursor(self.cursor_index - 1)

    def action_cursor_down(self) -> None:
        self.move_cursor(self.cursor_index + 1)

    def action_page_up(self) -> None:
        self.move_cursor(self.cursor_index - max(1, self.scrollable_content_region.height - 1))

    def action_page_down(self) -> None:
        self.move_cursor(self.cursor_index + max(1, self.scrollable_content_region.height - 1))

    def action_first(self) -> None:
        self.move_cursor(0)

    def action_last(self) -> None:
        self.move_cursor(len(self.shown) - 1)

    def action_select(self) -> None:
        event = self.selected
        if event is not None:
            self.post_message(self.Selected(event))

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    def on_resize(self) -> None:
        set_virtual_height(self, len(self.shown))

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self.base_style
        index = int(self.scroll_y) + y
        if index >= len(self.shown):
            return Strip.blank(width, base)
        text = self.line(self.shown[index])
        if self.has_focus and index == self.cursor_index:
            text.truncate(width, overflow="crop", pad=True)
            text.stylize(self._style("cursor"))
        return Strip(text.render(self.app.console)).crop_extend(0, width, None).apply_style(base)
