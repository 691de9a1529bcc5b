"""The UI's own database connection, driven from one private thread.

Even "small" reads are not small on a big database (a status query over 50,000
alerts takes ~10 ms, a search page ~60 ms), and a write may wait on the
poller's lock, so nothing touches SQLite on the event loop. Every call is
queued to a single thread that owns one :class:`Store`, which also serialises
transactions on that connection. Callers ``await db.call(fn, ...)`` where
``fn(store, ...)`` runs in that thread.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from ..errors import StoreError
from ..store import Store

T = TypeVar("T")


class Database:
    """A :class:`Store` living on its own thread; one per app."""

    def __init__(self, path: Path, on_error: Callable[[Exception], None] | None = None,
                 on_wait: Callable[[str], None] | None = None) -> None:
        self.path = path
        self.on_error = on_error
        """Told about every failed call (database locked, disk full…) so the user hears of it."""
        self.on_wait = on_wait
        """Told "database locked by …, waiting" when opening has to wait for another process."""
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="crisiswatch-ui-db")
        self._store: Store | None = None
        self._pending = 0
        self._lock = threading.Lock()

    @property
    def pending(self) -> int:
        """Calls queued or running on the database thread right now.

        Workers and timers are visible to anyone through Textual; this thread is
        not, so whoever needs to know that the UI has nothing in flight (a test
        waiting before it reads the screen, a quit that wants writes done) asks here.
        """
        with self._lock:
            return self._pending

    def _submit(self, fn: Callable[[], T]) -> Future[T]:
        with self._lock:
            self._pending += 1

        def done(_: Future[T]) -> None:
            # A done callback, not a ``finally`` in the call: a call cancelled while still
            # queued (its exclusive worker was replaced) never runs, but is done all the same.
            with self._lock:
                self._pending -= 1

        try:
            future = self._executor.submit(fn)
        except BaseException:
            done(Future())
            raise
        future.add_done_callback(done)
        return future

    def _open(self) -> Store:
        if self._store is None:
            self._store = Store.open(self.path, on_wait=self.on_wait)
        return self._store

    def open(self) -> None:
        """Open (and migrate) the database now, raising StoreError here rather than later."""
        self._submit(self._open).result()

    async def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn(store, *args, **kwargs)`` on the database thread."""
        loop = asyncio.get_running_loop()
        try:
            return await asyncio.wrap_future(self._submit(lambda: fn(self._open(), *args, **kwargs)), loop=loop)
        except (sqlite3.Error, StoreError) as exc:
            if self.on_error is not None:
                self.on_error(exc)
            raise

    def call_sync(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Blocking variant for code that already runs off the event loop."""
        return self._submit(lambda: fn(self._open(), *args, **kwargs)).result()

    def close(self) -> None:
        def _close() -> None:
            if self._store is not None:
                self._store.close()
                self._store = None

        self._executor.submit(_close)
        self._executor.shutdown(wait=True)
