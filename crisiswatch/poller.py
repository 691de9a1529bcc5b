"""The one poller: schedules feeds, fetches, parses, matches, stores.

Used by ``crisiswatch poll``, the TUI (in a worker thread with its own event
loop) and the benchmarks. Fetching is async (httpx); parsing and matching run
in a process pool so a 5 MB feed never delays other feeds' deadlines and both
cores work; SQLite writes go through one dedicated thread, which commits the
results queued when it gets to them in one transaction (up to ``MAX_BATCH``
feeds, a savepoint each: ``Store.record_results``), so the event loop never
waits on the disk.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import multiprocessing
import os
import random
import signal
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from .config import Config, Feed
from .models import Assessment, FetchResult, ParsedFeed, from_iso, iso, utcnow
from .redact import redact_text
from .store import FeedOutcome, Store, StoryPolicy
from .termsafe import one_line
from .units import MAX_DURATION, format_duration
from .worker import OwnerLine, forkserver_context, init_worker, parse_and_match, warm

if TYPE_CHECKING:
    from .fetch import Fetcher

MAX_BACKOFF = 3600.0
"""Failing feeds are retried at most this far apart (or their own interval, if longer)."""
HOLD_BASE = 60.0
"""The server hold-off after one failure (or the feed's interval, if shorter); it doubles with each
further failure, up to MAX_BACKOFF. Unlike the interval-based schedule, ``poll --once`` and the
TUI's refresh honour it."""
_MAX_DOUBLINGS = 32
"""2**32 × any interval is past every cap: the exponent stops here (2**1024 was an OverflowError)."""
ERROR_RETRY = 60.0
"""After a failed cycle (disk full, long lock), wait this long before trying again."""
MAX_BATCH = 32
"""Most feed results committed in one transaction (bounds how long other writers wait for the lock)."""
BATCH_WINDOW = 30.0
"""Feeds due within this many seconds of each other are polled in one cycle."""


@dataclass(slots=True)
class FeedReport:
    """One feed's line in ``poll -v``."""

    name: str
    status: str
    http_status: int | None
    items: int
    new_items: int
    new_alerts: int
    seconds: float
    error: str | None = None

    def line(self) -> str:
        code = str(self.http_status) if self.http_status is not None else "---"
        text = f"{self.status:<12} {code:>3}  {one_line(self.name)}: {self.items} items, {self.new_items} new, " \
               f"{self.new_alerts} alerts, {self.seconds:.2f}s"
        if self.error:
            text += f" — {one_line(redact_text(self.error))}"
        return text


@dataclass(frozen=True, slots=True)
class Hold:
    """A server's hold-off on one feed: not fetched before ``until``, whatever the user asks."""

    name: str
    until: datetime | None
    """None for a feed that answered 410 Gone (held until the user re-enables it)."""
    kind: str
    """``retry-after`` | ``backoff`` | ``gone``"""
    reason: str

    def line(self) -> str:
        when = "until re-enabled (crisiswatch feeds enable NAME; f, then e, in the dashboard)" if self.until is None \
            else f"until {iso(self.until)}"
        return f"{self.name}: held off {when} — {self.reason}"


def hold_of(row: dict[str, Any], now: datetime) -> Hold | None:
    """The hold-off a feeds row says is in force at ``now`` (None: the feed may be fetched)."""
    if row.get("gone"):
        return Hold(row["name"], None, "gone", row.get("last_error") or "HTTP 410 Gone")
    until = from_iso(row.get("hold_until"))
    if until is None or until <= now:
        return None
    return Hold(row["name"], until, row.get("hold_kind") or "backoff", row.get("hold_reason") or "")


@dataclass(slots=True)
class PollSummary:
    feeds: int = 0
    ok: int = 0
    not_modified: int = 0
    errors: int = 0
    new_items: int = 0
    new_alerts: int = 0
    seconds: float = 0.0
    reports: list[FeedReport] = field(default_factory=list)
    held: list[Hold] = field(default_factory=list)
    """Feeds asked for but not fetched: their server's hold-off (Retry-After, backoff) is still on."""

    @property
    def offline(self) -> bool:
        """Every feed failed to resolve its host: the machine has no network (or no DNS), not 36 broken feeds."""
        return (self.feeds > 0 and self.errors == self.feeds and len(self.reports) == self.feeds
                and all("DNS failure" in (r.error or "") for r in self.reports))

    def hint(self) -> str:
        return f"all {self.feeds} feeds failed to resolve — no network?" if self.offline else ""

    def line(self) -> str:
        text = (f"polled {self.feeds} feeds in {self.seconds:.1f}s: {self.ok} ok, {self.not_modified} not modified, "
                f"{self.errors} errors; {self.new_items} new items, {self.new_alerts} new alerts")
        if self.held:
            soonest = min((h.until for h in self.held if h.until is not None), default=None)
            text += f"; {len(self.held)} held off by their servers"
            if soonest is not None:
                text += f" (next at {iso(soonest)})"
        return f"{text}; {self.hint()}" if self.offline else text


def _pool_context() -> multiprocessing.context.BaseContext:
    """fork is fastest, but forking a threaded process (the TUI, or the CLI once its store thread runs) can deadlock."""
    if os.name == "posix" and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    if os.name != "posix":
        return multiprocessing.get_context("spawn")
    return forkserver_context()


def _settle_threadsafe(future: asyncio.Future[Any], outcome: Any) -> None:
    """Resolve ``future`` on its own loop; a loop closed meanwhile (its poll was cancelled) has nobody waiting."""
    with contextlib.suppress(RuntimeError):
        future.get_loop().call_soon_threadsafe(_settle, future, outcome)


def _settle(future: asyncio.Future[Any], outcome: Any) -> None:
    if future.cancelled():
        return
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)


# -- the poller ---------------------------------------------------------------------
class Poller:
    """Polls the configured feeds into a Store.

    Build it, use it and close it on one thread (the Store's connection is
    driven from a private writer thread, but created by the caller).
    """

    def __init__(
        self,
        config: Config,
        store: Store,
        *,
        on_report: Callable[[FeedReport], None] | None = None,
        notifier: Any = None,
        clock: Callable[[], datetime] = utcnow,
        workers: int | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.on_report = on_report
        self.notifier = notifier
        self.clock = clock
        self.workers = workers if workers is not None else max(1, min(4, os.cpu_count() or 1))
        self._pool: Executor | None = None
        self._warming: threading.Thread | None = None
        self._owner_line: OwnerLine | None = None
        """What tells the pool's workers at once that this process is gone (kill -9 included); POSIX only."""
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="crisiswatch-store")
        self._pending: list[tuple[tuple[Any, ...], dict[str, Any], asyncio.Future[FeedOutcome]]] = []
        self._pending_lock = threading.Lock()
        self._draining = False
        self._feed_ids = store.sync_feeds(config.feeds)
        self._policy = StoryPolicy.from_settings(config.settings, config.keywords)
        """Grouping and surge thresholds, and the clusterer that knows the keywords' kinds (built once)."""
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._force_all = False
        self._fetcher: Fetcher | None = None
        self._holds: dict[str, Hold] = {}
        """Holds as last read from or written to the feeds table (a copy of database state, for request_poll)."""

    # -- lifecycle ------------------------------------------------------------------
    def _executor(self) -> Executor:
        if self._pool is None:
            if self.workers <= 1:
                init_worker(self.config.keywords, self.config.rules)
                self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="crisiswatch-parse")
            else:
                if self._owner_line is None and os.name == "posix":
                    self._owner_line = OwnerLine()
                line = self._owner_line.reader if self._owner_line is not None else None
                self._pool = ProcessPoolExecutor(
                    max_workers=self.workers, mp_context=_pool_context(), initializer=init_worker,
                    initargs=(self.config.keywords, self.config.rules, os.getpid(), line))
        return self._pool

    def _start_workers(self) -> None:
        """Start the parse processes now, on a side thread, while the first fetches are in flight.

        Starting a process blocks its caller until the forkserver is up and has
        imported the parser (~0.25 s, more on a busy machine). Done by the first
        parse on the event loop, that stalled every fetch in flight; done here,
        the loop keeps fetching and the workers are ready when the first bodies
        are. Each worker spawns on a task while none is idle, hence one no-op each.
        """
        if self.workers <= 1 or (self._pool is not None and self._warming is not None):
            return
        executor = self._executor()

        def spawn() -> None:
            # Processes started from here (the forkserver, fork-context workers) begin with SIGINT and
            # SIGTERM blocked, until init_worker ignores them: a Ctrl-C while the forkserver imports the
            # parser must not print its traceback.
            with contextlib.suppress(AttributeError, OSError, ValueError):
                signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
            with contextlib.suppress(Exception):  # a broken pool is handled by the parse that meets it
                for _ in range(self.workers):
                    executor.submit(warm)

        self._warming = threading.Thread(target=spawn, name="crisiswatch-pool-start", daemon=True)
        self._warming.start()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        if self._owner_line is not None:
            self._owner_line.close()
            self._owner_line = None
        self._writer.shutdown(wait=True)

    def request_poll(self) -> list[Hold]:
        """Ask a running :meth:`run` loop to poll every feed now; safe from any thread.

        "Now" overrides the user's interval, not a server's hold-off: feeds
        under a Retry-After or error backoff, and gone feeds, are left alone
        (:meth:`poll_once` checks the database). Returns the holds known from
        the last look at the feeds table, so the caller can say which feeds
        will wait, and until when.
        """
        self._force_all = True
        if self._loop is not None and self._wake is not None:
            self._loop.call_soon_threadsafe(self._wake.set)
        now = self.clock()
        return [h for h in self._holds.values() if h.until is not None and h.until > now]

    # -- one cycle --------------------------------------------------------------------
    async def _feed_rows(self) -> dict[str, dict[str, Any]]:
        rows = {row["name"]: row for row in await self._write(self.store.feeds)}
        now = self.clock()
        self._holds = {f.name: h for f in self.config.feeds if f.enabled and f.name in rows
                       and (h := hold_of(rows[f.name], now)) is not None}
        return rows

    async def _active_feeds(self) -> list[Feed]:
        rows = await self._feed_rows()
        return [f for f in self.config.feeds if f.enabled and not rows.get(f.name, {}).get("gone")]

    async def due_feeds(self, now: datetime, *, window: float = BATCH_WINDOW) -> list[Feed]:
        """Enabled feeds whose interval is up (within ``window``) and that no server holds off at ``now``."""
        rows = await self._feed_rows()
        horizon = now + timedelta(seconds=window)
        due = []
        for feed in self.config.feeds:
            row = rows.get(feed.name)
            if not feed.enabled or row is None or hold_of(row, now) is not None:
                continue
            next_poll = from_iso(row["next_poll"])
            if next_poll is None or next_poll <= horizon:
                due.append(feed)
        return due

    async def poll_once(self, feeds: Sequence[Feed] | None = None) -> PollSummary:
        """Fetch every given feed (default: every enabled feed) once, except those a server holds off.

        This is what ``poll --once`` and the TUI's refresh run: they override
        the user's interval, never a server's hold-off. A feed that answered
        410, or 429/503 with a Retry-After that has not passed, or that is
        backing off after failures, is skipped and listed in
        :attr:`PollSummary.held`. The holds are read from the database at this
        moment, so a cron job running ``poll --once`` every minute honours the
        Retry-After a previous process was given.
        """
        from .fetch import Fetcher

        # One query for every feed's validators and failure count, instead of one
        # writer-thread round trip per feed (200 feeds: 200 thread hand-offs saved).
        rows = await self._feed_rows()
        if feeds is None:
            feeds = [f for f in self.config.feeds if f.enabled]
        now = self.clock()
        held: list[Hold] = []
        wanted: list[Feed] = []
        for feed in feeds:
            row = rows.get(feed.name)
            hold = hold_of(row, now) if row is not None else None
            if hold is None:
                wanted.append(feed)
            elif hold.kind != "gone":  # gone feeds are not "due" at all: not counted as held
                held.append(hold)
        feeds = wanted
        # Feeds between "fetch started" and "stored", at most: fetching runs ahead of parsing,
        # and without a bound a 1,000-feed cold poll held every body and parse result at once.
        in_flight = asyncio.Semaphore(2 * self.config.settings.max_connections)
        if any(not (row.get("etag") or row.get("last_modified")) for row in (rows.get(f.name) or {} for f in feeds)):
            self._start_workers()  # a feed without validators will send a body: have parsers ready for it
        started = time.monotonic()
        summary = PollSummary(feeds=len(feeds), held=held)
        detail = f"{len(feeds)} feeds due"
        if held:
            detail += f"; {len(held)} held off by their servers: " + ", ".join(
                f"{h.name} until {iso(h.until)}" for h in held[:5]) + (" …" if len(held) > 5 else "")
        await self._write(self.store.add_event, "poll_started", detail=detail, now=self.clock())
        if self._fetcher is not None:
            results = await asyncio.gather(*(self._poll_feed(self._fetcher, feed, rows.get(feed.name), in_flight)
                                             for feed in feeds))
        else:
            async with Fetcher(self.config.settings) as fetcher:
                results = await asyncio.gather(*(self._poll_feed(fetcher, feed, rows.get(feed.name), in_flight)
                                                 for feed in feeds))
        for report, outcome in results:
            summary.reports.append(report)
            if outcome.status == "ok":
                summary.ok += 1
            elif outcome.status == "not_modified":
                summary.not_modified += 1
            else:
                summary.errors += 1
            summary.new_items += outcome.new_items
            summary.new_alerts += len(outcome.new_alerts)
        summary.seconds = time.monotonic() - started
        await self._write(self.store.add_event, "poll_finished", detail=summary.line(), now=self.clock())
        return summary

    async def _write(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._writer, lambda: fn(*args, **kwargs))

    async def _record(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> FeedOutcome:
        """Store one feed's result; results that queue up meanwhile are committed together.

        The writer thread takes every result waiting when it gets to them (at
        most :data:`MAX_BATCH`) into one transaction (:meth:`Store.record_results`),
        so nothing waits for a batch to fill: a lone result is written at once,
        and under load commits get fewer and larger instead of falling behind.
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[FeedOutcome] = loop.create_future()
        with self._pending_lock:
            self._pending.append((args, kwargs, future))
            start = not self._draining
            self._draining = True
        if start:
            loop.run_in_executor(self._writer, self._drain)
        return await future

    def _drain(self) -> None:
        """Writer thread: commit queued results in batches until the queue is empty.

        Whatever happens here, ``_draining`` is cleared on the way out: a drain
        that died with it set would leave every later result waiting forever
        (a poll cancelled mid-batch closes its loop under us, for one).
        """
        try:
            while True:
                with self._pending_lock:
                    batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
                    if not batch:
                        self._draining = False
                        return
                try:
                    outcomes: list[Any] = self.store.record_results([(args, kwargs) for args, kwargs, _ in batch])
                except BaseException as exc:  # handed to every waiting feed
                    outcomes = [exc] * len(batch)
                for (_, _, future), outcome in zip(batch, outcomes, strict=True):
                    _settle_threadsafe(future, outcome)
        finally:
            with self._pending_lock:
                self._draining = False

    async def _poll_feed(self, fetcher: Fetcher, feed: Feed, row: dict[str, Any] | None,
                         in_flight: asyncio.Semaphore) -> tuple[FeedReport, FeedOutcome]:
        async with in_flight:
            return await self._poll_feed_now(fetcher, feed, row)

    async def _poll_feed_now(self, fetcher: Fetcher, feed: Feed,
                             row: dict[str, Any] | None) -> tuple[FeedReport, FeedOutcome]:
        """Fetch, parse and store one feed, holding an in-flight slot (see ``poll_once``)."""
        feed_id = self._feed_ids[feed.name]
        if row is None or row.get("id") != feed_id:
            row = await self._write(self.store.feed, feed_id) or {}
        started = time.monotonic()
        url = row.get("url") or feed.url
        result = await fetcher.fetch(url, etag=row.get("etag"), last_modified=row.get("last_modified"))
        parsed: ParsedFeed | None = None
        assessments: list[Assessment | None] = []
        search_texts: list[tuple[str, str]] = []
        fetched_at = self.clock()
        if result.ok and result.body is not None and not result.not_modified:
            parsed, assessments, search_texts = await self._parse(result, fetched_at)
        if result.moved_to and (parsed is None or parsed.error):
            # A 301/308 is committed only once the new address answered with a feed. A captive
            # portal or a hostile server answering with a page (or a 304 we cannot check) must
            # not silence the feed: keep the old URL, record the error, try the old URL again.
            if parsed is not None and parsed.error:
                parsed = ParsedFeed(None, (), error=f"{parsed.error} (at {result.moved_to}, reached by a "
                                    f"permanent redirect; the feed keeps its URL until that address serves a feed)")
            result = dataclasses.replace(result, moved_to=None)
        # Consecutive failures including this one (0 after a success: a recovered feed is on its interval again).
        failures = 0 if result.ok and (parsed is None or not parsed.error) else row.get("failures", 0) + 1
        next_poll, hold = self._schedule(feed, result, failures, fetched_at,
                                         error=result.error or (parsed.error if parsed is not None else None))
        outcome = await self._record((feed_id, result, parsed, assessments),
                                     {"settings": self._policy, "next_poll": next_poll, "now": fetched_at,
                                      "search_texts": search_texts, "hold": hold})
        if outcome.status == "gone":
            self._holds[feed.name] = Hold(feed.name, None, "gone", outcome.error or "HTTP 410 Gone")
        elif hold is not None and outcome.status == "error":
            self._holds[feed.name] = Hold(feed.name, *hold)
        else:
            self._holds.pop(feed.name, None)
        if self.notifier is not None:
            for alert in outcome.new_alerts:
                self.notifier.submit(alert)
        report = FeedReport(feed.name, outcome.status, result.status, len(parsed.items) if parsed else 0,
                            outcome.new_items, len(outcome.new_alerts), time.monotonic() - started, outcome.error)
        if self.on_report is not None:
            self.on_report(report)
        return report, outcome

    async def _parse(self, result: FetchResult, fetched_at: datetime,
                     ) -> tuple[ParsedFeed, list[Assessment | None], list[tuple[str, str]]]:
        loop = asyncio.get_running_loop()
        assert result.body is not None
        for attempt in range(2):
            self._start_workers()
            warming = self._warming
            if warming is not None and warming.is_alive():
                await loop.run_in_executor(None, warming.join)  # wait for the workers, not on the loop
            try:
                return await loop.run_in_executor(self._executor(), parse_and_match, result.body,
                                                  result.content_type, result.url, fetched_at)
            except BrokenProcessPool:
                # A worker died (out of memory on a hostile feed?): start a fresh pool once.
                self._pool = None
                self._warming = None
                if attempt:
                    return ParsedFeed(None, (), error="parser process crashed on this feed"), [], []
            except Exception as exc:  # a parser bug must cost one feed, never the poll
                return ParsedFeed(None, (), error=f"parse failed: {type(exc).__name__}: {exc}"), [], []
        raise AssertionError("unreachable")

    def _next_poll(self, feed: Feed, result: FetchResult, failures: int, now: datetime) -> datetime:
        return self._schedule(feed, result, failures, now)[0]

    def _schedule(self, feed: Feed, result: FetchResult, failures: int, now: datetime, *,
                  error: str | None = None) -> tuple[datetime, tuple[datetime, str, str] | None]:
        """(next poll on the user's schedule, the server's hold-off or None) after this result.

        The schedule backs off from the feed's interval (×2 per failure, capped
        at an hour or the interval); ``run`` follows it, ``--once`` and ``r``
        override it. The hold-off is what nobody overrides: a Retry-After as
        the server gave it (capped at a day by the fetcher), else after a
        failure :data:`HOLD_BASE` (or the interval, if shorter) doubling per failure up to
        :data:`MAX_BACKOFF`.
        The exponent is capped, so the 1,025th failure in a row is scheduled
        like the 33rd instead of raising OverflowError every cycle.
        """
        interval = self.config.interval_for(feed)
        doublings = min(max(failures - 1, 0), _MAX_DOUBLINGS)
        hold: tuple[datetime, str, str] | None = None
        if result.retry_after is not None:
            wait = result.retry_after
            delay = max(wait, interval)
            if wait > 0:
                hold = (now + timedelta(seconds=wait), "retry-after",
                        f"{result.error or 'asked to wait'}: Retry-After {format_duration(wait)}")
        elif failures:
            cap = max(MAX_BACKOFF, interval)
            delay = min(interval * 2 ** doublings, cap) * random.uniform(0.85, 1.15)
            # A feed polled every few seconds (the demo) is held as briefly as its interval after one slip.
            wait = min(min(HOLD_BASE, interval) * 2 ** doublings, MAX_BACKOFF)
            error = error or result.error or "not a usable feed"
            hold = (now + timedelta(seconds=wait), "backoff",
                    f"backing off {format_duration(wait)} after {failures} failure{'s' if failures > 1 else ''} "
                    f"in a row (last: {redact_text(error)[:120]})")
            delay = max(delay, wait)
        else:
            delay = interval * random.uniform(0.97, 1.03)
        return now + timedelta(seconds=min(delay, MAX_DURATION)), hold

    # -- forever ----------------------------------------------------------------------
    async def run(self, stop: asyncio.Event, *, on_summary: Callable[[PollSummary], None] | None = None,
                  on_error: Callable[[str], None] | None = None) -> None:
        """Poll due feeds until ``stop`` is set; sleeps until the next feed is due.

        A failing cycle (disk full, database locked for long, a bug) is reported
        through ``on_error`` and retried a minute later: a week-long run must not
        die on a transient fault.
        """
        from .fetch import Fetcher

        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        async with Fetcher(self.config.settings) as fetcher:
            # One client for the whole run: kept-alive connections and one TLS context.
            self._fetcher = fetcher
            try:
                await self._run_cycles(stop, on_summary, on_error)
            finally:
                self._fetcher = None

    async def _run_cycles(self, stop: asyncio.Event, on_summary: Callable[[PollSummary], None] | None,
                          on_error: Callable[[str], None] | None) -> None:
        assert self._wake is not None
        while not stop.is_set():
            self._wake.clear()
            force, self._force_all = self._force_all, False
            try:
                feeds = await self._active_feeds() if force else await self.due_feeds(self.clock())
                if feeds:
                    summary = await self.poll_once(feeds)
                    if on_summary is not None:
                        on_summary(summary)
                rows = await self._feed_rows()
                enabled = [rows[f.name] for f in self.config.feeds if f.enabled and f.name in rows]
                delay = self._seconds_until_next(enabled, self.clock())
            except Exception as exc:
                if on_error is not None:
                    on_error(f"poll cycle failed: {exc}; retrying in {format_duration(ERROR_RETRY)}")
                delay = ERROR_RETRY
            stop_task = asyncio.ensure_future(stop.wait())
            wake_task = asyncio.ensure_future(self._wake.wait())
            await asyncio.wait({stop_task, wake_task}, timeout=delay, return_when=asyncio.FIRST_COMPLETED)
            for task in (stop_task, wake_task):
                task.cancel()

    @staticmethod
    def _seconds_until_next(rows: list[dict[str, Any]], now: datetime) -> float:
        """Seconds until the next feed is due and not held off (at least 1, at most 300)."""
        times = [max(t for t in (from_iso(row["next_poll"]), from_iso(row.get("hold_until"))) if t is not None)
                 if row["next_poll"] or row.get("hold_until") else None
                 for row in rows if not row["gone"]]
        pending = [t for t in times if t is not None]
        if len(pending) < len(times):
            return 0.0
        if not pending:
            return 60.0
        return max(1.0, min(300.0, (min(pending) - now).total_seconds()))
