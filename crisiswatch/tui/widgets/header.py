"""The status line: clock, last poll, feed health, alert counts, alerts per hour over 24 h."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, tzinfo
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Sparkline, Static

from ..format import UNSEEN_MARK, age


class StatusHeader(Horizontal):
    """One line. Updated from store snapshots; the clock ticks once a second (frozen under a test clock)."""

    COMPONENT_CLASSES = {"status-header--ok", "status-header--bad", "status-header--new", "status-header--pinned",
                         "status-header--muted"}

    def __init__(self, clock: Callable[[], datetime], tz: tzinfo | None, *, live_clock: bool = True,
                 id: str | None = None) -> None:
        super().__init__(id=id)
        self.clock = clock
        self.tz = tz
        self.live_clock = live_clock
        self.status: dict[str, Any] = {}
        self.polling = True
        self._shown: dict[str, Text] = {}

    def compose(self) -> ComposeResult:
        yield Static(Text("crisiswatch"), id="app-title")
        yield Static(id="clock")
        yield Static(id="status")
        yield Sparkline([0] * 24, id="sparkline")

    def on_mount(self) -> None:
        self.tick()
        if self.live_clock:
            self.set_interval(1.0, self.tick)

    def notify_style_update(self) -> None:
        """Repaint the status line once the new styles are in (a theme chosen from the palette).

        Its Text carries the component colours resolved when it was built; without
        this, the line kept the old theme's colours until the next store change or tick.
        """
        super().notify_style_update()
        if self.is_mounted:
            self.call_after_refresh(self._render_status)

    def _style(self, name: str) -> Any:
        return self.get_component_rich_style(f"status-header--{name}", partial=True)

    def tick(self) -> None:
        now = self.clock().astimezone(self.tz)
        self._update("#clock", Text(now.strftime("%H:%M %Z").strip()))
        self._render_status()

    def update_status(self, status: dict[str, Any], per_hour: list[int]) -> None:
        self.status = status
        self._render_status()
        sparkline = self.query_one("#sparkline", Sparkline)
        if sparkline.data != per_hour or sparkline.tooltip is None:
            sparkline.data = per_hour
            sparkline.tooltip = f"alerts per hour, last 24 h (max {max(per_hour or [0])})"

    def _render_status(self) -> None:
        s = self.status
        if not s:
            return
        muted = self._style("muted")
        last = s.get("last_poll")
        poll = f"poll {age(last, self.clock())} ago" if last else ("no poll yet" if self.polling else "polling off")
        failing = s.get("feeds_failing", 0)
        off = s.get("feeds_disabled", 0)
        unseen = s.get("alerts_unseen", 0)
        text = Text.assemble(
            (poll, muted), (" · ", muted),
            (f"feeds {s.get('feeds_ok', 0)}/{s.get('feeds', 0)} ok", self._style("ok")),
            *([(" ", ""), (f"{failing} failing", self._style("bad"))] if failing else []),
            *([(f" ({off} off)", muted)] if off else []),
            (" · ", muted),
            (f"{UNSEEN_MARK} {unseen} unseen" if unseen else "all seen", self._style("new" if unseen else "muted")),
            (" · ", muted),
            (f"{s.get('alerts_pinned', 0)} pinned", self._style("pinned")),
            no_wrap=True, end="",
        )
        self._update("#status", text)

    def _update(self, selector: str, text: Text) -> None:
        """Repaint a part only when its text changed (status updates arrive every store change)."""
        if self._shown.get(selector) != text:
            self._shown[selector] = text
            self.query_one(selector, Static).update(text, layout=False)
