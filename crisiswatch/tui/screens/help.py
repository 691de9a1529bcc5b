"""The keys, with what they do (built from the dashboard's own BINDINGS so it cannot drift).

Each key is a row of two widgets (key, description) in a scrolling column, so
Textual wraps every description at the dialog's real width and measures its
real height: a Rich grid in one auto-width Static was measured at one width
and drawn at another, and lost the middle lines of wrapped descriptions.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

ABOUT = ("Alerts are items whose title or summary names a keyword from feeds.toml, in any spelling or script. "
         "● marks an alert nobody has looked at yet: it counts as seen once you open, pin or dismiss it or "
         "move the cursor onto it (n jumps to the next one, C marks them all seen). "
         "Severity is written out (CRIT/HIGH/MED/LOW) as well as coloured. Every action is saved at once "
         "and logged in the event log; `crisiswatch export events` writes it out too.")


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "close", "Close"),
        Binding("down,j", "scroll('down')", "Down", show=False),
        Binding("up,k", "scroll('up')", "Up", show=False),
        Binding("pagedown,space", "scroll('page_down')", "Page down", show=False),
        Binding("pageup", "scroll('page_up')", "Page up", show=False),
        Binding("home,g", "scroll('home')", "Top", show=False),
        Binding("end,G", "scroll('end')", "Bottom", show=False),
    ]

    def __init__(self, keys: list[tuple[str, str]]) -> None:
        super().__init__()
        self.keys = keys

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-dialog"):
            for key, description in self.keys:
                with Horizontal(classes="help-row"):
                    yield Static(Text(key), classes="help-key")
                    yield Static(Text(description), classes="help-text")
            yield Static(Text(ABOUT), id="help-about")

    def on_mount(self) -> None:
        dialog = self.query_one("#help-dialog", VerticalScroll)
        dialog.border_title = "Keys"
        dialog.border_subtitle = "j/k scroll · esc to close"
        dialog.focus()

    def action_scroll(self, where: str) -> None:
        dialog = self.query_one("#help-dialog", VerticalScroll)
        {"down": dialog.scroll_down, "up": dialog.scroll_up, "page_down": dialog.scroll_page_down,
         "page_up": dialog.scroll_page_up, "home": dialog.scroll_home, "end": dialog.scroll_end}[where](
            animate=False)

    def action_close(self) -> None:
        self.dismiss(None)
