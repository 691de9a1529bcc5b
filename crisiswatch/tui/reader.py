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
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
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
        self.on_wait = on_wait
        """Told "database locked by …, waiting" when opening has to wait for another process."""
        """Told about every failed call (database locked, disk full…) so the user hears of it."""
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="crisiswatch-ui-db")
        self._store: Store | None = None

    def _open(self) -> Store:
        if self._store is None:
            self._store = Store.open(self.path, on_wait=self.on_wait)
        return self._store

    def open(self) -> None:
        """Open (and migrate) the database now, raising StoreError here rather than later."""
        self._executor.submit(self._open).result()

    async def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn(store, *args, **kwargs)`` on the database thread."""
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, lambda: fn(self._open(), *args, **kwargs))
        except (sqlite3.Error, StoreError) as exc:
            if self.on_error is not None:
                self.on_error(exc)
            raise

    def call_sync(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Blocking variant for code that already runs off the event loop."""
        return self._executor.submit(lambda: fn(self._open(), *args, **kwargs)).result()

    def close(self) -> None:
        def _close() -> None:
            if self._store is not None:
                self._store.close()
                self._store = None

        self._executor.submit(_close)
        self._executor.shutdown(wait=True)
