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


def init_worker(keywords: Sequence[Keyword], rules: Sequence[Rule], owner_pid: int | None = None) -> None:
    """Pool initializer: build this process's matcher, and watch the owner if there is one.

    A worker ignores SIGINT and SIGTERM: Ctrl-C in a terminal (and systemd's
    stop) signal the whole process group, and a worker that died of them would
    print a ``KeyboardInterrupt`` traceback, or break the pool so the feed in
    hand is recorded as a parser crash. Shutting workers down is the owner's
    job (``Poller.close``), and :func:`_exit_with_owner` ends them if the owner
    is killed outright.
    """
    global _MATCHER
    from .match import Matcher

    if owner_pid is not None:  # a pool process (the in-process fallback keeps the caller's signals)
        quiet_signals()
        threading.Thread(target=_exit_with_owner, args=(owner_pid,), name="crisiswatch-owner-watch",
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


def _exit_with_owner(owner_pid: int, interval: float = 1.0) -> None:
    """End this worker when the crisiswatch process that owns the pool is gone.

    A pool worker blocks on its task queue forever, and the forkserver it came
    from lives while any of its children do: after a ``kill -9`` of crisiswatch
    they would all stay behind. Polling the owner's pid is the portable way to
    notice (the worker's parent is the forkserver, so PR_SET_PDEATHSIG cannot help).
    """
    while True:
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
