"""The parse workers' side of the poller: what runs in its pool processes.

Kept apart from :mod:`crisiswatch.poller` so a worker imports only the parser,
the matcher and the normaliser — not asyncio, httpx or the store. The
forkserver preloads exactly these modules once, so every worker it forks starts
warm, and the main process never imports feedparser (it is imported here, in
the worker, on first use).
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .models import Assessment, ParsedFeed

if TYPE_CHECKING:
    from .config import Keyword, Rule

_MATCHER: Any = None

WORKER_MODULES = ("crisiswatch.worker", "crisiswatch.parse", "crisiswatch.match", "crisiswatch.fold",
                  "crisiswatch.sanitize", "crisiswatch.config")
"""What a parse worker needs (not asyncio, httpx or the store); the forkserver imports it once, and
every worker it forks starts warm."""


def forkserver_context() -> Any:
    """The ``forkserver`` context, its server set to preload :data:`WORKER_MODULES`.

    The preload is read when the forkserver starts, so everything that may start
    it (the poller's pool, the dashboard starting it early) comes through here:
    the default preload is ``__main__`` (the CLI script: argparse and every
    command), and then every worker imported the parser again after forking.
    """
    import multiprocessing

    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(WORKER_MODULES))
    return context


def init_worker(keywords: Sequence[Keyword], rules: Sequence[Rule], owner_pid: int | None = None,
                owner_line: Any = None) -> None:
    """Pool initializer: build this process's matcher, and watch the owner if there is one.

    A worker ignores SIGINT and SIGTERM: Ctrl-C in a terminal (and systemd's
    stop) signal the whole process group, and a worker that died of them would
    print a ``KeyboardInterrupt`` traceback, or break the pool so the feed in
    hand is recorded as a parser crash. Shutting workers down is the owner's
    job (``Poller.close``), and the watch thread ends them if the owner is
    killed outright: at once through ``owner_line`` (the read end of an
    :class:`OwnerLine`), else by polling ``owner_pid``.
    """
    global _MATCHER
    from .match import Matcher

    if owner_pid is not None:  # a pool process (the in-process fallback keeps the caller's signals)
        quiet_signals()
        threading.Thread(target=_exit_with_owner, args=(owner_pid, owner_line), name="crisiswatch-owner-watch",
                         daemon=True).start()

    _MATCHER = Matcher(keywords, rules)


def quiet_signals() -> None:
    """Ignore SIGINT and SIGTERM in this (worker) process, and drop a wakeup fd inherited by fork."""
    import signal

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
    with contextlib.suppress(ValueError):
        signal.set_wakeup_fd(-1)  # a forked child shares the parent's asyncio self-pipe otherwise
    with contextlib.suppress(AttributeError, OSError, ValueError):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})  # ignored now: safe to unblock


_OWNER_ENDS: set[int] = set()
"""Write ends of this process's live :class:`OwnerLine` s, closed in every child it forks."""


def _drop_owner_ends() -> None:
    for fd in list(_OWNER_ENDS):
        with contextlib.suppress(OSError):
            os.close(fd)
    _OWNER_ENDS.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_drop_owner_ends)


class OwnerLine:
    """A pipe whose write end only its owner holds, so the read end sees EOF the instant the owner is gone.

    Nothing is ever written: a worker blocks reading :attr:`reader` and gets
    end-of-file when the last write end closes, which the kernel does when the
    owner exits for any reason, ``kill -9`` included. The write end is not
    inheritable (no exec'd helper, such as the forkserver, gets it) and is
    closed in every child forked from the owner (fork-context workers). The
    read end travels to a worker as a ``multiprocessing`` connection: inherited
    under fork, passed over the forkserver's socket otherwise. POSIX only.
    """

    def __init__(self) -> None:
        from multiprocessing.connection import Connection

        read_end, self._write_end = os.pipe()
        _OWNER_ENDS.add(self._write_end)
        self.reader: Any = Connection(read_end, writable=False)

    def close(self) -> None:
        """Close both ends (after the pool's workers are gone: the ones still there would exit)."""
        if self._write_end >= 0:
            _OWNER_ENDS.discard(self._write_end)  # before the close: a fork between them keeps no stale number
            os.close(self._write_end)
            self._write_end = -1
        self.reader.close()


def _exit_with_owner(owner_pid: int, owner_line: Any = None, interval: float = 1.0) -> None:
    """End this worker when the crisiswatch process that owns the pool is gone.

    A pool worker blocks on its task queue forever, and the forkserver it came
    from lives while any of its children do: after a ``kill -9`` of crisiswatch
    they would all stay behind. With an :class:`OwnerLine`'s read end the
    worker learns at once (EOF); the owner's pid is still checked every
    ``interval`` seconds, the only way without a line (not POSIX) and a
    backstop if one ever leaked a write end (the worker's parent is the
    forkserver, so PR_SET_PDEATHSIG cannot help).
    """
    import select

    fd = owner_line.fileno() if owner_line is not None else -1
    while True:
        if fd >= 0:
            try:
                if select.select([fd], [], [], interval)[0] and not os.read(fd, 1):
                    os._exit(0)  # end of file: the last write end, the owner's, is closed
            except (OSError, ValueError):
                fd = -1
                continue
        else:
            time.sleep(interval)
        try:
            os.kill(owner_pid, 0)
        except ProcessLookupError:
            os._exit(0)
        except PermissionError:
            pass


def warm() -> None:
    """A no-op task: submitting one makes the pool start a worker (its initializer builds the matcher)."""


def parse_and_match(body: bytes, content_type: str | None, url: str, fetched_at: datetime,
                    ) -> tuple[ParsedFeed, list[Assessment | None], list[tuple[str, str]]]:
    """Parse a fetched body, assess each item and fold its text for search; runs in a worker process.

    Folding here rather than in the store keeps that CPU work off the single
    writer thread and spreads it across cores.
    """
    from .fold import normalise
    from .parse import parse_feed

    parsed = parse_feed(body, content_type=content_type, url=url, fetched_at=fetched_at)
    if parsed.error:
        return parsed, [], []
    assessments: list[Assessment | None] = []
    search_texts: list[tuple[str, str]] = []
    for item in parsed.items:
        norms = (normalise(item.title), normalise(item.summary))  # once, for matching and for search
        verdict = _MATCHER.assess(item.title, item.summary, normalised=norms)
        # The store keeps keywords, severity and rules; the hits' offsets stay here
        # rather than cross the process boundary (~7,000 pickled objects per cold poll).
        assessments.append(Assessment((), verdict.keywords, verdict.severity, verdict.rules)
                           if verdict.severity is not None else None)
        search_texts.append((norms[0].text, norms[1].text))
    return parsed, assessments, search_texts
