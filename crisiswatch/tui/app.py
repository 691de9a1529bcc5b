"""The crisiswatch dashboard app: wiring only.

Three threads of work, none of them the event loop's:

* the **poller** (the core :class:`~crisiswatch.poller.Poller`) runs in a thread
  worker with its own asyncio loop and its own Store, created inside that thread
  because SQLite connections belong to one thread;
* the **UI database thread** (:class:`~crisiswatch.tui.reader.Database`) does
  every read and every user action for the screens;
* a **watcher** timer asks that thread for ``change_marker()`` a few times a
  second and, only when it moved, reads a snapshot and posts ``StoreChanged`` —
  so alerts written by our poller *or another process* show within a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

from textual import events, on, work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.filter import LineFilter
from textual.screen import Screen

from ..config import Config
from ..errors import CrisiswatchError, StoreError
from ..models import utcnow
from ..store import Store
from .actions import (
    browser_available,
    clipboard_note,
    copy_to_tmux_buffer,
    default_export_path,
    default_report_path,
    open_in_browser,
)
from .context import UIContext
from .contrast import ContrastFilter
from .format import Highlighter
from .messages import (
    ExportRequested,
    OpenLink,
    PollRequested,
    ReportRequested,
    ShowDetail,
    ShowEvent,
    ShowFeeds,
    ShowHelp,
    Snapshot,
    StoreChanged,
    StoreWritten,
)
from .pace import DEFAULT_PACE, Pace
from .reader import Database
from .screens.dashboard import Dashboard
from .screens.detail import DetailScreen
from .screens.event_detail import EventScreen
from .screens.export_prompt import ExportPrompt
from .screens.feed_health import FeedHealthScreen
from .screens.help import HelpScreen
from .themes import OFFERED_THEMES

QUIT_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))
"""Signals that end the dashboard as ``q`` does (Ctrl-C is a key binding inside the app)."""


def _snapshot(store: Store, after_id: int, now: datetime, first: bool, disabled: tuple[str, ...] = ()) -> Snapshot:
    """Header figures, new events and new alerts; runs on the database thread."""
    events = store.events_tail(200, after_id=after_id)
    new_alerts: list[dict[str, Any]] = []
    if not first:
        for event in events:
            if event["kind"] == "alert_new" and event["alert_id"] is not None and len(new_alerts) < 50:
                alert = store.alert(event["alert_id"])
                if alert is not None:
                    new_alerts.append(alert)
    return Snapshot(store.status(disabled=disabled), store.alerts_per_hour(24, now=now), events, new_alerts, first)


PARSER_NICENESS = 5
"""How much lower the feed parsers' CPU priority is than the dashboard's."""


def _prestart_process_helpers() -> None:
    """Start multiprocessing's resource tracker and forkserver while ``sys.stderr`` is still real.

    The poller parses in a process pool, created lazily on its thread. By then
    Textual has swapped ``sys.stderr`` for a capture object whose ``fileno()``
    is -1, and the resource tracker's spawn fails with "bad value(s) in
    fds_to_keep" — every feed would report a parse error. Started here, both
    helpers are already running when the pool needs them.

    The forkserver is also reniced: the parser processes fork from it and
    inherit its priority, so on a small machine a 200-feed poll parses in the
    CPU time the dashboard leaves, instead of making key presses wait.
    """
    import multiprocessing
    from multiprocessing import resource_tracker

    try:
        resource_tracker.ensure_running()
        if "forkserver" in multiprocessing.get_all_start_methods():
            from multiprocessing import forkserver

            from ..worker import forkserver_context

            forkserver_context()  # its preload (the parser, not the CLI) is fixed when it starts, i.e. now
            forkserver.ensure_running()
            pid = getattr(forkserver._forkserver, "_forkserver_pid", None)  # private: no public accessor
            if pid and hasattr(os, "setpriority"):
                current = os.getpriority(os.PRIO_PROCESS, pid)
                os.setpriority(os.PRIO_PROCESS, pid, min(19, max(current, os.getpriority(os.PRIO_PROCESS, 0))
                                                         + PARSER_NICENESS))
    except (OSError, ValueError):
        pass  # the poller then falls back to reporting parse errors per feed, visibly


class CrisiswatchApp(App[int]):
    """``CrisiswatchApp(config, db_path, poll=False, clock=fixed, pace=quick)`` gives tests a deterministic screen."""

    CSS_PATH = "crisiswatch.tcss"
    TITLE = "crisiswatch"
    ENABLE_COMMAND_PALETTE = True
    COMMAND_PALETTE_BINDING = "ctrl+p"
    HORIZONTAL_BREAKPOINTS: ClassVar[list[tuple[int, str]]] = [(0, "-narrow"), (120, "-wide")]
    VERTICAL_BREAKPOINTS: ClassVar[list[tuple[int, str]]] = [(0, "-short"), (32, "-tall")]
    BINDINGS: ClassVar[list[BindingType]] = [Binding("ctrl+c", "quit", "Quit", show=False, priority=True)]

    def __init__(self, config: Config, db_path: Path | str, *, poll: bool = True,
                 clock: Callable[[], datetime] | None = None, pace: Pace = DEFAULT_PACE) -> None:
        super().__init__()
        self.config = config
        self.db_path = Path(db_path)
        self.polling = poll
        self.fixed_clock = clock is not None
        self.clock: Callable[[], datetime] = clock or utcnow
        # Times show in local time; under a test clock, in the clock's own zone (deterministic).
        self.tz = self.clock().tzinfo if clock is not None else None
        self.db = Database(self.db_path, on_error=self._database_error, on_wait=self._database_waiting)
        self._last_db_error = (0.0, "")
        self.highlighter = Highlighter(config)
        self.ctx = UIContext(self.db, self.clock, self.tz, self.highlighter, config.settings,
                             fixed_clock=self.fixed_clock, polling=poll, pace=pace)
        self.contrast_filter = ContrastFilter()
        self._local_writes = 0
        self._offline_said = False
        self._marker: tuple[int, int] | None = None
        self._last_event_id = 0
        self._checking = False
        self._poller: Any = None
        self._poll_loop: asyncio.AbstractEventLoop | None = None
        self._poll_task: asyncio.Task[Any] | None = None
        self.export_count = 0
        self.report_count = 0
        self.last_key = 0.0
        self._stopping = threading.Event()
        if poll:
            _prestart_process_helpers()

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key):
            self.last_key = self.ctx.last_key = time.monotonic()
        await super().on_event(event)

    # -- lifecycle -------------------------------------------------------------------------------------
    def on_mount(self) -> None:
        if self.no_color:
            # NO_COLOR (Textual reads and removes it from the environment): colours are
            # filtered out, so the stylesheet adds reverse/bold/underline where colour spoke.
            self.add_class("-no-color")
        self.push_screen(Dashboard(self.ctx))
        self._load_theme()
        self.set_interval(self.ctx.pace.watch, self.check_store)
        # The first look as a worker, like every look after a write of our own: whoever waits
        # for the app's workers (tests, snapshots) then also waits for the first events.
        self.run_worker(self.check_store, group="store-written", exit_on_error=False)
        self._quit_on_signals()
        if self.polling:
            self._run_poller()

    async def action_quit(self) -> None:
        self.stop_poller()
        self.exit(0)

    def on_unmount(self) -> None:
        self.stop_poller()
        self.db.close()
        loop = asyncio.get_running_loop()
        for sig in QUIT_SIGNALS:
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(sig)

    def _quit_on_signals(self) -> None:
        """SIGTERM (systemd, ``kill``) and SIGHUP (the terminal went away) quit like ``q``.

        Killed by the default action instead, the dashboard would leave the
        terminal in its alternate screen with mouse reporting on, and the
        poller's feed in flight half done; this way the screen is restored and
        everything closes in order, without a traceback.
        """
        loop = asyncio.get_running_loop()
        for sig in QUIT_SIGNALS:
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, lambda: self.call_later(self.action_quit))

    def _database_waiting(self, message: str) -> None:
        """Opening waits on another process's lock (runs on the database thread): say so, not a blank screen."""
        with contextlib.suppress(RuntimeError):  # the app is already gone
            self.call_from_thread(self.notify, message, title="Database", severity="warning", timeout=30,
                                  markup=False)

    def _database_error(self, exc: Exception) -> None:
        """A read or an action failed: say so (once per message per 10 s), the UI keeps going."""
        message = str(exc)
        now = time.monotonic()
        if message == self._last_db_error[1] and now - self._last_db_error[0] < 10:
            return
        self._last_db_error = (now, message)
        self.notify(message, title="Database", severity="error", timeout=10, markup=False)

    # -- polling ------------------------------------------------------------------------------------------
    @work(thread=True, group="poller", exit_on_error=False, name="poller")
    async def _run_poller(self) -> None:
        """The core poller on this worker thread's own loop, with its own Store."""
        from ..poller import Poller

        self._poll_loop = asyncio.get_running_loop()
        self._poll_task = asyncio.current_task()
        if self._stopping.is_set():
            return  # the app quit before this thread even started
        try:
            store = Store.open(self.db_path)
        except StoreError as exc:  # the dashboard still shows what is stored; polling must say it is not running
            self.call_from_thread(self.notify, str(exc), title="Polling stopped", severity="error", timeout=30,
                                  markup=False)
            return
        notifier = None
        settings = self.config.settings
        from ..notify import Notifier, configured

        if configured(settings):
            notifier = Notifier(settings, self.db_path)  # its URLs were checked by run_app
        poller = Poller(self.config, store, notifier=notifier)
        self._poller = poller
        try:
            await poller.run(asyncio.Event(), on_summary=self._poll_summary, on_error=lambda message: self.call_from_thread(
                self.notify, message, title="Polling", severity="error", timeout=20, markup=False))
        except asyncio.CancelledError:
            pass
        except Exception as exc:  # a broken poller must say so, not take the dashboard down
            self.call_from_thread(self.notify, f"{type(exc).__name__}: {exc}", title="Polling stopped",
                                  severity="error", timeout=30, markup=False)
        finally:
            self._poller = None
            poller.close()
            if notifier is not None:
                notifier.close()
            store.close()

    def _poll_summary(self, summary: Any) -> None:
        """Runs on the poller's thread: a poll where every feed failed to resolve says so, once per run of them."""
        hint = summary.hint()
        if hint and not self._offline_said:
            self._offline_said = True
            self.call_from_thread(self.notify, f"{hint} Check the connection; polling goes on at the usual interval.",
                                  title="Polling", severity="error", timeout=30, markup=False)
        elif not hint:
            self._offline_said = False

    def stop_poller(self) -> None:
        """Cancel the poll loop; a feed mid-write finishes its transaction (each feed is atomic)."""
        self._stopping.set()
        loop, task = self._poll_loop, self._poll_task
        self._poll_loop = self._poll_task = None
        if loop is not None and task is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(task.cancel)
            except RuntimeError:
                pass

    def request_poll(self, *, quiet: bool = False) -> None:
        if not self.polling:
            self.notify("Polling is off (started with --no-poll); run `crisiswatch poll --once` elsewhere.",
                        severity="warning")
            return
        if self._poller is None:
            self.notify("The poller is still starting; it polls every due feed as soon as it is up.")
            return
        held = self._poller.request_poll()  # a server's hold-off (Retry-After, backoff) still applies
        if held:
            soonest = min(h.until for h in held if h.until is not None)
            self.notify(f"Polling every feed now, except {len(held)} held off by their servers "
                        f"(Retry-After or error backoff; the first until {soonest.astimezone():%H:%M}).",
                        timeout=4, markup=False)
        elif not quiet:
            self.notify("Polling every feed now.", timeout=2)

    # -- watching the database ------------------------------------------------------------------------------
    async def check_store(self) -> None:
        """Post ``StoreChanged`` to every screen if anything was committed since the last look."""
        if self._checking:
            return
        self._checking = True
        try:
            # Our own connection's writes do not move ``data_version`` and marking an alert
            # seen logs no event, so the UI's own writes are counted here.
            marker = (*await self.db.call(Store.change_marker), self._local_writes)
            if marker == self._marker:
                return
            first = self._marker is None
            self._marker = marker
            disabled = tuple(f.name for f in self.config.feeds if not f.enabled)
            snap = await self.db.call(_snapshot, self._last_event_id, self.clock(), first, disabled)
            if snap.events:
                self._last_event_id = max(self._last_event_id, snap.events[-1]["id"])
            for screen in self.screen_stack:
                # Only to screens that listen: Textual's bare default screen sits under the
                # dashboard, and any message it processes makes it repaint the whole screen
                # above it (a full-screen render, 40-140 ms on a busy machine, every store change).
                if hasattr(screen, "on_store_changed"):
                    screen.post_message(StoreChanged(snap))
        except (StoreError, sqlite3.Error):
            pass  # already reported by Database.on_error; try again next tick
        finally:
            self._checking = False

    # -- requests from screens and widgets ------------------------------------------------------------------
    @on(StoreWritten)
    def _store_written(self, message: StoreWritten) -> None:
        self._local_writes += 1
        # A worker, so whoever waits for the app's workers (tests, snapshots) also waits for this look.
        self.run_worker(self.check_store, group="store-written", exit_on_error=False)

    @on(PollRequested)
    def _poll_requested(self, message: PollRequested) -> None:
        self.request_poll(quiet=message.quiet)

    @on(ExportRequested)
    def _export_requested(self, message: ExportRequested) -> None:
        if message.path:
            self.export_events(message.path)
            return
        default = default_export_path(self.clock().astimezone(self.tz))
        self.push_screen(ExportPrompt(default), self._export_to)

    def _export_to(self, path: str | None) -> None:
        if path:
            self.export_events(path)

    @on(ReportRequested)
    def _report_requested(self, message: ReportRequested) -> None:
        self.write_report()

    @on(ShowDetail)
    def _show_detail(self, message: ShowDetail) -> None:
        self.push_screen(DetailScreen(message.item, self.highlighter, self.tz))

    @on(ShowEvent)
    def _show_event(self, message: ShowEvent) -> None:
        self.push_screen(EventScreen(message.event, self.tz))

    @on(ShowHelp)
    def _show_help(self, message: ShowHelp) -> None:
        self.push_screen(HelpScreen(message.keys))

    @on(ShowFeeds)
    def _show_feeds(self, message: ShowFeeds) -> None:
        self.push_screen(FeedHealthScreen(self.ctx))

    @on(OpenLink)
    def _open_link(self, message: OpenLink) -> None:
        link = message.url
        if browser_available():
            self._browse(link)
        else:
            self._copy_link(link, "No browser can open here (ssh or no display)")

    def _copy_link(self, link: str, why: str) -> None:
        """Copy by OSC 52 and say honestly whether it can reach the clipboard; always show the link."""
        self.copy_to_clipboard(link)
        note = clipboard_note()
        if note is not None:
            # Inside tmux OSC 52 only reaches the clipboard with `set-clipboard on`; the
            # tmux paste buffer always works, so the link goes there as well.
            buffered = copy_to_tmux_buffer(link)
            self.notify(f"{why}. {note}{' Also in the tmux paste buffer (prefix ]).' if buffered else ''}\n{link}",
                        title="Link", markup=False, timeout=15)
            return
        self.notify(f"{why}; copied the link to the clipboard (OSC 52):\n{link}", title="Link copied",
                    markup=False, timeout=10)

    @work(thread=True, group="browser", exit_on_error=False)
    def _browse(self, link: str) -> None:
        if open_in_browser(link):
            self.call_from_thread(self.notify, link, title="Opened in browser", markup=False, timeout=3)
        else:
            self.call_from_thread(self._copy_link, link, "The browser did not start")

    # -- command palette and themes ---------------------------------------------------------------------------
    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """The screen's own keys first (the same BINDINGS as the footer and help), then one command per theme."""
        for binding in screen.BINDINGS:
            if not isinstance(binding, Binding) or binding.key == "escape":
                continue
            key = binding.key_display or binding.key
            yield SystemCommand(f"{binding.description} ({key})", binding.tooltip or binding.description,
                                partial(self._run_screen_action, screen, binding.action))
        for name in OFFERED_THEMES:
            yield SystemCommand(f"Theme: {name}", f"Switch to the {name} theme (remembered in the database)",
                                partial(self._set_theme, name))
        yield SystemCommand("Quit", "Quit (everything is already saved)", self.action_quit)

    def _run_screen_action(self, screen: Screen, action: str) -> None:
        self.call_later(screen.run_action, action)

    def _set_theme(self, name: str) -> None:
        self.theme = name

    def _load_theme(self) -> None:
        self.run_worker(self._read_theme, group="theme", exit_on_error=False)

    async def _read_theme(self) -> None:
        name = await self.db.call(Store.ui_state, "theme")
        if name in OFFERED_THEMES:
            self._theme_loaded = True
            self.theme = name
        self._theme_loaded = True

    def watch_theme(self, name: str) -> None:
        if getattr(self, "_theme_loaded", False) and name in OFFERED_THEMES:
            self.run_worker(partial(self.db.call, Store.set_ui_state, "theme", name), group="theme-save",
                            exit_on_error=False)

    def get_line_filters(self) -> Sequence[LineFilter]:
        """Textual's filters, then one that keeps every cell readable (see :mod:`.contrast`)."""
        filters = list(super().get_line_filters())
        if not self.no_color and self.contrast_filter.enabled:
            filters.append(self.contrast_filter)
        return filters

    # -- export ------------------------------------------------------------------------------------------------
    @work(thread=True, group="export", exit_on_error=False)
    def export_events(self, path: str) -> None:
        """Stream the events table to CSV from a separate connection (big logs never stall the UI thread)."""
        from ..export import export
        from ..outfile import OutputError, open_output, output_label

        target = Path(path).expanduser()
        started = time.monotonic()
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            # open_output: a FIFO or device is written through, a symlink's target replaced, a file keeps its mode.
            with Store.open(self.db_path, readonly=True) as store, open_output(target) as out:
                rows = export(store, "events", "csv", out)
        except (OSError, StoreError, OutputError) as exc:
            self.call_from_thread(self.notify, str(getattr(exc, "strerror", None) or exc),
                                  title="Export failed", severity="error", markup=False)
            return
        shown = output_label(target)  # the file really written (through a symlink), or the device as given
        self.db.call_sync(Store.add_event, "export", detail=f"events: {rows} rows as CSV to {shown}")
        self.export_count += 1
        self.call_from_thread(self.notify, shown,
                              title=f"Exported {rows} events ({time.monotonic() - started:.1f}s)", markup=False,
                              timeout=10)


    # -- situation report ------------------------------------------------------------------------------------
    @work(thread=True, group="report", exit_on_error=False)
    def write_report(self) -> None:
        """The last 24 h as HTML (``crisiswatch report``), from a separate read-only connection."""
        from ..outfile import OutputError, output_label, write_output
        from ..report import Period, PeriodError, load_zone, make_report, render

        now = self.clock()
        target = default_report_path(now.astimezone(self.tz))
        started = time.monotonic()
        try:
            period = Period.resolve(None, None, now=now, zone=load_zone(self.config.settings.timezone))
            with Store.open(self.db_path, readonly=True) as store:
                text = render(make_report(store, period, now=now), "html")
            target.parent.mkdir(parents=True, exist_ok=True)
            write_output(target, text)
        except (OSError, StoreError, OutputError, PeriodError) as exc:
            self.call_from_thread(self.notify, str(getattr(exc, "strerror", None) or exc),
                                  title="Report failed", severity="error", markup=False)
            return
        shown = output_label(target)
        self.db.call_sync(Store.add_event, "export", detail=f"report: the last 24 h as HTML to {shown}")
        self.report_count += 1
        self.call_from_thread(self.notify, shown, title=f"Report written ({time.monotonic() - started:.1f}s)",
                              markup=False, timeout=10)


def run_app(config: Config, db_path: Path | str, poll: bool = True) -> int:
    """Open the dashboard; returns the exit code. Database problems are reported before the screen opens."""
    def waiting(message: str) -> None:  # before the screen opens: on the terminal, so it is never blank
        print(f"crisiswatch: {message}", file=sys.stderr, flush=True)

    try:
        Store.open(db_path, on_wait=waiting).close()
    except StoreError as exc:
        raise CrisiswatchError(str(exc)) from None
    app = CrisiswatchApp(config, db_path, poll=poll)
    result = app.run()
    return int(result or 0)


__all__ = ["CrisiswatchApp", "run_app"]
