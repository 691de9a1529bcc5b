"""The main screen: alerts, headlines, detail, event log, and the keys that act on them."""

from __future__ import annotations

import time
from datetime import tzinfo
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Input

from ...store import Store
from ..actions import browser_available, default_export_path, open_in_browser
from ..format import SEVERITY_LABELS, Highlighter
from ..messages import ReportRequested, StoreChanged
from ..widgets.alerts_table import AlertsTable
from ..widgets.detail import DetailPane
from ..widgets.event_log import EventLog
from ..widgets.footer import KeysFooter
from ..widgets.header import StatusHeader
from ..widgets.headlines import Headlines
from ..widgets.paged_table import PagedTable
from .detail import DetailScreen
from .export_prompt import ExportPrompt
from .feed_health import FeedHealthScreen
from .help import HelpScreen

if TYPE_CHECKING:
    from ..app import CrisiswatchApp

FRESH_SECONDS = 120.0
"""How long a newly arrived alert stays highlighted."""
DETAIL_DELAY = 0.12
"""The detail pane follows the cursor once it rests this long (not on every row flown past)."""
KEY_QUIET = 0.3
"""Seconds without a key press before a live reload repaints the tables."""
MIN_RELOAD_GAP = 0.6
"""During a poll the store changes on every check; the panes repaint at most this often."""
MAX_RELOAD_DELAY = 0.6
"""…and a pending reload never waits longer than this (new alerts show within about a second)."""
TOAST_GAP = 5.0
"""At most one batch of new-alert toasts this often."""


class Dashboard(Screen[None]):
    """Everything the analyst looks at all day."""

    app: CrisiswatchApp  # type: ignore[assignment]

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark", "help", "Help", key_display="?", tooltip="Show every key and what it does"),
        Binding("p", "pin", "Pin", tooltip="Pin or unpin the selected alert (pinned alerts stay on top)"),
        Binding("d", "dismiss", "Dismiss", tooltip="Dismiss the selected alert (hidden until restored)"),
        Binding("u", "restore", "Undo dismiss", tooltip="Restore the last dismissed alert; press again to go further back"),
        Binding("slash", "search", "Search", key_display="/", tooltip="Full-text search over every headline and summary"),
        Binding("o", "open_link", "Open link", tooltip="Open the selected story in a browser (copied to the clipboard over ssh)"),
        Binding("e", "export", "Export log", tooltip="Export the event log to a CSV file"),
        Binding("f", "feeds", "Feeds", tooltip="Feed health: last success, last error and why, next poll; re-enable gone feeds"),
        Binding("s", "cycle_severity", "Min severity", tooltip="Cycle the minimum alert severity shown: low, medium, high, critical"),
        Binding("a", "toggle_dismissed", "Show dismissed", tooltip="Show or hide dismissed alerts"),
        Binding("r", "poll_now", "Poll now", tooltip="Poll every feed now"),
        Binding("R", "report", "Report", key_display="R",
                tooltip="Write the situation report of the last 24 h (HTML) to the exports folder"),
        Binding("escape", "clear_search", "Clear search", show=False),
        Binding("q", "quit", "Quit", tooltip="Quit (everything is already saved)"),
    ]

    def __init__(self, highlighter: Highlighter, tz: tzinfo | None) -> None:
        super().__init__()
        self.highlighter = highlighter
        self.tz = tz
        self.fresh: dict[int, float] = {}
        self._detail_timer: Timer | None = None
        self._search_timer: Timer | None = None
        self._detail_source: PagedTable | None = None
        self._pending_toasts: list[dict[str, Any]] = []
        self._last_toast = 0.0
        self._toast_timer: Timer | None = None
        self._reload_since: float | None = None
        self._reload_timer: Timer | None = None
        self._last_reload = 0.0

    # -- layout ----------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        app = self.app
        yield StatusHeader(app.clock, self.tz, live_clock=not app.fixed_clock, id="header")
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield AlertsTable(app.db, self.highlighter, app.clock, self.fresh, id="alerts")
                with Vertical(id="headlines-pane"):
                    yield Input(placeholder="search headlines (Enter: go to results, Esc: clear)", id="search")
                    yield Headlines(app.db, self.highlighter, app.clock, self.fresh, id="headlines")
            yield DetailPane(self.highlighter, self.tz, id="detail")
        yield EventLog(self.tz, id="events")
        yield KeysFooter()

    @property
    def alerts(self) -> AlertsTable:
        return self.query_one(AlertsTable)

    @property
    def headlines(self) -> Headlines:
        return self.query_one(Headlines)

    def on_mount(self) -> None:
        self.query_one(StatusHeader).polling = self.app.polling
        self.query_one(EventLog).border_title = "Event log"
        self.query_one(DetailPane).border_title = "Detail"
        self._title_alerts()
        self._title_headlines()
        self.alerts.reload()
        self.headlines.reload()
        self.alerts.focus()
        if not self.app.fixed_clock:
            self.set_interval(30.0, self._tick_ages)

    def _tick_ages(self) -> None:
        """Every 30 s: ages move on, and new-alert highlights older than ``FRESH_SECONDS`` fade."""
        self._expire_fresh()
        self.alerts.refresh_rows()
        self.headlines.refresh_rows()

    def _expire_fresh(self) -> bool:
        now = time.monotonic()
        expired = [k for k, t in self.fresh.items() if now - t > FRESH_SECONDS]
        for key in expired:
            del self.fresh[key]
        return bool(expired)

    def _title_alerts(self) -> None:
        table = self.alerts
        parts = [f"Alerts {table.row_count:,}"]
        if table.min_severity != "low":
            parts.append(f"{table.min_severity}+")
        parts.append("incl. dismissed" if table.show_dismissed else "dismissed hidden")
        table.border_title = " · ".join(parts)

    def _title_headlines(self) -> None:
        table = self.headlines
        if table.query_text:
            table.border_title = Text.assemble("Search “", table.query_text, f"” {table.row_count:,} matches")
        else:
            table.border_title = f"Headlines {table.row_count:,}"

    @on(PagedTable.Loaded)
    def _loaded(self, event: PagedTable.Loaded) -> None:
        if event.table is self.alerts:
            self._title_alerts()
        else:
            self._title_headlines()

    # -- live updates ------------------------------------------------------------------------------
    def on_store_changed(self, message: StoreChanged) -> None:
        snap = message.snapshot
        self.query_one(StatusHeader).update_status(snap.status, snap.per_hour)
        self.query_one(EventLog).add(snap.events)
        expired = self._expire_fresh()
        now = time.monotonic()
        for alert in snap.new_alerts:
            self.fresh[alert["id"]] = now
        # Even on the first snapshot: the panes loaded at mount, and a poll that committed
        # between that load and the watcher's first look would otherwise stay invisible
        # until the next change (with a fast first poll and an hourly interval, an hour).
        self._schedule_reload()
        if snap.new_alerts:
            self._announce(snap.new_alerts)
        elif expired:
            self.alerts.refresh_rows()
            self.headlines.refresh_rows()

    def _schedule_reload(self) -> None:
        """Re-read the tables now, or shortly if the user is pressing keys.

        While keys arrive, a reload (and the repaint of both panes it causes) would
        compete with them and shift rows under the cursor; it waits for a pause in
        typing, but never more than ``MAX_RELOAD_DELAY`` so new alerts still show
        within about a second.
        """
        now = time.monotonic()
        if self._reload_since is None:
            self._reload_since = now
        typing = now - self.app.last_key < KEY_QUIET
        too_soon = now - self._last_reload < MIN_RELOAD_GAP
        if (typing or too_soon) and now - self._reload_since < MAX_RELOAD_DELAY:
            if self._reload_timer is None:
                self._reload_timer = self.set_timer(0.15, self._retry_reload)
            return
        self._reload_since = None
        self._last_reload = now
        self.alerts.reload()
        self.headlines.reload()

    def _retry_reload(self) -> None:
        self._reload_timer = None
        self._schedule_reload()

    def _announce(self, alerts: list[dict[str, Any]]) -> None:
        """Bell now for high/critical; toasts at most every few seconds, batched.

        A 200-feed poll can raise alerts on every tick for a minute; one toast per
        tick would bury the screen (and each toast is a layout pass).
        """
        if self.app.config.settings.bell and any(a.get("severity") in ("high", "critical") for a in alerts):
            self.app.bell()
        self._pending_toasts.extend(alerts)
        wait = TOAST_GAP - (time.monotonic() - self._last_toast)
        if wait <= 0:
            self._flush_toasts()
        elif self._toast_timer is None:
            self._toast_timer = self.set_timer(wait, self._flush_toasts)

    def _flush_toasts(self) -> None:
        self._toast_timer = None
        alerts, self._pending_toasts = self._pending_toasts, []
        if not alerts:
            return
        self._last_toast = time.monotonic()
        serious = [a for a in alerts if a.get("severity") in ("high", "critical")]
        if len(alerts) <= 3:
            for alert in alerts:
                severity = alert.get("severity") or ""
                self.notify(alert.get("title") or "",
                            title=f"{SEVERITY_LABELS.get(severity, severity)} alert · {alert.get('feed') or ''}",
                            severity="error" if severity == "critical" else "warning" if alert in serious
                            else "information", markup=False)
            return
        worst = "error" if any(a.get("severity") == "critical" for a in alerts) else (
            "warning" if serious else "information")
        self.notify(f"newest: {alerts[-1].get('title') or ''}",
                    title=f"{len(alerts)} new alerts ({len(serious)} high/critical)", severity=worst, markup=False)

    # -- selection & detail ----------------------------------------------------------------------------
    @on(PagedTable.Highlighted)
    def _highlighted(self, event: PagedTable.Highlighted) -> None:
        if not event.table.has_focus and self._detail_source is not None:
            return
        self._detail_source = event.table
        if not self.query_one(DetailPane).display or not self.has_class("-wide"):
            return
        if self._detail_timer is not None:
            self._detail_timer.stop()
        row = event.row
        self._detail_timer = self.set_timer(DETAIL_DELAY, lambda: self._load_detail(row))

    def _load_detail(self, row: dict[str, Any] | None) -> None:
        item_id = None if row is None else (row.get("item_id") if "item_id" in row else row.get("id"))
        self.run_worker(partial(self._show_detail, item_id), group="detail", exclusive=True, exit_on_error=False)

    async def _show_detail(self, item_id: int | None) -> None:
        item = await self.app.db.call(Store.item, item_id) if item_id is not None else None
        self.query_one(DetailPane).show(item)

    @on(PagedTable.Selected)
    def _selected(self, event: PagedTable.Selected) -> None:
        self.run_worker(partial(self._open_detail, event.row), group="detail-screen", exclusive=True, exit_on_error=False)

    async def _open_detail(self, row: dict[str, Any] | None) -> None:
        item_id = self._item_id(row)
        if item_id is None:
            return
        item = await self.app.db.call(Store.item, item_id)
        if item is not None:
            self.app.push_screen(DetailScreen(item, self.highlighter, self.tz))

    @staticmethod
    def _item_id(row: dict[str, Any] | None) -> int | None:
        if row is None:
            return None
        return row.get("item_id") if "item_id" in row else row.get("id")

    def _focused_table(self) -> PagedTable:
        focused = self.focused
        if isinstance(focused, PagedTable):
            return focused
        return self._detail_source or self.alerts

    def _selected_alert(self) -> tuple[int | None, str]:
        """The alert the keys act on: the alerts cursor, or the highlighted headline's alert."""
        table = self._focused_table()
        row = table.cursor
        if row is None:
            return None, ""
        if table is self.alerts:
            return row["id"], row.get("title") or ""
        return row.get("alert_id"), row.get("title") or ""

    # -- actions ---------------------------------------------------------------------------------------
    def action_help(self) -> None:
        self.app.push_screen(HelpScreen(self.active_bindings_for_help()))

    def active_bindings_for_help(self) -> list[tuple[str, str]]:
        keys: list[tuple[str, str]] = [
            (b.key_display or b.key, b.tooltip or b.description) for b in self.BINDINGS
            if isinstance(b, Binding) and b.show]
        keys += [("enter", "Detail of the selected row"), ("tab / shift+tab", "Next / previous pane"),
                 ("↑ ↓ j k", "Move"), ("pgup pgdn home end", "Page, first, last"),
                 ("esc", "Clear the search / close a screen")]
        return keys

    def action_pin(self) -> None:
        alert_id, title = self._selected_alert()
        if alert_id is None:
            self.notify("Select an alert first (this headline raised none).", severity="warning")
            return
        self.run_worker(partial(self._pin, alert_id, title), group="actions", exit_on_error=False)

    async def _pin(self, alert_id: int, title: str) -> None:
        state = await self.app.db.call(Store.toggle_pin, alert_id)
        self.notify(title, title="Pinned" if state == "pinned" else "Unpinned", markup=False, timeout=3)
        await self._after_action()

    def action_dismiss(self) -> None:
        alert_id, title = self._selected_alert()
        if alert_id is None:
            self.notify("Select an alert first (this headline raised none).", severity="warning")
            return
        self.run_worker(partial(self._dismiss, alert_id, title), group="actions", exit_on_error=False)

    async def _dismiss(self, alert_id: int, title: str) -> None:
        await self.app.db.call(Store.dismiss, alert_id)
        self.fresh.pop(alert_id, None)
        self.notify(title, title="Dismissed (u restores)", markup=False, timeout=3)
        await self._after_action()

    async def _after_action(self) -> None:
        """Show the user's own change at once (live reloads may be waiting for typing to pause)."""
        self._reload_since = None
        self.alerts.reload()
        self.headlines.reload()
        await self.app.check_store()

    def action_restore(self) -> None:
        self.run_worker(self._restore, group="actions", exit_on_error=False)

    async def _restore(self) -> None:
        alert_id = await self.app.db.call(Store.restore_last_dismissed)
        if alert_id is None:
            self.notify("Nothing dismissed to restore.", timeout=3)
            return
        alert = await self.app.db.call(Store.alert, alert_id)
        self.notify((alert or {}).get("title") or "", title="Restored", markup=False, timeout=3)
        await self._after_action()

    def action_search(self) -> None:
        search = self.query_one("#search", Input)
        search.add_class("-visible")
        search.focus()

    @on(Input.Changed, "#search")
    def _search_changed(self, event: Input.Changed) -> None:
        if self._search_timer is not None:
            self._search_timer.stop()
        value = event.value
        self._search_timer = self.set_timer(0.25, lambda: self._run_search(value))

    def _run_search(self, value: str) -> None:
        self.headlines.search(value)
        self._title_headlines()

    @on(Input.Submitted, "#search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        if self._search_timer is not None:
            self._search_timer.stop()
        self._run_search(event.value)
        self.headlines.focus()

    def action_clear_search(self) -> None:
        search = self.query_one("#search", Input)
        if search.has_class("-visible") or self.headlines.query_text:
            search.value = ""
            search.remove_class("-visible")
            self._run_search("")
            self.headlines.focus()

    def action_open_link(self) -> None:
        row = self._focused_table().cursor
        link = (row or {}).get("link")
        if not link:
            self.notify("This row has no link.", severity="warning", timeout=3)
            return
        self.open_link(link)

    def open_link(self, link: str) -> None:
        if browser_available():
            self._browse(link)
        else:
            self.app.copy_to_clipboard(link)
            self.notify(f"No browser can open here (ssh or no display); copied the link to the clipboard "
                        f"(OSC 52):\n{link}", title="Link copied", markup=False)

    @work(thread=True, group="browser", exit_on_error=False)
    def _browse(self, link: str) -> None:
        if open_in_browser(link):
            self.app.call_from_thread(self.notify, link, title="Opened in browser", markup=False, timeout=3)
        else:
            self.app.call_from_thread(self.app.copy_to_clipboard, link)
            self.app.call_from_thread(self.notify, f"The browser did not start; copied the link (OSC 52):\n{link}",
                                      title="Link copied", markup=False)

    def action_report(self) -> None:
        self.post_message(ReportRequested())

    def action_export(self) -> None:
        default = default_export_path(self.app.clock().astimezone(self.tz))
        self.app.push_screen(ExportPrompt(default), self._export_to)

    def _export_to(self, path: str | None) -> None:
        if path:
            self.app.export_events(path)

    def action_feeds(self) -> None:
        self.app.push_screen(FeedHealthScreen(self.tz))

    def action_cycle_severity(self) -> None:
        severity = self.alerts.cycle_severity()
        self._title_alerts()
        self.notify(f"Showing {severity} and above.", title="Minimum severity", timeout=2)

    def action_toggle_dismissed(self) -> None:
        shown = self.alerts.toggle_dismissed()
        self._title_alerts()
        self.notify("Dismissed alerts shown (dimmed)." if shown else "Dismissed alerts hidden.", timeout=2)

    def action_poll_now(self) -> None:
        self.app.request_poll()

    async def action_quit(self) -> None:
        await self.app.action_quit()
