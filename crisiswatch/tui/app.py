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
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from textual import events, work
from textual.app import App
from textual.binding import Binding, BindingType

from ..config import Config
from ..errors import CrisiswatchError, StoreError
from ..models import utcnow
from ..store import Store
from .format import Highlighter
from .messages import Snapshot, StoreChanged
from .reader import Database
from .screens.dashboard import Dashboard

QUIT_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))
"""Signals that end the dashboard as ``q`` does (Ctrl-C is a key binding inside the app)."""

WATCH_INTERVAL = 0.4
"""Seconds between change checks: new alerts show within about this long of being committed."""


def _snapshot(store: Store, after_id: int, now: datetime, first: bool) -> Snapshot:
    """Header figures, new events and new alerts; runs on the database thread."""
    events = store.events_tail(200, after_id=after_id)
    new_alerts: list[dict[str, Any]] = []
    if not first:
        for event in events:
            if event["kind"] == "alert_new" and event["alert_id"] is not None and len(new_alerts) < 50:
                alert = store.alert(event["alert_id"])
                if alert is not None:
                    new_alerts.append(alert)
    return Snapshot(store.status(), store.alerts_per_hour(24, now=now), events, new_alerts, first)


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

            forkserver.ensure_running()
            pid = getattr(forkserver._forkserver, "_forkserver_pid", None)  # private: no public accessor
            if pid and hasattr(os, "setpriority"):
                current = os.getpriority(os.PRIO_PROCESS, pid)
                os.setpriority(os.PRIO_PROCESS, pid, min(19, max(current, os.getpriority(os.PRIO_PROCESS, 0))
                                                         + PARSER_NICENESS))
    except (OSError, ValueError):
        pass  # the poller then falls back to reporting parse errors per feed, visibly


class CrisiswatchApp(App[int]):
    """``CrisiswatchApp(config, db_path, poll=False, clock=fixed)`` gives tests a deterministic screen."""

    CSS_PATH = "crisiswatch.tcss"
    TITLE = "crisiswatch"
    ENABLE_COMMAND_PALETTE = False
    HORIZONTAL_BREAKPOINTS: ClassVar[list[tuple[int, str]]] = [(0, "-narrow"), (120, "-wide")]
    VERTICAL_BREAKPOINTS: ClassVar[list[tuple[int, str]]] = [(0, "-short"), (32, "-tall")]
    BINDINGS: ClassVar[list[BindingType]] = [Binding("ctrl+c", "quit", "Quit", show=False, priority=True)]

    def __init__(self, config: Config, db_path: Path | str, *, poll: bool = True,
                 clock: Callable[[], datetime] | None = None) -> None:
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
        self._marker: tuple[int, int] | None = None
        self._last_event_id = 0
        self._checking = False
        self._poller: Any = None
        self._poll_loop: asyncio.AbstractEventLoop | None = None
        self._poll_task: asyncio.Task[Any] | None = None
        self.export_count = 0
        self.last_key = 0.0
        self._stopping = threading.Event()
        if poll:
            _prestart_process_helpers()

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key):
            self.last_key = time.monotonic()
        await super().on_event(event)

    # -- lifecycle -------------------------------------------------------------------------------------
    def on_mount(self) -> None:
        if self.no_color:
            # NO_COLOR (Textual reads and removes it from the environment): colours are
            # filtered out, so the stylesheet adds reverse/bold/underline where colour spoke.
            self.add_class("-no-color")
        self.push_screen(Dashboard(self.highlighter, self.tz))
        self.set_interval(WATCH_INTERVAL, self.check_store)
        self.call_after_refresh(self.check_store)
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
        store = Store.open(self.db_path)
        notifier = None
        settings = self.config.settings
        from ..notify import Notifier, configured

        if configured(settings):
            notifier = Notifier(settings, self.db_path)  # its URLs were checked by run_app
        poller = Poller(self.config, store, notifier=notifier)
        self._poller = poller
        try:
            await poller.run(asyncio.Event(), on_error=lambda message: self.call_from_thread(
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
            marker = await self.db.call(Store.change_marker)
            if marker == self._marker:
                return
            first = self._marker is None
            self._marker = marker
            snap = await self.db.call(_snapshot, self._last_event_id, self.clock(), first)
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
