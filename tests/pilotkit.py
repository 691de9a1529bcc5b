"""Waiting in pilot tests on what the dashboard is doing, never on the clock.

Every TUI test file used to carry its own ``settle`` (a few rounds of "wait for
workers, then ``pilot.pause()``") and its own ``wait_for``. Those rounds waited
on Textual's CPU-idle guess, which neither sees the UI's private database
thread nor knows when a chain of reads (reload → mark seen → header) is over;
under load a test then read the screen one round too early. This module is the
one place that knows what "nothing in flight" means for crisiswatch:

- no Textual worker running except the background poller (which never ends);
- no call queued or running on the UI's database thread (``app.db.pending``);
- every message already queued to the app and the screen handled;

and that state seen twice in a row, because one finished read often posts the
message that starts the next.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from textual.pilot import Pilot
from textual.worker import WorkerCancelled

from crisiswatch.tui.pace import Pace

#: The dashboard's latencies for tests: the same behaviour (a live row still waits for a look at the
#: store, a reload for typing to pause), a tenth of the wait. The toast gap stays the product's, so a
#: snapshot shows the same batching of toasts a user sees.
QUICK = Pace(watch=0.05, reload_gap=0.05, reload_max_delay=0.1, reload_retry=0.02, key_quiet=0.05,
             detail_delay=0.03, search_delay=0.05, health_reload=0.2)

#: How often ``wait_for`` looks at its condition. Short, because each look is cheap
#: and every step of latency is paid by every test that waits.
STEP = 0.01


def _busy_workers(app: Any) -> list[Any]:
    return [w for w in app.workers if w.group != "poller" and not w.is_finished]


def in_flight(app: Any) -> bool:
    """True while the app has a worker (other than the poller) or a database call unfinished."""
    db = getattr(app, "db", None)
    return bool(_busy_workers(app)) or bool(db is not None and db.pending)


async def settle(pilot: Pilot, *, quiet_rounds: int = 2, timeout: float = 15.0) -> None:
    """Return once the app has had nothing in flight for ``quiet_rounds`` rounds in a row.

    A round waits for the running workers, then for every widget of the screen
    to have handled what was queued to it (``pilot.pause(0)``). Raises
    ``AssertionError`` after ``timeout`` seconds, naming what was still busy.
    """
    app = pilot.app
    deadline = time.monotonic() + timeout
    quiet = 0
    while quiet < quiet_rounds:
        workers = _busy_workers(app)
        if workers:
            remaining = deadline - time.monotonic()
            try:
                await asyncio.wait_for(app.workers.wait_for_complete(workers), max(remaining, 0.01))
            except (TimeoutError, WorkerCancelled):
                # An exclusive worker replaced while we waited (a reload superseded by the next): its
                # successor is among the busy workers of the next round.
                pass
        await pilot.pause(0)
        if in_flight(app):
            quiet = 0
            if time.monotonic() > deadline:
                names = [w.name or w.group for w in _busy_workers(app)]
                raise AssertionError(f"the app did not settle in {timeout} s: workers {names}, "
                                     f"{app.db.pending} database calls")
            if not _busy_workers(app):
                await asyncio.sleep(0.002)  # only the database thread is busy: give it the core
        else:
            quiet += 1


async def wait_for(pilot: Pilot, predicate: Callable[[], object], timeout: float = 5.0) -> float:
    """Let the app run until ``predicate()`` is true; returns the seconds it took.

    For conditions no in-flight work announces: a debounce timer, a live poll,
    another process writing the database.
    """
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"condition not met in {timeout} s")
        await pilot.pause(STEP)
    return time.monotonic() - start


def make_app(built: Any, **kwargs: Any) -> Any:
    """The dashboard on a ``tui_data`` database at its fixed clock and quick pace, without the poller unless asked."""
    from tui_data import NOW

    from crisiswatch.tui.app import CrisiswatchApp

    kwargs.setdefault("poll", False)
    kwargs.setdefault("clock", lambda: NOW)
    kwargs.setdefault("pace", QUICK)
    return CrisiswatchApp(built.config, built.path, **kwargs)


def notifications(app: Any) -> list[tuple[str, str]]:
    """Every (title, message) the app notifies from now on, through its public ``notify``.

    Textual keeps the notifications shown in a private attribute; recording the
    calls (and still showing them) tests the same thing without reading it.
    """
    sent: list[tuple[str, str]] = []
    shown = app.notify

    def notify(message: str, *, title: str = "", **kwargs: Any) -> None:
        sent.append((title, message))
        shown(message, title=title, **kwargs)

    app.notify = notify
    return sent


def alerts_of(app: Any) -> Any:
    from crisiswatch.tui.widgets.alerts_table import AlertsTable

    return app.screen.query_one(AlertsTable)


def headlines_of(app: Any) -> Any:
    from crisiswatch.tui.widgets.headlines import Headlines

    return app.screen.query_one(Headlines)
