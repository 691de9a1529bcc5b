"""Shared benchmark scaffolding: a realistic feed generator, loopback servers, RSS measurement.

poll.py, compare_newsboat.py, scale.py and soak.py all import this module so
every benchmark measures the same feeds served the same way. Everything here
talks to 127.0.0.1 only; every server and loop is bounded and stops by itself.

Run as a script it is the stdlib feed server (``python benchmarks/common.py
serve DIR``), so the server lives in its own process and neither its CPU nor
its memory is counted against the client being measured.
"""

from __future__ import annotations

import argparse
import contextlib
import email.utils
import gzip
import hashlib
import os
import platform
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.sax.saxutils import escape

from crisiswatch import feedwriter

LOOPBACK = "127.0.0.1"
HERE = Path(__file__).resolve().parent
REPO = HERE.parent
VENV_BIN = Path(sys.executable).parent
CRISISWATCH = str(VENV_BIN / "crisiswatch") if (VENV_BIN / "crisiswatch").exists() else "crisiswatch"

# -- the feed generator ------------------------------------------------------------
# Realistic news: 60–120 character headlines, 2–4 sentence HTML summaries
# (400–900 characters), Serbian and Albanian names with their diacritics, and
# roughly one item in six naming a crisis keyword. A 50-item feed is ~40 KB,
# about what a regional outlet's RSS weighs.

KEYWORDS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("KFOR", (), "high"),
    ("Ibar", ("Ibër", "Ибар"), "medium"),
    ("Vučić", ("Vucic", "Вучић", "Vuçiç"), "medium"),
    ("roadblock", ("roadblocks", "barricade", "barricades"), "high"),
    ("Kurti", ("Курти",), "medium"),
    ("Mitrovica", ("Mitrovicë", "Митровица"), "medium"),
    ("Jarinje", ("Jarinjë", "Јариње"), "high"),
    ("Zvečan", ("Zvecan", "Zveçan", "Звечан"), "medium"),
    ("Zubin Potok", ("Зубин Поток",), "medium"),
    ("Leposavić", ("Leposaviq", "Лепосавић"), "medium"),
    ("Brnjak", ("Bërnjak", "Брњак"), "high"),
    ("Banjska", ("Banjskë", "Бањска"), "critical"),
    ("EULEX", (), "low"),
)
"""The seeded crisis keywords (canonical term, aliases, severity), written into every benchmark config."""

_CRISIS_HEADLINES = (
    "KFOR increases patrols near {place} after overnight {thing}",
    "Vučić says Belgrade will not accept {thing} in northern Kosovo",
    "Kurti government orders police to clear {thing} near {place}",
    "Tension at the Ibar bridge in Mitrovica as crowds gather for a second day",
    "EULEX monitors report calm but tense situation at {place} crossing",
    "Serbs erect new roadblock on the road to {place}, police say",
    "Barricades remain at Jarinje as talks in Brussels stall",
    "Banjska monastery standoff: what we know so far",
    "Zvečan municipal building guarded by KFOR troops after clashes",
    "Leposavić residents protest arrest of former police officer",
    "Brnjak crossing closed to cargo traffic for third day",
    "Zubin Potok mayor resigns amid row over licence plates",
)
_PLACES = ("Jarinje", "Brnjak", "Zvečan", "Leposavić", "Zubin Potok", "Mitrovica", "Banjska", "Rudare")
_THINGS = ("roadblocks", "barricades", "a roadblock", "truck blockades", "protest camps")
_PLAIN_HEADLINES = (
    "Parliament passes budget after marathon overnight session in {city}",
    "Central bank holds interest rates steady as inflation eases to {n}.{m} percent",
    "Regional leaders meet in {city} to discuss energy prices and winter supply",
    "Football: {team} beat rivals {n}-{m} in a dramatic derby at a sold-out stadium",
    "Heavy snowfall closes mountain roads across the region for the second day",
    "Opposition calls for early elections as coalition talks collapse in {city}",
    "New motorway section opens, cutting travel time between {city} and the coast",
    "Health ministry launches flu vaccination campaign ahead of the winter season",
    "Tourism numbers up {n} percent on last year, statistics office says",
    "Court sentences former official to {n} years for abuse of office",
    "Farmers protest low milk prices with tractors outside the ministry in {city}",
    "Film festival in {city} announces programme with {n} regional premieres",
    "Wildfire near the coast under control after three days, firefighters say",
    "Students rally in {city} demanding better dormitory conditions",
    "Telecom regulator fines operator over repeated network outages",
)
_CITIES = ("Belgrade", "Prishtina", "Skopje", "Podgorica", "Sarajevo", "Tirana", "Zagreb", "Novi Sad", "Niš")
_TEAMS = ("Red Star", "Partizan", "Prishtina", "Dinamo", "Vardar", "Budućnost", "Željezničar")
_SENTENCES = (
    "Officials said the situation was being monitored closely and that further statements would follow.",
    "The decision was welcomed by some observers, while others warned it could deepen existing divisions.",
    "According to the statistics office, the figures are the highest recorded since the series began.",
    "Local residents told reporters they had not been informed in advance about the measures.",
    "The European Union urged both sides to show restraint and return to the dialogue table.",
    "Police said several people had been detained and an investigation was under way.",
    "A government spokesperson declined to comment on the details, citing the ongoing procedure.",
    "Analysts say the move reflects growing pressure ahead of next year's local elections.",
    "The ministry said the programme would be extended to smaller towns from the spring.",
    "Witnesses described long queues of vehicles waiting at the crossing since early morning.",
    "Opposition parties called the plan rushed and said it lacked proper public consultation.",
    "Traffic was diverted through neighbouring villages, adding hours to journeys.",
)
_CRISIS_SENTENCES = (
    "KFOR said its troops were deployed to keep freedom of movement and ensure a safe environment.",
    "Vučić told reporters in Belgrade that Serbia would 'protect its people' in northern Kosovo.",
    "Kurti accused Belgrade of orchestrating the roadblocks to destabilise the north.",
    "EULEX said it was in contact with all sides and urged calm around Mitrovica.",
    "Trucks were parked across the road at Jarinje, leaving the crossing impassable for a second night.",
    "In Zvečan, crowds gathered outside the municipal building as police reinforced the cordon.",
    "Na Ibru je situacija mirna, ali napeta, rekli su lokalni zvaničnici u Kosovskoj Mitrovici.",
    "Policia e Kosovës tha se situata në Leposaviq dhe Zubin Potok është nën kontroll.",
)
_AUTHORS = ("Staff reporter", "Milica Jovanović", "Arben Krasniqi", "Ana Petrović", "Besnik Gashi", "Newsdesk")
CRISIS_SHARE = 0.16
"""Share of generated items that name a crisis keyword (so a poll raises realistic numbers of alerts)."""


def _headline(rng: random.Random, crisis: bool) -> str:
    if crisis:
        text = rng.choice(_CRISIS_HEADLINES)
    else:
        text = rng.choice(_PLAIN_HEADLINES)
    return text.format(place=rng.choice(_PLACES), thing=rng.choice(_THINGS), city=rng.choice(_CITIES),
                       team=rng.choice(_TEAMS), n=rng.randint(2, 19), m=rng.randint(0, 9))


def _summary(rng: random.Random, crisis: bool, link: str) -> str:
    sentences = rng.sample(_SENTENCES, rng.randint(2, 4))
    if crisis:
        sentences.insert(rng.randint(0, len(sentences)), rng.choice(_CRISIS_SENTENCES))
    body = " ".join(sentences)
    return (f"<p>{escape(body)}</p><p>Read more on <a href=\"{escape(link)}\">our site</a> "
            f"&amp; follow our live coverage.</p>")


@dataclass(frozen=True, slots=True)
class FeedSpec:
    """One generated feed: where it lives on disk and under which URL path, and which validator it gets."""

    index: int
    path: str
    """URL path, e.g. ``/e/feed0007.xml`` (``/e/`` = ETag only, ``/m/`` = Last-Modified only)."""
    validator: str
    """"etag" or "last-modified"."""
    atom: bool


def render_feed(index: int, items: int, *, epoch: int = 0, atom: bool = False, base: datetime | None = None) -> bytes:
    """One feed document; ``epoch`` > 0 shifts the window so ``epoch`` new items sit on top.

    Deterministic for (index, item number): an item keeps its guid, title and text
    across epochs, so a re-poll of a changed feed stores only the new items.
    """
    base = base or datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    site = f"https://outlet{index:04d}.example.org"
    entries = []
    for k in range(epoch + items - 1, epoch - 1, -1):
        rng = random.Random(index * 1_000_003 + k)
        crisis = rng.random() < CRISIS_SHARE
        title = _headline(rng, crisis)
        link = f"{site}/news/{2026}/{k:06d}-{hashlib.md5(title.encode()).hexdigest()[:8]}"
        summary = _summary(rng, crisis, link)
        when = base + timedelta(minutes=7 * k - 6000)
        author = rng.choice(_AUTHORS)
        entries.append(feedwriter.Entry(
            title=title, link=link, id=f"tag:outlet{index:04d}.example.org,2026:{k}" if atom else f"outlet{index:04d}-{k}",
            permalink=None if atom else False, published=None if atom else when, updated=when if atom else None,
            summary=summary, summary_html=True, author=author))
    newest = base + timedelta(minutes=7 * (epoch + items - 1) - 6000)
    channel = feedwriter.Channel(f"Outlet {index:04d} — Balkans desk", link=f"{site}/",
                                 description="" if atom else "News from the region",
                                 language=None if atom else "en", updated=newest)
    return feedwriter.render("atom" if atom else "rss", channel, entries).encode("utf-8")


_MTIME_BASE = 1_764_000_000
"""Fixed file times (seconds) so Last-Modified is stable and whole-second honest."""


def write_feed(root: Path, spec: FeedSpec, items: int, epoch: int = 0) -> None:
    """Write (atomically) one feed file and give it a whole-second mtime that grows with ``epoch``."""
    target = root / spec.path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    tmp.write_bytes(render_feed(spec.index, items, epoch=epoch, atom=spec.atom))
    stamp = _MTIME_BASE + epoch * 10
    os.utime(tmp, (stamp, stamp))
    os.chmod(tmp, 0o644)
    os.replace(tmp, target)


def generate_feeds(root: Path, count: int, items: int = 50) -> list[FeedSpec]:
    """Write ``count`` feeds under ``root``: even ones ETag-validated, odd ones Last-Modified; every 5th Atom."""
    specs = []
    for i in range(count):
        kind = "e" if i % 2 == 0 else "m"
        spec = FeedSpec(i, f"/{kind}/feed{i:04d}.xml", "etag" if kind == "e" else "last-modified", atom=i % 5 == 4)
        write_feed(root, spec, items)
        specs.append(spec)
    os.chmod(root, 0o755)
    return specs


def write_config(path: Path, urls: Sequence[str], *, database: Path | None = None, timeout: str = "20s",
                 extra_settings: dict[str, object] | None = None) -> Path:
    """A feeds.toml for crisiswatch over the given URLs, with the seeded crisis keywords."""
    lines = ["[settings]", 'poll_interval = "5m"', f'timeout = "{timeout}"', 'max_feed_bytes = "10MB"',
             "bell = false"]
    if database is not None:
        lines.append(f'database = "{database}"')
    for key, value in (extra_settings or {}).items():
        lines.append(f"{key} = {value!r}" if not isinstance(value, str) else f'{key} = "{value}"')
    for n, url in enumerate(urls):
        lines += ["", "[[feeds]]", f'name = "feed {n:04d}"', f'url = "{url}"']
    for term, aliases, severity in KEYWORDS:
        alias_list = ", ".join(f'"{a}"' for a in aliases)
        lines += ["", "[[keywords]]", f'term = "{term}"', f"aliases = [{alias_list}]", f'severity = "{severity}"']
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# -- hostile endpoints (soak) -------------------------------------------------------
HOSTILE_KINDS: tuple[str, ...] = (
    "slow", "stall", "bomb", "endless", "500", "503", "429", "malformed", "html", "empty",
    "loop", "chain", "gone", "xxe", "laughs", "moved", "ansi", "huge", "404", "reset",
)
"""One behaviour per hostile feed, served only by the stdlib server under ``/hostile/<kind>``."""

_BOMB_MEMBER: bytes | None = None
_HUGE: bytes | None = None
_HOLD_SECONDS = 90
"""No hostile handler holds a connection longer than this, whatever the client does."""


def _bomb_member() -> bytes:
    """64 MB of zeros, gzipped (~64 KB); sent 16 times it inflates to 1 GB."""
    global _BOMB_MEMBER
    if _BOMB_MEMBER is None:
        _BOMB_MEMBER = gzip.compress(b"\0" * (64 << 20), compresslevel=9)
    return _BOMB_MEMBER


def _huge() -> bytes:
    """A valid ~5 MB feed (a slow parse that must not delay the other feeds)."""
    global _HUGE
    if _HUGE is None:
        _HUGE = render_feed(9999, 6000)
    return _HUGE


# -- the stdlib server --------------------------------------------------------------
class _FeedHandler(BaseHTTPRequestHandler):
    """Static files with honest conditional GET, plus the hostile endpoints."""

    protocol_version = "HTTP/1.1"
    server_version = "cwbench/1"
    root: Path = Path(".")
    _cache: dict[str, tuple[int, bytes, str]] = {}
    _lock = threading.Lock()

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _file(self, rel: str) -> tuple[int, bytes, str] | None:
        path = (self.root / rel.lstrip("/")).resolve()
        if self.root not in path.parents:
            return None
        try:
            st = path.stat()
        except OSError:
            return None
        with self._lock:
            hit = self._cache.get(rel)
            if hit is not None and hit[0] == st.st_mtime_ns:
                return hit
            body = path.read_bytes()
            entry = (st.st_mtime_ns, body, f'"{int(st.st_mtime):x}-{len(body):x}"')
            self._cache[rel] = entry
            return entry

    def _send(self, status: int, body: bytes = b"", ctype: str = "text/plain", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path.startswith("/hostile/"):
            self._hostile(path.split("/")[2], path)
            return
        entry = self._file(path)
        if entry is None:
            self._send(404, b"not found")
            return
        mtime_ns, body, etag = entry
        ctype = "application/atom+xml" if b"<feed " in body[:200] else "application/rss+xml"
        headers: dict[str, str] = {}
        if path.startswith("/e/"):
            headers["ETag"] = etag
            if self.headers.get("If-None-Match") == etag:
                self._send(304, headers=headers)
                return
        else:
            mtime = mtime_ns // 1_000_000_000
            headers["Last-Modified"] = email.utils.formatdate(mtime, usegmt=True)
            ims = self.headers.get("If-Modified-Since")
            if ims:
                try:
                    since = email.utils.parsedate_to_datetime(ims).timestamp()
                except (TypeError, ValueError):
                    since = None
                if since is not None and mtime <= since:
                    self._send(304, headers=headers)
                    return
        self._send(200, body, ctype, headers)

    def _hostile(self, kind: str, path: str) -> None:
        rss = "application/rss+xml"
        if kind == "slow":  # one byte a second: only a whole-request deadline stops it
            self.send_response(200)
            self.send_header("Content-Type", rss)
            self.send_header("Content-Length", "100000")
            self.end_headers()
            with contextlib.suppress(OSError):
                for _ in range(_HOLD_SECONDS):
                    self.wfile.write(b"<")
                    self.wfile.flush()
                    time.sleep(1)
            self.close_connection = True
        elif kind == "stall":  # headers, then nothing
            self.send_response(200)
            self.send_header("Content-Type", rss)
            self.send_header("Content-Length", "5000")
            self.end_headers()
            self.wfile.flush()
            time.sleep(_HOLD_SECONDS)
            self.close_connection = True
        elif kind == "bomb":
            member = _bomb_member()
            self.send_response(200)
            self.send_header("Content-Type", rss)
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(member) * 16))
            self.end_headers()
            with contextlib.suppress(OSError):
                for _ in range(16):
                    self.wfile.write(member)
            self.close_connection = True
        elif kind == "endless":  # valid-looking XML that never ends (close-delimited)
            self.send_response(200)
            self.send_header("Content-Type", rss)
            self.send_header("Connection", "close")
            self.end_headers()
            chunk = b"<item><title>again</title><description>" + b"x" * 8000 + b"</description></item>\n"
            with contextlib.suppress(OSError):
                self.wfile.write(b"<?xml version='1.0'?><rss version='2.0'><channel><title>endless</title>")
                deadline = time.monotonic() + _HOLD_SECONDS
                sent = 0
                while time.monotonic() < deadline and sent < 2 << 30:
                    self.wfile.write(chunk)
                    sent += len(chunk)
            self.close_connection = True
        elif kind in ("500", "404"):
            self._send(int(kind), b"<html><body>Internal error</body></html>", "text/html")
        elif kind == "503":
            self._send(503, b"overloaded", headers={"Retry-After": "2"})
        elif kind == "429":
            retry = email.utils.formatdate(time.time() + 3, usegmt=True)
            self._send(429, b"slow down", headers={"Retry-After": retry})
        elif kind == "malformed":
            body = render_feed(7777, 5)[:3000] + b"<item><title>broken &amp <b></channel>"
            self._send(200, body, rss)
        elif kind == "html":
            self._send(200, b"<!DOCTYPE html><html><head><title>Site</title></head><body><p>Not a feed</p>"
                       b"</body></html>", "text/html; charset=utf-8")
        elif kind == "empty":
            self._send(200, b"", rss)
        elif kind == "loop":
            nxt = "/hostile/loop/b" if path.endswith("/a") or path.rstrip("/").endswith("loop") else "/hostile/loop/a"
            self._send(302, headers={"Location": nxt})
        elif kind == "chain":
            hop = int(path.rsplit("/", 1)[-1]) if path.rsplit("/", 1)[-1].isdigit() else 0
            self._send(301, headers={"Location": f"/hostile/chain/{hop + 1}"})
        elif kind == "gone":
            self._send(410, b"gone")
        elif kind == "xxe":
            body = (b'<?xml version="1.0"?>\n<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
                    b'<rss version="2.0"><channel><title>xxe</title><item><title>leak &xxe;</title>'
                    b'<guid>xxe-1</guid><description>&xxe;</description></item></channel></rss>')
            self._send(200, body, rss)
        elif kind == "laughs":
            ents = ['<!ENTITY lol0 "lol">'] + [f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">'
                                              for i in range(1, 10)]
            body = ('<?xml version="1.0"?>\n<!DOCTYPE rss [' + "".join(ents) + ']>\n<rss version="2.0"><channel>'
                    '<title>laughs</title><item><title>&lol9;</title><guid>lol-1</guid></item></channel></rss>')
            self._send(200, body.encode(), rss)
        elif kind == "moved":
            self._send(301, headers={"Location": "/hostile/ansi/moved-here"})
        elif kind == "ansi":  # terminal escapes, bidi overrides, formula cells
            body = ('<?xml version="1.0"?><rss version="2.0"><channel><title>ansi</title>'
                    '<item><title>\x1b]0;pwned\x07KFOR \x1b[31mred\x1b[0m \u202etxet\u202c</title>'
                    '<guid>ansi-1</guid><description>=cmd|/c calc!A1</description></item></channel></rss>')
            self._send(200, body.encode("utf-8"), rss, {"ETag": '"ansi-1"'})
        elif kind == "huge":
            if self.headers.get("If-None-Match") == '"huge-1"':
                self._send(304, headers={"ETag": '"huge-1"'})
            else:
                self._send(200, _huge(), rss, {"ETag": '"huge-1"'})
        elif kind == "reset":  # accept, then slam the connection shut mid-headers
            with contextlib.suppress(OSError):
                self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Ty")
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
        else:
            self._send(404, b"unknown hostile kind")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024
    allow_reuse_address = True


def serve(root: Path, port: int = 0, seconds: float = 4 * 3600, ports: int = 1) -> None:
    """Serve ``root`` on 127.0.0.1 until killed, or ``seconds`` at most (never forever).

    ``ports`` > 1 listens on that many ports (one thread each): the client keys its
    per-host connection limit on host *and* port, so hostile feeds spread over
    several ports behave like several misbehaving sites, not one.
    """
    _FeedHandler.root = root.resolve()
    servers = [_Server((LOOPBACK, port if i == 0 else 0), _FeedHandler) for i in range(max(1, ports))]
    print("PORT " + " ".join(str(s.server_address[1]) for s in servers), flush=True)
    done = threading.Event()

    def shutdown() -> None:
        for s in servers:
            s.shutdown()
        done.set()

    timer = threading.Timer(seconds, shutdown)
    timer.daemon = True
    timer.start()
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=shutdown, daemon=True).start())
    for s in servers[1:]:
        threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.5}, daemon=True).start()
    servers[0].serve_forever(poll_interval=0.5)
    done.wait(5)


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


class FeedServer:
    """A loopback feed server for one benchmark run (context manager); ``url(path)`` builds feed URLs."""

    def status_counts(self, *, reset: bool = True) -> dict[int, int]:
        """Statuses served since the last reset; empty when the server cannot tell (stdlib)."""
        return {}

    kind = "server"
    process: subprocess.Popen[bytes] | None = None
    port: int = 0

    def url(self, path: str) -> str:
        return f"http://{LOOPBACK}:{self.port}{path}"

    def __enter__(self) -> FeedServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


class StdlibServer(FeedServer):
    """The threaded stdlib server in a child process (see :func:`serve`)."""

    kind = "stdlib ThreadingHTTPServer"

    def __init__(self, root: Path, *, max_seconds: float = 4 * 3600, ports: int = 1) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "serve", str(root), "--seconds", str(max_seconds),
             "--ports", str(ports)], stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
        assert self.process.stdout is not None
        line = self.process.stdout.readline().decode()
        if not line.startswith("PORT "):
            self.stop()
            raise RuntimeError(f"stdlib feed server did not start: {line!r}")
        self.ports = [int(p) for p in line.split()[1:]]
        self.port = self.ports[0]

    def url_on(self, n: int, path: str) -> str:
        """``path`` on the ``n``-th port (modulo how many there are)."""
        return f"http://{LOOPBACK}:{self.ports[n % len(self.ports)]}{path}"


NGINX_CONF = """\
worker_processes 1;
daemon off;
master_process on;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    log_format st "$status";
    access_log {tmp}/access.log st;
    client_body_temp_path {tmp}/client_body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    keepalive_requests 100000;
    keepalive_timeout 75s;
    sendfile on;
    types {{ application/rss+xml xml; }}
    server {{
        listen 127.0.0.1:{port};
        root {root};
        # ETag only: nginx checks If-None-Match; Last-Modified is removed from the response.
        location /e/ {{ etag on; add_header Last-Modified ""; }}
        # Last-Modified only: nginx checks If-Modified-Since (exact match).
        location /m/ {{ etag off; if_modified_since exact; }}
    }}
}}
"""


class NginxServer(FeedServer):
    """nginx with a generated config in a temp dir, 127.0.0.1 on a free port, files from disk."""

    kind = "nginx"

    def __init__(self, root: Path) -> None:
        binary = nginx_binary()
        if binary is None:
            raise RuntimeError("nginx is not installed")
        self.tmp = Path(tempfile.mkdtemp(prefix="cw-nginx-"))
        self.port = free_port()
        conf = self.tmp / "nginx.conf"
        conf.write_text(NGINX_CONF.format(tmp=self.tmp, port=self.port, root=root.resolve()))
        self.process = subprocess.Popen([binary, "-e", str(self.tmp / "error.log"), "-p", str(self.tmp),
                                         "-c", str(conf)], stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection((LOOPBACK, self.port), timeout=0.2):
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"nginx did not start: {(self.tmp / 'error.log').read_text(errors='replace')[-500:]}")

    def status_counts(self, *, reset: bool = True) -> dict[int, int]:
        """HTTP statuses served since the last reset (from nginx's access log), to prove 304s really happened."""
        log = self.tmp / "access.log"
        counts: dict[int, int] = {}
        with contextlib.suppress(OSError):
            for line in log.read_text().split():
                if line.isdigit():
                    counts[int(line)] = counts.get(int(line), 0) + 1
            if reset:
                with open(log, "w"):
                    pass  # truncate; nginx appends (O_APPEND), so the next line lands at offset 0
        return counts

    def stop(self) -> None:
        super().stop()
        shutil.rmtree(self.tmp, ignore_errors=True)


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx")
                                           if os.access(p, os.X_OK)), None)


def open_server(root: Path, *, prefer: str = "nginx") -> FeedServer:
    """nginx when installed (and preferred), else the stdlib server."""
    if prefer == "nginx" and nginx_binary() is not None:
        try:
            return NginxServer(root)
        except RuntimeError as exc:
            print(f"note: {exc}; falling back to the stdlib server", file=sys.stderr)
    return StdlibServer(root)


def check_conditional(server: FeedServer, specs: Sequence[FeedSpec]) -> str:
    """Prove the server gives honest 304s for both validator kinds (a benchmark on 200s would lie)."""
    import http.client

    results = []
    for spec in specs[:2]:
        conn = http.client.HTTPConnection(LOOPBACK, server.port, timeout=5)
        conn.request("GET", spec.path)
        resp = conn.getresponse()
        resp.read()
        etag, lm = resp.getheader("ETag"), resp.getheader("Last-Modified")
        headers = {"If-None-Match": etag} if spec.validator == "etag" else {"If-Modified-Since": lm or ""}
        conn.request("GET", spec.path, headers=headers)
        again = resp = conn.getresponse()
        again.read()
        conn.close()
        if again.status != 304 or (spec.validator == "etag") != bool(etag) or (spec.validator != "etag") != bool(lm):
            raise RuntimeError(f"{server.kind}: {spec.path} ({spec.validator}) gave etag={etag!r} lm={lm!r} "
                               f"then {again.status}, not an honest 304")
        results.append(f"{spec.validator}→304")
    return ", ".join(results)


# -- measuring a child process ----------------------------------------------------------
@dataclass(slots=True)
class Run:
    """One timed child process."""

    seconds: float
    peak_tree_rss: int
    """Peak of the summed RSS of the process and all its descendants (sampled every 10 ms), bytes."""
    max_rss: int
    """Largest single-process peak RSS among the child and its waited-for descendants (wait4), bytes."""
    returncode: int
    peak_tree_pss: int = 0
    """Peak of the summed PSS (shared pages split between the processes sharing them), sampled every 50 ms."""
    cpu: float = 0.0
    """CPU seconds (user + system) of the whole process tree: less sensitive than wall time to other load."""
    stderr: str = ""
    stdout_tail: str = ""
    samples: int = 0
    extra: dict[str, object] = field(default_factory=dict)


def _start_readers(proc: subprocess.Popen[bytes], out_chunks: list[bytes], err_chunks: list[bytes],
                   ) -> list[threading.Thread]:
    """Drain the child's stdout/stderr on threads (a full pipe would stall it), keeping the tails."""

    def drain(stream: object, sink: list[bytes]) -> None:
        for chunk in iter(lambda: stream.read(65536), b""):  # type: ignore[attr-defined]
            sink.append(chunk)
            if len(sink) > 64:
                del sink[:32]

    readers = [threading.Thread(target=drain, args=(proc.stdout, out_chunks), daemon=True),
               threading.Thread(target=drain, args=(proc.stderr, err_chunks), daemon=True)]
    for t in readers:
        t.start()
    return readers


def run_measured(argv: Sequence[str], *, env: dict[str, str] | None = None, cwd: Path | None = None,
                 timeout: float = 900.0, sample_every: float = 0.01, sample: bool = True) -> Run:
    """Run ``argv``; return wall seconds, peak tree RSS (psutil sampling) and wait4's ru_maxrss.

    ``sample=False`` times the run without the memory sampler: on a 2-core
    machine, reading every process's /proc (smaps for PSS) every 10 ms costs the
    measured tool real CPU — more for one with several processes than for a
    single-process one. Timed runs use it; memory comes from separate runs.
    """
    if not sample:
        return _run_timed(argv, env=env, cwd=cwd, timeout=timeout)
    import psutil

    started = time.perf_counter()
    proc = subprocess.Popen(list(argv), env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peak = 0
    peak_pss = 0
    cpu_by_pid: dict[int, float] = {}
    samples = 0
    stop = threading.Event()
    out_chunks: list[bytes] = []
    err_chunks: list[bytes] = []

    readers = _start_readers(proc, out_chunks, err_chunks)

    def sample() -> None:
        nonlocal peak, peak_pss, samples
        try:
            root = psutil.Process(proc.pid)
        except psutil.Error:
            return
        while not stop.is_set():
            total = 0
            pss = 0
            with_pss = samples % 5 == 0
            try:
                procs = [root, *root.children(recursive=True)]
            except psutil.Error:
                break
            for p in procs:
                with contextlib.suppress(psutil.Error):
                    total += p.memory_info().rss
                    times = p.cpu_times()
                    cpu_by_pid[p.pid] = max(cpu_by_pid.get(p.pid, 0.0), times.user + times.system)
                    if with_pss:
                        pss += p.memory_full_info().pss
            peak = max(peak, total)
            peak_pss = max(peak_pss, pss)
            samples += 1
            stop.wait(sample_every)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    deadline = time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            proc.kill()
            pid, status, usage = os.wait4(proc.pid, 0)
            break
        time.sleep(0.002)
    seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    stop.set()
    sampler.join()
    for t in readers:
        t.join(5)
    # wait4 counts the child and the descendants it reaped, exactly; sampling also sees
    # grandchildren reaped by someone else (a forkserver's workers), minus their last <10 ms.
    cpu = max(usage.ru_utime + usage.ru_stime, sum(cpu_by_pid.values()))
    return Run(seconds, peak, usage.ru_maxrss * 1024, proc.returncode, peak_pss, cpu,
               b"".join(err_chunks).decode(errors="replace")[-4000:],
               b"".join(out_chunks).decode(errors="replace")[-2000:], samples)


def _run_timed(argv: Sequence[str], *, env: dict[str, str] | None, cwd: Path | None, timeout: float) -> Run:
    """Wall and CPU seconds only: a blocking wait4 (no polling loop, no sampler), output drained by threads.

    CPU is that of the whole tree: this process becomes a child subreaper, so a
    descendant orphaned on the way out (crisiswatch's forkserver, which outlives
    crisiswatch by a moment) is re-parented here and reaped, and the growth of
    RUSAGE_CHILDREN counts every process the run started.
    """
    import resource

    import psutil

    _become_subreaper()
    known = {c.pid for c in psutil.Process().children()}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out_chunks: list[bytes] = []
    err_chunks: list[bytes] = []
    started = time.perf_counter()
    proc = subprocess.Popen(list(argv), env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    readers = _start_readers(proc, out_chunks, err_chunks)
    watchdog = threading.Timer(timeout, proc.kill)
    watchdog.start()
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        watchdog.cancel()
    seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    for t in readers:
        t.join(5)
    _reap_orphans(known)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Run(seconds, 0, usage.ru_maxrss * 1024, proc.returncode, 0, max(cpu, usage.ru_utime + usage.ru_stime),
               b"".join(err_chunks).decode(errors="replace")[-4000:],
               b"".join(out_chunks).decode(errors="replace")[-2000:], 0)


def _become_subreaper() -> None:
    """Linux: orphaned descendants of our children are re-parented to us (prctl PR_SET_CHILD_SUBREAPER)."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)


def _reap_orphans(known: set[int], timeout: float = 10.0) -> None:
    """Wait for (and reap) children that were not there before the run: re-parented orphans."""
    import psutil

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        extra = [c.pid for c in psutil.Process().children() if c.pid not in known]
        if not extra:
            return
        for pid in extra:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
        time.sleep(0.005)


def crisiswatch_poll(config: Path, db: Path, *, env: dict[str, str] | None = None, sample: bool = True) -> Run:
    """``crisiswatch --config C --db D poll --once`` as a measured subprocess; raises if it failed."""
    run = run_measured([CRISISWATCH, "--config", str(config), "--db", str(db), "poll", "--once"], env=env,
                       sample=sample)
    if run.returncode != 0:
        raise RuntimeError(f"crisiswatch poll failed ({run.returncode}): {run.stderr[-1500:]}")
    return run


def summary_line(run: Run) -> str:
    """The ``polled N feeds …`` line crisiswatch prints last on stderr."""
    lines = [line for line in run.stderr.splitlines() if line.startswith("polled ")]
    return lines[-1] if lines else run.stderr.strip().splitlines()[-1:][0] if run.stderr.strip() else ""


PYCACHE = Path(tempfile.gettempdir()) / "crisiswatch-bench-pycache"
"""Bytecode cache for the measured children (outside the repo), kept between runs."""


def quiet_env(home: Path) -> dict[str, str]:
    """A child environment with its own HOME/XDG dirs (nothing of the user's is read or written), no proxies.

    Bytecode is cached (in :data:`PYCACHE`) even when the caller's environment sets
    PYTHONDONTWRITEBYTECODE: an installed crisiswatch runs from .pyc files, and
    recompiling every module on every run would charge the tool for a sandbox quirk.
    """
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower() and k != "PYTHONDONTWRITEBYTECODE"}
    env.update(PYTHONPYCACHEPREFIX=str(PYCACHE), HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), XDG_DATA_HOME=str(home / ".local/share"),
               XDG_CACHE_HOME=str(home / ".cache"), XDG_STATE_HOME=str(home / ".local/state"),
               NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
    return env


def prime_bytecode(env: dict[str, str]) -> None:
    """Compile crisiswatch's modules into the bytecode cache once, untimed (like a first run after install)."""
    subprocess.run([sys.executable, "-c", "import crisiswatch.cli, crisiswatch.commands.poll, crisiswatch.poller, "
                    "crisiswatch.fetch, crisiswatch.parse, crisiswatch.match, crisiswatch.export, feedparser"],
                   env=env, check=False, stdin=subprocess.DEVNULL)


def mb(n: float) -> str:
    return f"{n / (1 << 20):.1f} MB"


def median(values: Sequence[float]) -> float:
    s = sorted(values)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def machine_notes() -> str:
    """One line describing where the figures came from."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    try:
        import psutil

        mem = f"{psutil.virtual_memory().total / (1 << 30):.0f} GB RAM"
    except ImportError:
        mem = "? RAM"
    load = "/".join(f"{x:.1f}" for x in os.getloadavg())
    return (f"{cpu}, {os.cpu_count()} cores, {mem}, Linux {platform.release()}, Python {platform.python_version()}, "
            f"SQLite {sqlite3.sqlite_version}; load average {load} (other work on the machine inflates timings)")


@contextlib.contextmanager
def workdir(prefix: str, keep: bool = False) -> Iterator[Path]:
    """A temp dir removed afterwards (unless ``keep``)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    os.chmod(path, 0o755)
    try:
        yield path
    finally:
        if keep:
            print(f"kept {path}", file=sys.stderr)
        else:
            shutil.rmtree(path, ignore_errors=True)


def _main() -> None:
    parser = argparse.ArgumentParser(description="benchmark helpers")
    sub = parser.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve", help="serve a feed directory on 127.0.0.1 (stdlib server)")
    s.add_argument("root", type=Path)
    s.add_argument("--port", type=int, default=0)
    s.add_argument("--seconds", type=float, default=4 * 3600, help="stop after this long at most")
    s.add_argument("--ports", type=int, default=1, help="listen on this many ports")
    g = sub.add_parser("generate", help="write N feeds into a directory")
    g.add_argument("root", type=Path)
    g.add_argument("--feeds", type=int, default=200)
    g.add_argument("--items", type=int, default=50)
    args = parser.parse_args()
    if args.cmd == "serve":
        serve(args.root, args.port, args.seconds, args.ports)
    else:
        specs = generate_feeds(args.root, args.feeds, args.items)
        total = sum((args.root / s.path.lstrip("/")).stat().st_size for s in specs)
        print(f"{len(specs)} feeds, {total / len(specs) / 1024:.1f} KB each on average")


if __name__ == "__main__":
    _main()
