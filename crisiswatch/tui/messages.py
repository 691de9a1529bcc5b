"""Messages between the app and its screens."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from textual.message import Message


@dataclass
class Snapshot:
    """What changed in the database since the last look, read in one go on the database thread."""

    status: dict[str, Any]
    per_hour: list[int]
    events: list[dict[str, Any]]
    new_alerts: list[dict[str, Any]] = field(default_factory=list)
    """Alerts raised since the previous snapshot (empty on the first one: those are not news)."""
    first: bool = False


class StoreChanged(Message):
    """Something was committed (by our poller, another process, or a user action)."""

    def __init__(self, snapshot: Snapshot) -> None:
        super().__init__()
        self.snapshot = snapshot


class ReportRequested(Message):
    """A screen asks the app to write the situation report of the last 24 h (``R``, or the palette)."""
