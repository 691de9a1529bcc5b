"""The database connection: WAL, the writers' turn lock, busy handling, transactions.

Every write is one short ``BEGIN IMMEDIATE`` transaction (or a batch of feeds
with a savepoint each, see :mod:`.ingest`), so a ``kill -9`` at any instant
loses nothing committed. Writers from several processes queue on a ``flock``
beside the database before they begin; readers see WAL snapshots and never
block writers. SQLite's errors become one-line :class:`StoreError` messages.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import quote

from ..errors import StoreError
from . import schema

try:
    import fcntl
except ImportError:  # Windows: SQLite's own locking only
    fcntl = None  # type: ignore[assignment]

if TYPE_CHECKING:
    import sqlite_utils

BUSY_TIMEOUT_MS = 60_000
"""How long a write waits for another process's transaction before giving up with a clear error."""


def creation_problem(path: Path) -> str | None:
    """Why a database could never be created at ``path`` (``None`` when it exists or could be).

    Asked before anything is created, so ``check`` can say it and ``open`` can
    say it better than the OS ("File exists" for ``/dev/null/x.db``): the
    nearest existing ancestor must be a folder we may create files in.
    """
    if path.exists():
        return "it is a directory, not a database file" if path.is_dir() else None
    ancestor = path.absolute().parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        return f"{ancestor} is not a folder"
    if not os.access(ancestor, os.W_OK | os.X_OK):
        return f"no permission to create files in {ancestor}"
    return None


def explain_sqlite(exc: sqlite3.Error, path: Path) -> StoreError:
    msg = str(exc).lower()
    if "locked" in msg or "busy" in msg:
        why = f"{path}: the database is locked by another process (waited {BUSY_TIMEOUT_MS // 1000}s); try again"
    elif "readonly" in msg or "read-only" in msg:
        why = f"{path}: the database or its folder is read-only; pass --db to a writable path"
    elif "full" in msg:
        why = f"{path}: the disk is full; free some space and run again (nothing committed was lost)"
    elif "unable to open" in msg:
        why = f"{path}: cannot open the database (does its folder exist and is it writable?)"
    elif "malformed" in msg or "not a database" in msg or "no such table" in msg:
        why = f"{path}: not a crisiswatch database, or it is damaged ({exc}); pass --db to another file"
    else:
        why = f"{path}: database error: {exc}"
    return StoreError(why)


class Connection:
    """One connection to the database and its transactions; the base of :class:`~crisiswatch.store.Store`."""

    def __init__(self, conn: sqlite3.Connection, path: Path, *, lock_fd: int | None = None) -> None:
        self.conn = conn
        self.path = path
        self._lock_fd = lock_fd
        self._turn_held = False
        self._db: sqlite_utils.Database | None = None
        self._on_wait: Callable[[str], None] | None = None
        """Told "database locked by …, waiting" when a write has to wait for another process (see ``open``)."""

    @property
    def db(self) -> sqlite_utils.Database:
        """sqlite-utils over the same connection, built on first use.

        Importing sqlite_utils pulls in dateutil, click and pluggy (~50-70 ms);
        no query on the poll or export path needs it, so ``poll --once`` and
        ``export`` should not pay that on every start.
        """
        if self._db is None:
            import sqlite_utils

            self._db = sqlite_utils.Database(self.conn)
        return self._db

    @classmethod
    def open(cls, path: Path | str, *, readonly: bool = False, on_wait: Callable[[str], None] | None = None) -> Self:
        """Open (and migrate) the database; ``readonly`` opens without ever writing, for export and check.

        The path goes to SQLite as a path, or, read-only, as a properly quoted
        ``file:`` URI: a ``#``, ``%`` or ``?`` in a folder or file name is part
        of the name, never a fragment or a query.

        An up-to-date database is opened without taking the write lock, so a
        reader (the dashboard) never waits for another process's write to
        start. When a migration has to wait, ``on_wait`` hears "database locked
        by crisiswatch poll (pid 4242), waiting…" first, so the user sees why.
        """
        path = Path(path)
        if path.is_dir():
            raise StoreError(f"{path} is a directory; --db (or `database`) takes a database file, "
                             f"e.g. {path / 'crisiswatch.db'}")
        try:
            if readonly:
                if not path.exists():
                    raise StoreError(f"{path}: no such database; run `crisiswatch poll --once` first")
                conn = _open_readonly(path)
            else:
                problem = creation_problem(path)
                if problem:
                    raise StoreError(f"{path}: cannot create the database: {problem}")
                path.parent.mkdir(parents=True, exist_ok=True)
                # An absolute path: even a SQLite built to read "file:…" names as URIs takes it literally.
                conn = sqlite3.connect(os.path.abspath(path), isolation_level=None, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA foreign_keys = ON")
            store = cls(conn, path, lock_fd=None if readonly else _open_lock(path))
            if not readonly:
                version = schema.check_version(conn, path)
                if version == 0 and conn.execute(
                        "SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'").fetchone()[0] and not \
                        conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN "
                                     "('feeds', 'items', 'alerts', 'events')").fetchone()[0]:
                    # Another program's database: adding our tables (or WAL mode) would quietly change a file
                    # the user did not mean to give us.
                    store.close()
                    raise StoreError(f"{path}: not a crisiswatch database (it holds another program's tables); "
                                     "pass --db to another file")
                if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal" \
                        or version < schema.SCHEMA_VERSION:
                    store._on_wait = on_wait
                    try:
                        store._set_up()
                    finally:
                        store._on_wait = None
                conn.execute("PRAGMA synchronous = NORMAL")
            elif schema.check_version(conn, path) == 0:
                # No crisiswatch schema (an empty file, another program's database): every query would
                # fail later with "no such table" as a traceback; say so once, here, for every reader.
                conn.close()
                raise StoreError(f"{path}: not a crisiswatch database (empty, or another program's file); "
                                 "pass --db to another file")
            return store
        except sqlite3.Error as exc:
            raise explain_sqlite(exc, path) from None
        except OSError as exc:
            raise StoreError(f"{path}: cannot create the database: {exc.strerror}") from None

    def _set_up(self) -> None:
        """Turn the file into an up-to-date crisiswatch database: WAL mode, then the migrations it lacks.

        One opener at a time, under the writers' kernel lock: two first opens of a
        new file (the dashboard's UI thread and its poller, two ``poll`` processes)
        used to race here, and in rollback mode SQLite settles such a race by
        failing one of them at once with "database is locked" (a shared lock that
        wants to become exclusive while another connection holds the reserved
        lock is a deadlock, so the busy timeout is never consulted).
        """
        with self._turn():
            if self.conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                self.conn.execute("PRAGMA journal_mode = WAL")
            if schema.check_version(self.conn, self.path) < schema.SCHEMA_VERSION:
                schema.migrate(self)

    def close(self) -> None:
        try:
            self.conn.close()
        except sqlite3.Error:
            pass
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One IMMEDIATE transaction: take the write lock up front so we never deadlock on upgrade.

        Writers from several processes (the dashboard's poller, its UI thread, a
        headless ``poll``) first queue on a kernel lock beside the database.
        SQLite's own busy wait sleeps and retries, so a process writing feed
        after feed back to back would starve the others for its whole poll; a
        blocked ``flock`` is woken the moment the lock is released, so writers
        take turns. A killed process's lock is released by the kernel.
        """
        with self._turn():
            try:
                self._begin_immediate()
            except sqlite3.Error as exc:
                raise explain_sqlite(exc, self.path) from None
            yield from self._transaction()

    def _begin_immediate(self) -> None:
        if self._on_wait is None:
            self.conn.execute("BEGIN IMMEDIATE")
            return
        self.conn.execute("PRAGMA busy_timeout = 300")
        try:
            self.conn.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc).lower() and "busy" not in str(exc).lower():
                raise
            self._on_wait(waiting_message(self.path))
        finally:
            self.conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        self.conn.execute("BEGIN IMMEDIATE")

    @contextmanager
    def _turn(self) -> Iterator[None]:
        if self._lock_fd is None or fcntl is None or self._turn_held:
            yield  # no lock file, or this connection holds its turn already (a migration inside _set_up)
            return
        if self._on_wait is None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        else:
            try:
                fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                self._on_wait(waiting_message(self.path))
                fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        self._turn_held = True
        try:
            yield
        finally:
            self._turn_held = False
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    def _transaction(self) -> Iterator[sqlite3.Connection]:
        try:
            yield self.conn
        except sqlite3.Error as exc:
            self._rollback()
            raise explain_sqlite(exc, self.path) from None
        except BaseException:
            self._rollback()
            raise
        try:
            self.conn.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback()
            raise explain_sqlite(exc, self.path) from None

    def _rollback(self) -> None:
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")

    @contextmanager
    def snapshot(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: every query inside sees one consistent WAL snapshot."""
        self.conn.execute("BEGIN")
        try:
            yield self.conn
        finally:
            with contextlib.suppress(sqlite3.ProgrammingError):  # closed under a suspended generator
                self.conn.execute("COMMIT")

    def _one(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> dict[str, Any] | None:
        row = self.conn.execute(sql, params).fetchone()
        return dict(row) if row is not None else None

    def _all(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[dict[str, Any]]:
        return [dict(r) for r in self.conn.execute(sql, params)]


def lock_holders(path: Path) -> list[str]:
    """Who holds a lock on the database or its side files: "crisiswatch poll (pid 4242)"; [] if unknown.

    Linux only (``/proc/locks``); elsewhere the message just says "another process".
    """
    inodes: set[int] = set()
    for suffix in ("", "-wal", "-shm", ".lock"):
        with contextlib.suppress(OSError):
            inodes.add(os.stat(f"{path}{suffix}").st_ino)
    holders: dict[int, str] = {}
    try:
        with open("/proc/locks", encoding="ascii", errors="replace") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return []
    for line in lines:
        fields = line.split()
        if "->" in fields:
            continue  # a waiter, not a holder
        try:
            pid, inode = int(fields[4]), int(fields[5].rsplit(":", 1)[1])
        except (IndexError, ValueError):
            continue
        if inode not in inodes or pid == os.getpid() or pid in holders:
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                argv = [a.decode("utf-8", "replace") for a in fh.read().split(b"\0") if a]
        except OSError:
            argv = []
        holders[pid] = f"{_program(argv)} (pid {pid})"
    return list(holders.values())


def _program(argv: list[str]) -> str:
    """``crisiswatch poll`` for our own processes, else the program's name."""
    from ..termsafe import one_line

    if not argv:
        return "a process"
    names = [os.path.basename(a) for a in argv[:3]]
    if "crisiswatch" in names or any(a.endswith("crisiswatch.cli") for a in argv[:4]):
        command = next((a for a in argv[1:] if not a.startswith("-") and "crisiswatch" not in a
                        and not a.endswith((".toml", ".db")) and "/" not in a), "")
        return one_line(f"crisiswatch {command}".strip())
    return one_line(os.path.basename(argv[0]))


def waiting_message(path: Path) -> str:
    from ..termsafe import one_line

    holders = lock_holders(path)
    who = ", ".join(holders) if holders else "another process"
    return f"database {one_line(path)} locked by {who}, waiting…"


def sqlite_uri(path: Path | str, **params: str) -> str:
    """``path`` as a SQLite ``file:`` URI, every character that means something in a URI percent-quoted."""
    absolute = os.path.abspath(os.fspath(path))
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return "file:" + quote(absolute, safe="/") + (f"?{query}" if query else "")


def _open_readonly(path: Path) -> sqlite3.Connection:
    """A connection that never writes: ``mode=ro``, or ``immutable=1`` where ``mode=ro`` cannot work.

    A WAL database opened ``mode=ro`` still needs its ``-shm`` side file, which
    SQLite creates beside it: in a read-only folder (a mounted backup, another
    user's directory) that fails with "unable to open". Nobody can be writing a
    database whose folder refuses its side files, so it is read as immutable
    (no locks, no side files) instead. A ``-wal`` left there without its
    ``-shm`` cannot be read either way; such a database is shown as of its
    last checkpoint.
    """
    conn = sqlite3.connect(sqlite_uri(path, mode="ro"), uri=True, isolation_level=None, check_same_thread=False)
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return conn
    except sqlite3.OperationalError as exc:
        conn.close()
        msg = str(exc).lower()
        if "unable to open" not in msg and "readonly" not in msg and "read-only" not in msg:
            raise
    conn = sqlite3.connect(sqlite_uri(path, mode="ro", immutable="1"), uri=True, isolation_level=None,
                           check_same_thread=False)
    conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    return conn


def _open_lock(path: Path) -> int | None:
    """The writers' turn lock beside the database; without one (read-only dir) SQLite's lock still protects."""
    if fcntl is None:
        return None
    try:
        return os.open(f"{path}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError:
        return None


__all__ = ["BUSY_TIMEOUT_MS", "Connection", "explain_sqlite", "lock_holders", "sqlite_uri", "waiting_message"]
