"""The main screen: alerts, headlines, detail, event log, and the keys that act on them.

The screen reads through ``ctx.db`` and acts on the database through the
store's actions; everything else (polling, exporting, opening links, other
screens) it asks of the app by posting a message from :mod:`..messages`.
"""

from __future__ import annotations

import time
from functools import partial
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Input

from ...store import Store
from ..context import UIContext
from ..format import SEVERITY_LABELS
from ..messages import (
    ExportRequested,
    OpenLink,
    PollRequested,
    ReportRequested,
    ShowDetail,
    ShowEvent,
    ShowFeeds,
    ShowHelp,
    StoreChanged,
    StoreWritten,
)
from ..widgets.alerts_table import AlertsTable
from ..widgets.detail import DetailPane
from ..widgets.event_log import EventLog
from ..widgets.footer import KeysFooter
from ..widgets.header import StatusHeader
from ..widgets.headlines import Headlines
from ..widgets.paged_table import PagedTable

FRESH_SECONDS = 120.0
"""How long a newly arrived alert stays tinted."""

DASHBOARD_KEYS: tuple[Binding, ...] = (
    # Shown in the footer, in the order a user needs them first (what fits at 80 columns).
    Binding("question_mark", "help", "Help", key_display="?", tooltip="Show every key and what it does"),
    Binding("n", "next_unseen", "Next new", tooltip="Jump to the next unseen alert (● marks unseen alerts)"),
    Binding("p", "pin", "Pin", tooltip="Pin or unpin the selected alert (pinned alerts stay on top)"),
    Binding("d", "dismiss_alert", "Dismiss", tooltip="Dismiss the selected alert (hidden until restored)"),
    # priority: handled as the key arrives, so what is typed right after "/" (fast, pasted, sent by
    # tmux) already goes to the search box instead of queueing on the pane and getting lost.
    Binding("slash", "search", "Search", key_display="/", priority=True,
            tooltip="Search: a keyword or alias finds it in every spelling and script; other words search text"),
    Binding("o", "open_link", "Open", tooltip="Open the selected story in a browser, or show and copy its link"),
    Binding("q", "quit", "Quit", tooltip="Quit (everything is already saved)"),
    # In help and the command palette; the footer has no room for them at 80 columns.
    Binding("N", "previous_unseen", "Previous new", key_display="N", show=False,
            tooltip="Jump to the previous unseen alert"),
    Binding("C", "catch_up", "Catch up", key_display="C", show=False,
            tooltip="Mark every alert seen (logged once as caught_up)"),
    Binding("u", "restore", "Undo dismiss", show=False,
            tooltip="Restore the last dismissed alert; press again to go further back"),
    Binding("r", "poll_now", "Poll now", show=False, tooltip="Poll every feed now"),
    Binding("e", "export", "Export log", show=False, tooltip="Export the whole event log to a CSV file"),
    Binding("R", "report", "Report", key_display="R", show=False,
            tooltip="Write the situation report of the last 24 h as HTML (a toast gives the path)"),
    Binding("f", "feeds", "Feeds", show=False,
            tooltip="Feed health: last success, last error and why, next poll; re-enable gone feeds"),
    Binding("s", "cycle_severity", "Min severity", show=False,
            tooltip="Cycle the minimum alert severity shown: low, medium, high, critical"),
    Binding("t", "cycle_sort", "Sort", show=False,
            tooltip="Sort alerts by newest story first, or by severity (pinned stay on top either way)"),
    Binding("a", "toggle_dismissed", "Show dismissed", show=False, tooltip="Show or hide dismissed alerts"),
    Binding("v", "toggle_chatter", "Poll chatter", show=False,
            tooltip="Show or hide poll/polled lines in the event log (export keeps every event)"),
    Binding("escape", "clear_search", "Clear search", show=False, tooltip="Clear the search"),
)


class Dashboard(Screen[None]):
    """Everything the analyst looks at all day."""

    BINDINGS: ClassVar[list[BindingType]] = list(DASHBOARD_KEYS)

    NAVIGATION_KEYS: ClassVar[tuple[tuple[str, str], ...]] = (
        ("enter", "Open the selected row (an alert, a headline or an event) in full"),
        ("tab / shift+tab", "Next / previous pane (alerts, headlines, detail, event log)"),
        ("↑ ↓ j k", "Move the cursor, or scroll the detail and help"),
        ("pgup pgdn home end g G", "Page up, page down, first, last"),
        ("ctrl+p", "Command palette: every action, and the theme"),
        ("esc", "Clear the search / close a screen"),
    )

    def __init__(self, ctx: UIContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.highlighter = ctx.highlighter
        self.tz = ctx.tz
        self.fresh: dict[int, float] = {}
        self._detail_timer: Timer | None = None
        self._search_timer: Timer | None = None
        self._detail_source: PagedTable | None = None
        self._detail_stale = False
        """A highlight arrived while the pane was hidden (narrow screen): it shows nothing current."""
        self._pending_toasts: list[dict[str, Any]] = []
        self._last_toast = 0.0
        self._toast_timer: Timer | None = None
        self._reload_since: float | None = None
        self._reload_timer: Timer | None = None
        self._last_reload = 0.0

    # -- layout ----------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        ctx = self.ctx
        yield StatusHeader(ctx.clock, self.tz, live_clock=not ctx.fixed_clock, id="header")
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield AlertsTable(ctx.db, self.highlighter, ctx.clock, self.fresh, id="alerts")
                with Vertical(id="headlines-pane"):
                    yield Input(placeholder="search: a keyword in any spelling, or words (Enter: results, Esc: clear)",
                                id="search")
                    yield Headlines(ctx.db, self.highlighter, ctx.clock, self.fresh, id="headlines")
            yield DetailPane(self.highlighter, self.tz, id="detail")
        yield EventLog(self.tz, id="events")
        yield KeysFooter()

    @property
    def alerts(self) -> AlertsTable:
        return self.query_one(AlertsTable)

    @property
    def headlines(self) -> Headlines:
        return self.query_one(Headlines)

    @property
    def event_log(self) -> EventLog:
        return self.query_one(EventLog)

    def on_mount(self) -> None:
        self.query_one(StatusHeader).polling = self.ctx.polling
        self.event_log.update_title()
        self.query_one(DetailPane).border_title = "Detail"
        self._title_alerts()
        self._title_headlines()
        self.alerts.reload()
        self.headlines.reload()
        self.alerts.focus()
        if not self.ctx.fixed_clock:
            self.set_interval(self.ctx.pace.age_tick, self._tick_ages)

    def _tick_ages(self) -> None:
        """Every ``Pace.age_tick`` s: ages move on, and new-alert tints older than ``FRESH_SECONDS`` fade."""
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
        if table.sort != "time":
            parts.append("by severity")
        if table.query_text:
            parts.append(f"matching “{table.query_text}”")
        parts.append("incl. dismissed" if table.show_dismissed else "dismissed hidden")
        table.border_title = Text(" · ".join(parts))

    def _title_headlines(self) -> None:
        table = self.headlines
        if table.query_text:
            title = Text.assemble("Search “", table.query_text, f"” {table.row_count:,} matches")
            if table.search_hint:
                title.append(f" · {table.search_hint}")
            table.border_title = title
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
        self.event_log.add(snap.events)
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
        typing, but never more than ``Pace.reload_max_delay`` so new alerts still show
        within about a second.
        """
        now = time.monotonic()
        if self._reload_since is None:
            self._reload_since = now
        pace = self.ctx.pace
        typing = now - self.ctx.last_key < pace.key_quiet
        too_soon = now - self._last_reload < pace.reload_gap
        if (typing or too_soon) and now - self._reload_since < pace.reload_max_delay:
            if self._reload_timer is None:
                self._reload_timer = self.set_timer(pace.reload_retry, self._retry_reload)
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
        if self.ctx.settings.bell and any(a.get("severity") in ("high", "critical") for a in alerts):
            self.app.bell()
        self._pending_toasts.extend(alerts)
        wait = self.ctx.pace.toast_gap - (time.monotonic() - self._last_toast)
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
    def on_resize(self) -> None:
        # The breakpoint class changes with the size; once the classes are in, a pane that has just
        # appeared shows the row under the cursor instead of waiting for the next move.
        self.call_after_refresh(self._catch_up_detail)

    def _catch_up_detail(self) -> None:
        if self._detail_stale and self.has_class("-wide") and self.query_one(DetailPane).display:
            self._detail_stale = False
            self._load_detail((self._detail_source or self.alerts).cursor)

    @on(PagedTable.Highlighted)
    def _highlighted(self, event: PagedTable.Highlighted) -> None:
        # The detail pane shows the focused table's row. A table without focus (Headlines reloading under
        # new arrivals) may set it only while no table has focus at all, else at start-up whichever pane
        # answered first would show its row beside the alert under the cursor.
        if not event.table.has_focus and (self._detail_source is not None
                                          or isinstance(self.focused, PagedTable)):
            return
        self._detail_source = event.table
        if not self.query_one(DetailPane).display or not self.has_class("-wide"):
            self._detail_stale = True  # no pane to show it in; shown when the screen is wide again
            return
        if self._detail_timer is not None:
            self._detail_timer.stop()
        row = event.row
        if self.ctx.fixed_clock:
            self._load_detail(row)  # a test clock: no timer, so what is drawn does not depend on timing
            return
        self._detail_timer = self.set_timer(self.ctx.pace.detail_delay, lambda: self._load_detail(row))

    @on(PagedTable.CursorMoved)
    def _cursor_moved(self, event: PagedTable.CursorMoved) -> None:
        """The user moved the cursor onto a row (a key or a click): its alert counts as seen."""
        self._mark_seen(self._alert_of(event.table, event.row))

    def _alert_of(self, table: PagedTable, row: dict[str, Any] | None) -> dict[str, Any] | None:
        """``{"id", "seen_at"}`` of the alert a row stands for (a headline may have none)."""
        if row is None:
            return None
        if table is self.alerts:
            return {"id": row["id"], "seen_at": row.get("seen_at")}
        if row.get("alert_id") is None:
            return None
        return {"id": row["alert_id"], "seen_at": row.get("alert_seen_at")}

    def _mark_seen(self, alert: dict[str, Any] | None) -> None:
        if alert is None or alert.get("seen_at"):
            return  # already seen: no write per key press
        self.run_worker(partial(self._write_seen, alert["id"]), group="seen", exit_on_error=False)

    async def _write_seen(self, alert_id: int) -> None:
        if await self.ctx.db.call(Store.mark_seen, alert_id):
            await self._after_action()

    def _load_detail(self, row: dict[str, Any] | None) -> None:
        item_id = self._item_id(row)
        self.run_worker(partial(self._show_detail, item_id), group="detail", exclusive=True, exit_on_error=False)

    async def _show_detail(self, item_id: int | None) -> None:
        item = await self.ctx.db.call(Store.item, item_id) if item_id is not None else None
        self.query_one(DetailPane).show(item)

    @on(PagedTable.Selected)
    def _selected(self, event: PagedTable.Selected) -> None:
        self._mark_seen(self._alert_of(event.table, event.row))
        self.run_worker(partial(self._open_detail, event.row), group="detail-screen", exclusive=True,
                        exit_on_error=False)

    async def _open_detail(self, row: dict[str, Any] | None) -> None:
        item_id = self._item_id(row)
        if item_id is None:
            return
        item = await self.ctx.db.call(Store.item, item_id)
        if item is not None:
            self.post_message(ShowDetail(item))

    @on(EventLog.Selected)
    def _event_selected(self, event: EventLog.Selected) -> None:
        self.post_message(ShowEvent(event.event))

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
        self.post_message(ShowHelp(self.keys_for_help()))

    def keys_for_help(self) -> list[tuple[str, str]]:
        """Every dashboard key with what it does, then moving around: built from BINDINGS, so it cannot drift."""
        keys: list[tuple[str, str]] = [
            (b.key_display or b.key, b.tooltip or b.description) for b in self.BINDINGS
            if isinstance(b, Binding) and b.key != "escape"]
        keys += list(self.NAVIGATION_KEYS)
        return keys

    def action_pin(self) -> None:
        alert_id, title = self._selected_alert()
        if alert_id is None:
            self.notify("Select an alert first (this headline raised none).", severity="warning")
            return
        self.run_worker(partial(self._pin, alert_id, title), group="actions", exit_on_error=False)

    async def _pin(self, alert_id: int, title: str) -> None:
        state = await self.ctx.db.call(Store.toggle_pin, alert_id)
        self.notify(title, title="Pinned" if state == "pinned" else "Unpinned", markup=False, timeout=3)
        await self._after_action()

    def action_dismiss_alert(self) -> None:
        alert_id, title = self._selected_alert()
        if alert_id is None:
            self.notify("Select an alert first (this headline raised none).", severity="warning")
            return
        self.run_worker(partial(self._dismiss, alert_id, title), group="actions", exit_on_error=False)

    async def _dismiss(self, alert_id: int, title: str) -> None:
        await self.ctx.db.call(Store.dismiss, alert_id)
        self.fresh.pop(alert_id, None)
        self.notify(title, title="Dismissed (u restores)", markup=False, timeout=3)
        await self._after_action()

    async def _after_action(self) -> None:
        """Show the user's own change at once (live reloads may be waiting for typing to pause)."""
        self._reload_since = None
        self.alerts.reload(after_action=True)
        self.headlines.reload(after_action=True)
        self.post_message(StoreWritten())

    def action_restore(self) -> None:
        self.run_worker(self._restore, group="actions", exit_on_error=False)

    async def _restore(self) -> None:
        alert_id = await self.ctx.db.call(Store.restore_last_dismissed)
        if alert_id is None:
            self.notify("Nothing dismissed to restore.", timeout=3)
            return
        alert = await self.ctx.db.call(Store.alert, alert_id)
        self.notify((alert or {}).get("title") or "", title="Restored", markup=False, timeout=3)
        await self._after_action()

    # -- seen / unseen ------------------------------------------------------------------------------------
    def action_next_unseen(self) -> None:
        self.run_worker(partial(self._jump_unseen, 1), group="jump", exclusive=True, exit_on_error=False)

    def action_previous_unseen(self) -> None:
        self.run_worker(partial(self._jump_unseen, -1), group="jump", exclusive=True, exit_on_error=False)

    async def _jump_unseen(self, step: int) -> None:
        table = self.alerts
        positions = await table.unseen_positions()
        if not positions:
            self.notify("Nothing unseen: every alert shown has been looked at.", timeout=3)
            return
        here = table.cursor_row
        ahead = [p for p in positions if p > here] if step > 0 else [p for p in reversed(positions) if p < here]
        wrapped = not ahead
        target = (ahead or (positions if step > 0 else list(reversed(positions))))[0]
        table.focus()
        table.move_cursor(target)
        await table.wait_for_row(target)
        self._mark_seen(self._alert_of(table, table.cursor))
        if wrapped and len(positions) > 1 or (wrapped and target != here):
            self.notify("Wrapped around to the " + ("first" if step > 0 else "last") + " unseen alert.",
                        timeout=2)

    def action_catch_up(self) -> None:
        self.run_worker(self._catch_up, group="actions", exit_on_error=False)

    async def _catch_up(self) -> None:
        count = await self.ctx.db.call(Store.catch_up)
        self.notify(f"{count} alert{'s' if count != 1 else ''} marked seen." if count else "Already caught up.",
                    title="Caught up", timeout=3)
        await self._after_action()

    # -- search ------------------------------------------------------------------------------------
    def action_search(self) -> None:
        search = self.query_one("#search", Input)
        if self.focused is search:
            search.insert_text_at_cursor("/")  # a "/" typed in the query itself
            return
        search.add_class("-visible")
        # Shown at once, not at the next CSS pass: keys typed right after "/" (fast typing,
        # a paste, tmux send-keys) must land in the box, not on the dashboard's own keys.
        search.display = True
        self.set_focus(search)  # now: Widget.focus() defers to after the keys already queued

    @on(Input.Changed, "#search")
    def _search_changed(self, event: Input.Changed) -> None:
        if self._search_timer is not None:
            self._search_timer.stop()
        value = event.value
        self._search_timer = self.set_timer(self.ctx.pace.search_delay, lambda: self._run_search(value))

    def _run_search(self, value: str) -> None:
        self.headlines.search(value)
        self.alerts.search(value)
        self._title_headlines()
        self._title_alerts()

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
            search.display = False
            self._run_search("")
            self.headlines.focus()

    # -- the rest ------------------------------------------------------------------------------------
    def action_open_link(self) -> None:
        table = self._focused_table()
        row = table.cursor
        link = (row or {}).get("link")
        if not link:
            self.notify("This row has no link.", severity="warning", timeout=3)
            return
        self._mark_seen(self._alert_of(table, row))
        self.post_message(OpenLink(link))

    def action_export(self) -> None:
        self.post_message(ExportRequested())

    def action_report(self) -> None:
        self.post_message(ReportRequested())

    def action_feeds(self) -> None:
        self.post_message(ShowFeeds())

    def action_cycle_severity(self) -> None:
        severity = self.alerts.cycle_severity()
        self._title_alerts()
        self.notify(f"Showing {severity} and above.", title="Minimum severity", timeout=2)

    def action_cycle_sort(self) -> None:
        sort = self.alerts.cycle_sort()
        self._title_alerts()
        self.notify("Newest story first." if sort == "time" else "Most severe first, then newest.",
                    title="Sort", timeout=2)

    def action_toggle_dismissed(self) -> None:
        shown = self.alerts.toggle_dismissed()
        self._title_alerts()
        self.notify("Dismissed alerts shown (dimmed)." if shown else "Dismissed alerts hidden.", timeout=2)

    def action_toggle_chatter(self) -> None:
        shown = self.event_log.toggle_chatter()
        self.notify("Poll lines shown in the event log." if shown else
                    "Poll lines hidden (the export keeps them).", timeout=2)

    def action_poll_now(self) -> None:
        self.post_message(PollRequested())

    async def action_quit(self) -> None:
        await self.app.action_quit()
