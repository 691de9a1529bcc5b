"""Where to write the event log CSV: a prompt pre-filled with a timestamped path; Enter accepts."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label


class ExportPrompt(ModalScreen[str | None]):
    """Returns the chosen path, or None when cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, default: Path) -> None:
        super().__init__()
        self.default = default

    def compose(self) -> ComposeResult:
        with Vertical(id="export-dialog"):
            yield Label("Export the event log as CSV to:", id="export-label")
            yield Input(value=str(self.default), id="export-path")
            yield Label("Enter to export · Esc to cancel", id="export-hint")

    def on_mount(self) -> None:
        self.query_one(Vertical).border_title = "Export"

    def on_input_submitted(self, event: Input.Submitted) -> None:
        value = event.value.strip()
        if not value:
            self.notify("Type a file path, or Esc to cancel.", severity="warning")
            return
        self.dismiss(str(Path(value).expanduser()))

    def action_cancel(self) -> None:
        self.dismiss(None)
