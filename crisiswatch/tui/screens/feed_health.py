"""Every configured feed: when it last worked, what went wrong and why, items, next poll.

Feeds are few (hundreds), so a DataTable is the right tool here. The screen
re-reads on every store change while it is open, and ``e`` re-enables a feed
the server declared gone (410), which the poller otherwise never retries.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from functools import partial
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Static

from ...redact import redact_text, redact_url
from ...store import Store
from ...termsafe import one_line
from ..context import UIContext
from ..format import age, local_time, until
from ..messages import PollRequested, StoreChanged, StoreWritten


def feed_status(feed: dict[str, Any]) -> str:
    if feed["gone"]:
        return "GONE"
    if feed["failures"]:
        return "FAILING"
    if feed["last_ok"] is None:
        return "pending"
    return "ok"


class FeedHealthScreen(Screen[None]):

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "feed-health--gone", "feed-health--failing", "feed-health--pending", "feed-health--ok", "feed-health--error",
    }
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,f,q", "close", "Back"),
        Binding("e", "reenable", "Re-enable feed"),
        Binding("r", "poll_now", "Poll now"),
        # The dashboard's movement keys, as its help promises ("↑ ↓ j k", "g G"); the arrows are the table's.
        Binding("j", "move('down')", "Down", show=False),
        Binding("k", "move('up')", "Up", show=False),
        Binding("g", "move('top')", "First", show=False),
        Binding("G", "move('bottom')", "Last", show=False),
    ]

    def __init__(self, ctx: UIContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.tz: tzinfo | None = ctx.tz
        self.feeds: list[dict[str, Any]] = []
        self._reload_timer: Timer | None = None
        self._loaded = False

    def compose(self) -> ComposeResult:
        table: DataTable[Any] = DataTable(id="feed-table", cursor_type="row", zebra_stripes=True)
        table.add_column("Status", key="status")
        table.add_column("Feed", key="name")
        table.add_column("Last ok", key="last_ok")
        table.add_column("Items", key="items")
        table.add_column("Fails", key="failures")
        table.add_column("Next poll", key="next_poll")
        table.add_column("Last error", key="error")
        yield table
        yield Static(id="feed-error")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(DataTable).border_title = "Feed health"
        self.reload()
        self.query_one(DataTable).focus()
        if not self.ctx.fixed_clock:
            # "2s ago" and "(in 6s)" are relative to now: redrawn from the rows already read, or they
            # would stand still between polls.
            self.set_interval(self.ctx.pace.health_tick, self._tick)

    def _tick(self) -> None:
        """Only the two clock-relative cells of each row, not the table (its cursor and scroll stay put)."""
        if not self._loaded:  # before the first read there are no rows to redraw
            return
        table = self.query_one(DataTable)
        now = self.ctx.clock()
        for feed in self.feeds:
            table.update_cell(feed["name"], "last_ok", self._last_ok(feed, now), update_width=True)
            table.update_cell(feed["name"], "next_poll", self._next_poll(feed, now), update_width=True)

    @staticmethod
    def _last_ok(feed: dict[str, Any], now: datetime) -> Text:
        return Text(f"{age(feed['last_ok'], now)} ago" if feed["last_ok"] else "never")

    def _next_poll(self, feed: dict[str, Any], now: datetime) -> Text:
        if feed["gone"]:
            return Text("not until re-enabled")
        if not feed["next_poll"]:
            return Text("next cycle")
        return Text(f"{local_time(feed['next_poll'], self.tz, '%H:%M')} ({until(feed['next_poll'], now)})")

    def action_move(self, where: str) -> None:
        table = self.query_one(DataTable)
        {"down": table.action_cursor_down, "up": table.action_cursor_up,
         "top": table.action_scroll_top, "bottom": table.action_scroll_bottom}[where]()

    def reload(self) -> None:
        self.run_worker(self._reload, group="feeds", exclusive=True, exit_on_error=False)

    async def _reload(self) -> None:
        self.feeds = await self.ctx.db.call(Store.feeds)
        self._loaded = True
        self._fill()

    def _fill(self) -> None:
        table = self.query_one(DataTable)
        now = self.ctx.clock()
        cursor = table.cursor_row
        table.clear()
        for feed in self.feeds:
            status = feed_status(feed)
            style = self.get_component_rich_style(f"feed-health--{status.lower()}", partial=True)
            error = one_line(redact_text(feed["last_error"] or ""))  # the network's words: inert, no secrets
            if error and feed["last_error_kind"]:
                error = f"{feed['last_error_kind']}: {error}"
            table.add_row(
                Text(status, style=style),
                Text(one_line(feed["name"])),
                self._last_ok(feed, now),
                Text(str(feed["items_count"]), justify="right"),
                Text(str(feed["failures"]), justify="right"),
                self._next_poll(feed, now),
                Text(error, style=self.get_component_rich_style("feed-health--error", partial=True) if error else ""),
                key=feed["name"],
            )
        if self.feeds:
            table.move_cursor(row=min(cursor, len(self.feeds) - 1))
        failing = sum(1 for f in self.feeds if f["failures"] or f["gone"])
        table.border_title = f"Feed health · {len(self.feeds)} feeds · {failing} failing"
        self._show_error()

    @on(DataTable.RowHighlighted)
    def _show_error(self) -> None:
        table = self.query_one(DataTable)
        panel = self.query_one("#feed-error", Static)
        if not self.feeds or table.cursor_row >= len(self.feeds):
            panel.update(Text("No feeds in the config."))
            return
        feed = self.feeds[table.cursor_row]
        # Names come from the config, URLs from the config or a redirect, errors from servers: one inert
        # line each, and a URL's password or token never on screen.
        lines = Text.assemble((one_line(feed["name"]), "bold"), "  ", one_line(redact_url(feed["url"])),
                              no_wrap=False)
        if feed["last_error"]:
            error = one_line(redact_text(feed["last_error"]))
            lines.append_text(Text.assemble("\n", ("last error: ", "bold"),
                                            f"{feed['last_error_kind'] or ''} {error}".strip()))
            if feed["last_fetch"]:
                lines.append(f" (at {local_time(feed['last_fetch'], self.tz, '%Y-%m-%d %H:%M:%S')})")
        if feed["gone"]:
            lines.append("\nThe server said this feed is gone (410). Press e to poll it again.")
        panel.update(lines)

    def on_store_changed(self, message: StoreChanged) -> None:
        # During a poll the store changes on every tick; rebuilding 200 rows each
        # time would cost the keys their responsiveness, so at most every ``Pace.health_reload`` s.
        if self._reload_timer is None:
            self._reload_timer = self.set_timer(self.ctx.pace.health_reload, self._timed_reload)

    def _timed_reload(self) -> None:
        self._reload_timer = None
        self.reload()

    def action_close(self) -> None:
        self.dismiss(None)

    def action_reenable(self) -> None:
        table = self.query_one(DataTable)
        if not self.feeds:
            return
        feed = self.feeds[table.cursor_row]
        self.run_worker(partial(self._reenable, feed["name"], bool(feed["gone"] or feed["failures"])), exit_on_error=False)

    async def _reenable(self, name: str, was_down: bool) -> None:
        if not was_down:
            self.notify(f"{name} is not failing; nothing to re-enable.", markup=False, timeout=3)
            return
        await self.ctx.db.call(Store.reenable_feed, name)
        self.notify(f"{name} will be polled at the next cycle.", title="Re-enabled", markup=False)
        self.post_message(PollRequested(quiet=True))
        self.reload()
        self.post_message(StoreWritten())

    def action_poll_now(self) -> None:
        self.post_message(PollRequested())
