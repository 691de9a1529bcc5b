"""The full text of one event-log line (Enter on it): surge reasons and errors are longer than the pane."""

from __future__ import annotations

from datetime import tzinfo
from typing import Any, ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from ...store.lists import split
from ..format import local_time


def event_renderable(event: dict[str, Any], tz: tzinfo | None) -> Table:
    """Every field of the event as inert Text, long values wrapped in their column."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    rows = (
        ("Time", local_time(event.get("time"), tz, "%Y-%m-%d %H:%M:%S %Z")),
        ("Kind", event.get("kind")),
        ("Feed", event.get("feed")),
        ("Title", event.get("title")),
        ("Keywords", ", ".join(event.get("keywords_list") or split(event.get("keywords")))),
        ("Link", event.get("link")),
        ("Detail", event.get("detail")),
    )
    for label, value in rows:
        if value:
            grid.add_row(Text(label), Text(str(value)))
    return grid


class EventScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,enter,q", "close", "Close"),
        Binding("down,j", "scroll('down')", "Down", show=False),
        Binding("up,k", "scroll('up')", "Up", show=False),
    ]

    def __init__(self, event: dict[str, Any], tz: tzinfo | None) -> None:
        super().__init__()
        self.event = event
        self.tz = tz

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="event-dialog"):
            yield Static(event_renderable(self.event, self.tz), id="event-text")

    def on_mount(self) -> None:
        dialog = self.query_one("#event-dialog", VerticalScroll)
        dialog.border_title = "Event"
        dialog.border_subtitle = "esc to close"
        dialog.focus()

    @property
    def text(self) -> str:
        """What the screen draws, as plain lines (for tests)."""
        widget = self.query_one("#event-text", Static)
        return "\n".join(strip.text.rstrip() for strip in widget.render_lines(widget.region.reset_offset))

    def action_scroll(self, where: str) -> None:
        dialog = self.query_one("#event-dialog", VerticalScroll)
        (dialog.scroll_down if where == "down" else dialog.scroll_up)(animate=False)

    def action_close(self) -> None:
        self.dismiss(None)
