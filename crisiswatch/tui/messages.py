"""Messages between the parts of the dashboard.

The app posts :class:`StoreChanged` to its screens. Screens and widgets never
call into the app module or import one another: they post a request message
(``PollRequested``, ``ExportRequested``, ``OpenLink``…) and the app, which owns
the poller, the export worker and the screen stack, handles it with an
``@on`` handler. This keeps the imports one-way (app → screens → widgets →
messages) and lets each screen be tested on its own.
"""

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


class Request(Message):
    """Base of the messages a screen or widget sends up to the app (they bubble from widgets)."""


class PollRequested(Request):
    """Poll every due feed now (``r``); ``quiet`` skips the "Polling every feed now" toast."""

    def __init__(self, *, quiet: bool = False) -> None:
        super().__init__()
        self.quiet = quiet


class ExportRequested(Request):
    """Export the event log: to ``path``, or ask where first when ``path`` is None."""

    def __init__(self, path: str | None = None) -> None:
        super().__init__()
        self.path = path


class ReportRequested(Request):
    """Write the situation report of the last 24 h (HTML) to the exports folder (``R``)."""


class OpenLink(Request):
    """Open ``url`` in a browser, or say honestly where it went when no browser can open here."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url


class StoreWritten(Request):
    """A user action committed: look at the store now instead of at the next watch tick."""


class ShowDetail(Request):
    """Open the full-screen detail of one stored item."""

    def __init__(self, item: dict[str, Any]) -> None:
        super().__init__()
        self.item = item


class ShowEvent(Request):
    """Open the full text of one event-log entry (surge reasons, long errors)."""

    def __init__(self, event: dict[str, Any]) -> None:
        super().__init__()
        self.event = event


class ShowHelp(Request):
    """Open the help screen listing ``keys`` as (key, description) pairs."""

    def __init__(self, keys: list[tuple[str, str]]) -> None:
        super().__init__()
        self.keys = keys


class ShowFeeds(Request):
    """Open the feed-health screen."""
