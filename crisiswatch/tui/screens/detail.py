"""Full-screen detail of one item (Enter on a row): everything, with room for a long summary."""

from __future__ import annotations

from datetime import tzinfo
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen
from textual.widgets import Footer

from ..format import Highlighter
from ..messages import OpenLink
from ..widgets.detail import DetailPane


class DetailScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,enter,q", "close", "Close"),
        Binding("o", "open_link", "Open link"),
    ]

    def __init__(self, item: dict[str, Any], highlighter: Highlighter, tz: tzinfo | None) -> None:
        super().__init__()
        self.item = item
        self.highlighter = highlighter
        self.tz = tz

    def compose(self) -> ComposeResult:
        pane = DetailPane(self.highlighter, self.tz, id="detail-full")
        pane.item = self.item
        pane.border_title = "Detail"
        pane.border_subtitle = "esc to close · o to open the link"
        yield pane
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(DetailPane).focus()

    def action_close(self) -> None:
        self.dismiss(None)

    def action_open_link(self) -> None:
        link = self.item.get("link")
        if not link:
            self.notify("This item has no link.", severity="warning", timeout=3)
            return
        self.post_message(OpenLink(link))
