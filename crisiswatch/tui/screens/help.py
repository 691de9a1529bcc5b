"""The keys, with what they do (built from the dashboard's own BINDINGS so it cannot drift)."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

ABOUT = ("Alerts are items whose title or summary names a keyword from feeds.toml. "
         "Severity is written out (CRIT/HIGH/MED/LOW) as well as coloured. Every action is saved at once "
         "and logged in the event log; `crisiswatch export events` writes it out too.")


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,question_mark", "close", "Close")]

    def __init__(self, keys: list[tuple[str, str]]) -> None:
        super().__init__()
        self.keys = keys

    def compose(self) -> ComposeResult:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold", no_wrap=True)
        table.add_column()
        for key, description in self.keys:
            table.add_row(Text(key), Text(description))
        with VerticalScroll(id="help-dialog"):
            yield Static(table, id="help-keys")
            yield Static(Text(ABOUT), id="help-about")

    def on_mount(self) -> None:
        dialog = self.query_one("#help-dialog")
        dialog.border_title = "Keys"
        dialog.border_subtitle = "esc to close"

    def action_close(self) -> None:
        self.dismiss(None)
