"""The offline demo: synthetic news feeds served from 127.0.0.1, released over time.

``crisiswatch demo`` is the first thing a new user runs, often on a machine
with no route to the real outlets, so everything it needs is in the package:
``demo_data/timeline.toml`` (six invented outlets in English, Serbian Latin,
Serbian Cyrillic and Albanian, and their items) and ``demo_data/feeds.toml``
(the shipped keywords and rules). :class:`DemoServer` serves those outlets as
RSS 2.0 and Atom documents from a stdlib HTTP server in a daemon thread and
releases the items on a schedule: a first screenful at once (so the first
alert lands with the first poll), then a batch every 10–20 s so alerts keep
arriving while the user watches. The schedule is drawn from a seeded RNG so
tests and bug reports can replay it, and ``speed`` compresses it for tests.

The server behaves like a well-run news site — ETag / Last-Modified with 304
answers, gzip, a bounded number of items per document, stable guids — so the
demo exercises the real fetch → parse → match → store path, not a shortcut.

This module is core code: it never imports Textual. The TUI is started by
``commands/demo.py``; :func:`headless` runs the same poller without it.
"""

from __future__ import annotations

import asyncio
import gzip
import random
import re
import secrets
import threading
import time
import tomllib
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit
from xml.sax.saxutils import escape, quoteattr

from . import feedwriter
from .config import Config, parse_config
from .units import format_duration

if TYPE_CHECKING:
    from .poller import PollSummary

RELEASE_INTERVAL: tuple[float, float] = (10.0, 20.0)
"""Seconds between live batches (uniform in this range), before ``speed`` is applied."""
POLL_INTERVAL = 10.0
"""Feed interval in the demo config: short, so a released item shows up within seconds."""
FEED_LENGTH = 40
"""Items per feed document, newest first — real feeds are bounded too, and the
store must cope with items scrolling off the end."""

UPDATE_PREFIX: dict[str, str] = {
    "en": "UPDATE {n}: ",
    "sr-Latn": "NOVO ({n}): ",
    "sr-Cyrl": "НОВО ({n}): ",
    "sq": "E FUNDIT ({n}): ",
}
"""When the script has run out it is replayed; replayed stories get a follow-up
marker in their outlet's language so they are new stories, not duplicates."""

_FORMATS = ("rss", "atom")
_CYRILLIC = dict(zip(
    "абвгдђежзијклљмнњопрстћуфхцчџш",
    ["a", "b", "v", "g", "d", "dj", "e", "z", "z", "i", "j", "k", "l", "lj", "m", "n", "nj", "o", "p", "r",
     "s", "t", "c", "u", "f", "h", "c", "c", "dz", "s"], strict=True))


# -- the bundled data ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Outlet:
    """One synthetic news site and its feed."""

    slug: str
    title: str
    lang: str
    format: str
    """``rss`` (RSS 2.0) or ``atom`` (Atom 1.0)."""
    site: str
    description: str

    @property
    def domain(self) -> str:
        return urlsplit(self.site).netloc


@dataclass(frozen=True, slots=True)
class ScriptItem:
    """One scripted headline as written in ``timeline.toml``."""

    outlet: str
    title: str
    summary: str
    age: float | None = None
    """Minutes before the demo start; ``None`` for items released live."""
    with_previous: bool = False
    link_via: str | None = None
    noise: bool = False


@dataclass(frozen=True, slots=True)
class Filler:
    """A template for ordinary news used when the script is replayed."""

    outlet: str
    title: str
    summary: str
    choices: tuple[tuple[str, tuple[str, ...]], ...]

    def render(self, rng: random.Random) -> tuple[str, str]:
        values = {name: rng.choice(options) for name, options in self.choices}
        return self.title.format(**values), self.summary.format(**values)


@dataclass(frozen=True, slots=True)
class Timeline:
    outlets: tuple[Outlet, ...]
    start: tuple[ScriptItem, ...]
    """On the first screen, oldest last as written."""
    batches: tuple[tuple[ScriptItem, ...], ...]
    """Live releases in order; each batch appears at once."""
    fillers: tuple[Filler, ...]

    def outlet(self, slug: str) -> Outlet:
        for outlet in self.outlets:
            if outlet.slug == slug:
                return outlet
        raise KeyError(slug)


def _data_text(name: str) -> str:
    return resources.files("crisiswatch").joinpath("demo_data", name).read_text(encoding="utf-8")


def parse_timeline(source: str) -> Timeline:
    """Validate ``timeline.toml``; a mistake in the bundled data must fail loudly in tests."""
    data = tomllib.loads(source)
    outlets = tuple(Outlet(o["slug"], o["title"], o["lang"], o["format"], o["site"], o.get("description", ""))
                    for o in data["outlet"])
    slugs = {o.slug for o in outlets}
    if len(slugs) != len(outlets):
        raise ValueError("timeline: duplicate outlet slug")
    for o in outlets:
        if o.format not in _FORMATS:
            raise ValueError(f"timeline: outlet {o.slug}: format must be one of {_FORMATS}")
        if o.lang not in UPDATE_PREFIX:
            raise ValueError(f"timeline: outlet {o.slug}: no update marker for language {o.lang!r}")
    start: list[ScriptItem] = []
    batches: list[list[ScriptItem]] = []
    for n, raw in enumerate(data["item"]):
        item = ScriptItem(raw["outlet"], raw["title"].strip(), raw.get("summary", "").strip(),
                          float(raw["age"]) if "age" in raw else None, bool(raw.get("with_previous", False)),
                          raw.get("link_via"), bool(raw.get("noise", False)))
        where = f"timeline: item {n} ({item.title!r})"
        if item.outlet not in slugs or (item.link_via is not None and item.link_via not in slugs):
            raise ValueError(f"{where}: unknown outlet")
        if item.age is not None:
            if batches:
                raise ValueError(f"{where}: items with an age must come before the live items")
            start.append(item)
        elif item.with_previous:
            if not batches:
                raise ValueError(f"{where}: with_previous on the first live item")
            batches[-1].append(item)
        else:
            batches.append([item])
    fillers = tuple(
        Filler(f["outlet"], f["title"], f.get("summary", ""),
               tuple((k, tuple(v)) for k, v in f.items() if isinstance(v, list)))
        for f in data.get("filler", ()))
    for f in fillers:
        if f.outlet not in slugs:
            raise ValueError(f"timeline: filler {f.title!r}: unknown outlet")
    if not start or not batches:
        raise ValueError("timeline: needs items on the first screen and live items")
    return Timeline(outlets, tuple(start), tuple(tuple(b) for b in batches), fillers)


@cache
def load_timeline() -> Timeline:
    return parse_timeline(_data_text("timeline.toml"))


def demo_config(base_url: str, *, poll_interval: float = POLL_INTERVAL, timeline: Timeline | None = None) -> Config:
    """The demo's Config: bundled settings, keywords and rules plus one feed per outlet.

    It goes through :func:`config.parse_config`, like any user's feeds.toml, so
    the demo cannot drift from what the loader accepts.
    """
    timeline = timeline or load_timeline()
    interval = format_duration(poll_interval)
    text = _data_text("feeds.toml").replace("@INTERVAL@", interval)
    parts = [text, "\n# --- generated: the demo's own loopback feeds ---\n"]
    for outlet in timeline.outlets:
        parts.append(
            f"\n[[feeds]]\nname = {_toml_str(outlet.title)}\nurl = {_toml_str(feed_url(base_url, outlet))}\n"
            f"interval = {_toml_str(interval)}\ntags = [\"demo\", {_toml_str(outlet.lang)}]\n")
    return parse_config("".join(parts), None)


def feed_url(base_url: str, outlet: Outlet) -> str:
    return f"{base_url.rstrip('/')}/feeds/{outlet.slug}.xml"


def _toml_str(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _slug(title: str, limit: int = 8) -> str:
    """An ASCII URL slug like a real news site's, also for Cyrillic titles."""
    folded = "".join(_CYRILLIC.get(ch, ch) for ch in title.lower().replace("đ", "dj"))
    folded = unicodedata.normalize("NFKD", folded).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", folded)
    return "-".join(words[:limit]) or "story"


# -- the server -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Entry:
    """One released item as it appears in a feed document."""

    outlet: str
    number: int
    guid: str
    link: str
    title: str
    summary: str
    published: datetime


@dataclass(slots=True)
class _Channel:
    entries: list[Entry]
    version: int = 0
    modified: datetime | None = None
    body: bytes | None = None
    gzipped: bytes | None = None


class DemoServer:
    """Serves the demo outlets on 127.0.0.1 and releases their items over time.

    ``seed`` fixes the schedule (and the filler news); ``speed`` divides every
    wait, so ``speed=20`` releases a batch every 0.5–1 s. ``clock`` (monotonic
    seconds) and ``now`` (wall time) can be injected so a test controls time;
    :meth:`release_next` jumps straight to the next batch. Items are released
    lazily when a feed is requested, so an idle demo does no work.
    """

    def __init__(
        self,
        *,
        seed: int | None = None,
        speed: float = 1.0,
        interval: tuple[float, float] = RELEASE_INTERVAL,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        timeline: Timeline | None = None,
    ) -> None:
        if speed <= 0:
            raise ValueError("speed must be more than zero")
        if not 0 < interval[0] <= interval[1]:
            raise ValueError("interval must be (low, high) with 0 < low <= high")
        self.seed = seed if seed is not None else random.SystemRandom().randrange(2**31)
        self.speed = speed
        self.interval = interval
        self.host = host
        self.port = port
        self.timeline = timeline or load_timeline()
        self.requests: Counter[tuple[str, int]] = Counter()
        """(path, status) → count: lets tests prove 304s were sent."""
        self._clock = clock
        self._now = now
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()
        self._token = secrets.token_hex(4)
        """In every ETag, so validators stored by an earlier demo run on the same --db never match."""
        self._channels = {o.slug: _Channel([]) for o in self.timeline.outlets}
        self._last_link: dict[str, str] = {}
        self._serial = 0
        self._batch = 0
        self._next_offset = 0.0
        self._skew = 0.0
        self._t0 = 0.0
        self._wall0 = datetime.now(UTC)
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> DemoServer:
        """Bind, serve from a daemon thread and put the first screenful online."""
        if self._httpd is not None:
            return self
        self._httpd = _HTTPServer((self.host, self.port), _Handler, self)
        self.port = self._httpd.server_address[1]
        with self._lock:
            if self._serial == 0:  # a restarted server keeps its news and its schedule
                self._t0 = self._clock()
                self._wall0 = self._now()
                self._release_start()
                self._next_offset = self._rng.uniform(*self.interval)
        # serve_forever notices stop() at its next poll: 50 ms keeps leaving the demo (and each test's
        # server) prompt for 20 wake-ups a second.
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="crisiswatch-demo-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket; safe to call twice."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> DemoServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    def url(self, slug: str) -> str:
        return feed_url(self.base_url, self.timeline.outlet(slug))

    def config(self, *, poll_interval: float | None = None) -> Config:
        """A Config polling this server; the interval shrinks with ``speed`` (never below 1 s)."""
        if poll_interval is None:
            poll_interval = max(1.0, POLL_INTERVAL / self.speed)
        return demo_config(self.base_url, poll_interval=poll_interval, timeline=self.timeline)

    # -- the schedule -------------------------------------------------------------------------
    def elapsed(self) -> float:
        """Demo seconds since start: real seconds × speed, plus any :meth:`release_next` jumps."""
        return (self._clock() - self._t0) * self.speed + self._skew

    def seconds_to_next(self) -> float:
        """Real seconds until the next batch is due (0 if it is due now)."""
        with self._lock:
            return max(0.0, (self._next_offset - self.elapsed()) / self.speed)

    @property
    def batches_released(self) -> int:
        """Live batches released so far (catching up first, like a request would)."""
        with self._lock:
            self._catch_up()
            return self._batch

    def release_next(self) -> list[Entry]:
        """Release the next batch now instead of waiting for it (for tests and impatient users)."""
        with self._lock:
            self._catch_up()
            self._skew += max(0.0, self._next_offset - self.elapsed())
            return self._catch_up()

    def released(self, slug: str | None = None) -> list[Entry]:
        """Everything released so far (for one outlet, or all), oldest first."""
        with self._lock:
            self._catch_up()
            channels = [self._channels[slug]] if slug else list(self._channels.values())
            entries = [e for c in channels for e in c.entries]
        return sorted(entries, key=lambda e: e.number)

    def _catch_up(self) -> list[Entry]:
        """Release every batch whose time has come; call with the lock held."""
        out: list[Entry] = []
        while self.elapsed() >= self._next_offset:
            due = self._wall0 + timedelta(seconds=(self._next_offset - self._skew) / self.speed)
            out.extend(self._release_batch(min(due, self._now())))
            self._next_offset += self._rng.uniform(*self.interval)
        return out

    def _release_start(self) -> None:
        for item in sorted(self.timeline.start, key=lambda i: -(i.age or 0.0)):
            published = self._wall0 - timedelta(minutes=item.age or 0.0)
            self._publish(item.outlet, item.title, item.summary, published, item.link_via)

    def _release_batch(self, published: datetime) -> list[Entry]:
        batches = self.timeline.batches
        replay, index = divmod(self._batch, len(batches))
        self._batch += 1
        out = []
        for item in batches[index]:
            title, summary = item.title, item.summary
            if replay:
                if item.noise:
                    fillers = [f for f in self.timeline.fillers if f.outlet == item.outlet]
                    if not fillers:
                        continue
                    title, summary = self._rng.choice(fillers).render(self._rng)
                else:
                    lang = self.timeline.outlet(item.outlet).lang
                    title = UPDATE_PREFIX[lang].format(n=replay) + title
            out.append(self._publish(item.outlet, title, summary, published, item.link_via))
        return out

    def _publish(self, slug: str, title: str, summary: str, published: datetime, link_via: str | None) -> Entry:
        outlet = self.timeline.outlet(slug)
        self._serial += 1
        number = self._serial
        path = f"news/{published:%Y/%m/%d}/{_slug(title)}-{1000 + number}"
        own_link = outlet.site + path
        if link_via is not None and link_via in self._last_link:
            link = f"{self._last_link[link_via]}?utm_source={slug}&utm_medium=rss&utm_campaign=feed"
            guid = f"{outlet.site}item/{1000 + number}"
        else:
            link = guid = own_link
            self._last_link[slug] = own_link
        if outlet.format == "atom":
            guid = f"tag:{outlet.domain},2026:{1000 + number}"
        entry = Entry(slug, number, guid, link, title, summary, published.astimezone(UTC).replace(microsecond=0))
        channel = self._channels[slug]
        channel.entries.append(entry)
        del channel.entries[:-FEED_LENGTH]
        channel.version += 1
        channel.modified = max(entry.published, channel.modified or entry.published)
        channel.body = channel.gzipped = None
        return entry

    # -- serving ------------------------------------------------------------------------------
    def document(self, slug: str, *, gzipped: bool = False) -> tuple[bytes, str, datetime | None]:
        """(body, etag, last_modified) for one outlet's current feed document, taken under one lock
        so the ETag always describes the body it is sent with."""
        with self._lock:
            self._catch_up()
            channel = self._channels[slug]
            if channel.body is None:
                channel.body = _render(self.timeline.outlet(slug), channel.entries, self.base_url)
            body = channel.body
            if gzipped:
                if channel.gzipped is None:
                    channel.gzipped = gzip.compress(channel.body, mtime=0)
                body = channel.gzipped
            return body, f'"{slug}-{channel.version}-{self._token}"', channel.modified

    def _count(self, path: str, status: int) -> None:
        with self._lock:
            self.requests[(path, status)] += 1

    def count(self, status: int) -> int:
        """How many responses with this status were sent, over all paths."""
        with self._lock:
            return sum(n for (_, code), n in self.requests.items() if code == status)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], demo: DemoServer) -> None:
        self.demo = demo
        super().__init__(address, handler)


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    server_version = "crisiswatch-demo/1"
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: anything written to stderr would tear through the dashboard."""

    def do_HEAD(self) -> None:
        self._serve(head=True)

    def do_GET(self) -> None:
        self._serve(head=False)

    def _serve(self, *, head: bool) -> None:
        demo = self.server.demo
        path = urlsplit(self.path).path
        m = re.fullmatch(r"/feeds/([a-z0-9-]+)\.xml", path)
        slugs = {o.slug for o in demo.timeline.outlets}
        if path in ("/", "/index.html"):
            self._send(200, _index(demo).encode(), "text/html; charset=utf-8", head=head)
        elif m is None or m.group(1) not in slugs:
            self._send(404, b"not found\n", "text/plain; charset=utf-8", head=head)
        else:
            outlet = demo.timeline.outlet(m.group(1))
            gzipped = "gzip" in (self.headers.get("Accept-Encoding") or "").lower()
            body, etag, modified = demo.document(outlet.slug, gzipped=gzipped)
            headers = {"ETag": etag, "Cache-Control": "max-age=0", "Vary": "Accept-Encoding"}
            if modified is not None:
                headers["Last-Modified"] = format_datetime(modified, usegmt=True)
            if _not_modified(self.headers.get("If-None-Match"), self.headers.get("If-Modified-Since"), etag,
                             modified):
                self._send(304, b"", None, head=True, headers=headers)
            else:
                if gzipped:
                    headers["Content-Encoding"] = "gzip"
                ctype = "application/rss+xml" if outlet.format == "rss" else "application/atom+xml"
                self._send(200, body, f"{ctype}; charset=utf-8", head=head, headers=headers)

    def _send(self, status: int, body: bytes, ctype: str | None, *, head: bool,
              headers: dict[str, str] | None = None) -> None:
        # Counted before the response goes out, so a client that has its answer sees it counted.
        self.server.demo._count(urlsplit(self.path).path, status)
        self.send_response(status)
        if ctype:
            self.send_header("Content-Type", ctype)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        if status != 304:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head and status != 304:
            try:
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass


def _not_modified(if_none_match: str | None, if_modified_since: str | None, etag: str,
                  modified: datetime | None) -> bool:
    """RFC 9110: If-None-Match wins when present; weak comparison; If-Modified-Since otherwise."""
    if if_none_match is not None:
        tags = [t.strip() for t in if_none_match.split(",")]
        return "*" in tags or any(t.removeprefix("W/") == etag for t in tags)
    if if_modified_since and modified is not None:
        try:
            since = parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError):
            return False
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        return modified.replace(microsecond=0) <= since
    return False


def _render(outlet: Outlet, entries: Sequence[Entry], base_url: str) -> bytes:
    newest_first = sorted(entries, key=lambda e: (e.published, e.number), reverse=True)
    updated = newest_first[0].published if newest_first else datetime(2026, 1, 1, tzinfo=UTC)
    channel = feedwriter.Channel(outlet.title, link=outlet.site, description=outlet.description, language=outlet.lang,
                                 updated=updated, self_url=feed_url(base_url, outlet),
                                 id=f"tag:{outlet.domain},2026:feed")
    atom = outlet.format != "rss"
    written = [feedwriter.Entry(title=e.title, link=e.link, id=e.guid, permalink=e.guid == e.link,
                                published=e.published, summary=e.summary, author=outlet.title if atom else None)
               for e in newest_first]
    return feedwriter.render("atom" if atom else "rss", channel, written).encode("utf-8")


def _index(demo: DemoServer) -> str:
    rows = "".join(
        f"<li><a href={quoteattr(demo.url(o.slug))}>{escape(o.title)}</a> ({escape(o.lang)}, {o.format})</li>"
        for o in demo.timeline.outlets)
    return (f"<!doctype html><meta charset=utf-8><title>crisiswatch demo feeds</title>"
            f"<h1>crisiswatch demo feeds</h1><p>Synthetic news, seed {demo.seed}.</p><ul>{rows}</ul>\n")


# -- the temporary database ---------------------------------------------------------------------
TEMP_PREFIX = "crisiswatch-demo-"
_OWNER = "owner.pid"


def make_temp_dir(root: Path | None = None) -> Path:
    """A private directory for the demo database, marked with our pid.

    A demo killed with its terminal (SIGHUP) or ``kill -9`` never reaches its
    ``finally``; the pid file lets the next demo recognise and remove what it
    left behind (see :func:`sweep_stale_dirs`).
    """
    import os
    import tempfile

    sweep_stale_dirs(root)
    path = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX, dir=root))
    (path / _OWNER).write_text(f"{os.getpid()}\n", encoding="ascii")
    return path


def sweep_stale_dirs(root: Path | None = None) -> list[Path]:
    """Remove demo directories whose owning process is gone; returns what was removed."""
    import os
    import shutil
    import tempfile

    removed = []
    for path in Path(root or tempfile.gettempdir()).glob(f"{TEMP_PREFIX}*"):
        try:
            pid = int((path / _OWNER).read_text(encoding="ascii").strip())
        except (OSError, ValueError):
            continue  # not ours to judge (no owner file): leave it alone
        try:
            os.kill(pid, 0)
            continue  # still running
        except ProcessLookupError:
            pass
        except PermissionError:
            continue  # alive, another user's
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


# -- headless ---------------------------------------------------------------------------------
def format_event(event: dict[str, Any]) -> str | None:
    """One line for an interesting event (None for the rest), for ``demo --headless``."""
    kind = event["kind"]
    clock = (event.get("time") or "")[11:19]
    feed = event.get("feed")
    detail = event.get("detail") or ""
    if kind == "alert_new":
        severity = detail.removeprefix("severity ").split(";")[0]
        return f"{clock}  ALERT {severity:<8} {feed}: {event.get('title')}  [{event.get('keywords') or ''}]"
    if kind == "alert_grouped":
        return f"{clock}  {'':<14} {detail}"
    if kind == "surge":
        return f"{clock}  SURGE {'':<8} {detail}"
    if kind in ("fetch_error", "feed_recovered"):
        return f"{clock}  {'ERROR' if kind == 'fetch_error' else 'OK':<5} {'':<8} {feed}: {detail}"
    return None


async def headless(
    server: DemoServer,
    db_path: Path,
    *,
    stop: asyncio.Event | None = None,
    duration: float | None = None,
    once: bool = False,
    write: Callable[[str], None] = print,
    workers: int | None = None,
) -> PollSummary | None:
    """Poll the demo feeds with the real Poller and report alerts as lines, without the TUI.

    Runs until ``stop`` is set or ``duration`` seconds have passed (or one poll
    with ``once``). Events are read through a second, read-only Store so the
    poller's writer thread keeps its connection to itself.
    """
    from .poller import Poller
    from .store import Store

    config = server.config()
    store = Store.open(db_path)
    poller = Poller(config, store, workers=workers)
    reader = Store.open(db_path, readonly=True)
    last_event = reader.events_tail(1)[-1]["id"] if reader.events_tail(1) else 0
    summary_seen: PollSummary | None = None

    def on_summary(summary: PollSummary) -> None:
        nonlocal last_event, summary_seen
        summary_seen = summary
        for event in reader.events_tail(1000, after_id=last_event):
            last_event = event["id"]
            line = format_event(event)
            if line is not None:
                write(line)
        write(summary.line())

    stop = stop or asyncio.Event()
    timer = None
    try:
        if once:
            on_summary(await poller.poll_once())
            return summary_seen
        if duration is not None:
            timer = asyncio.get_running_loop().call_later(duration, stop.set)
        await poller.run(stop, on_summary=on_summary)
        return summary_seen
    finally:
        if timer is not None:
            timer.cancel()
        poller.close()
        reader.close()
        store.close()


def describe(server: DemoServer, db_path: Path, *, temporary: bool) -> str:
    """The banner for ``demo --headless``: where the feeds are and how to reproduce the run."""
    where = "a temporary database (removed on exit; pass --db PATH to keep it)" if temporary else str(db_path)
    return (f"crisiswatch demo: {len(server.timeline.outlets)} synthetic feeds at {server.base_url} "
            f"(seed {server.seed}, speed {server.speed:g}); {where}")


__all__ = ["FEED_LENGTH", "POLL_INTERVAL", "RELEASE_INTERVAL", "DemoServer", "Entry", "Outlet", "Timeline",
           "demo_config", "describe", "format_event", "headless", "load_timeline", "make_temp_dir",
           "parse_timeline", "sweep_stale_dirs"]
