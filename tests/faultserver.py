"""A loopback HTTP server that misbehaves on purpose, one endpoint per fault.

crisiswatch must survive servers it does not control (issue 6), and the only
honest proof is a real socket that trickles, stalls, bombs, redirects in
circles or serves hostile XML. This server is stdlib only
(``ThreadingHTTPServer`` on 127.0.0.1, port 0, in a daemon thread) so the
test suite, the soak benchmark and a developer at a shell can all use it::

    with FaultServer() as srv:          # or the ``fault_server`` pytest fixture
        url = srv.url("/stall-body?seconds=30")

Benchmarks import it with ``sys.path.insert(0, "<repo>/tests")`` then
``from faultserver import FaultServer``; ``python tests/faultserver.py``
serves until interrupted and prints the base URL.

Every request is recorded (``srv.requests``, newest 10,000) so tests can prove
what a client did — or that nothing fetched at all; ``srv.max_in_flight``
counts concurrency; ``srv.errors`` lists endpoint crashes (the fixtures fail
the test session on any). ``FaultServer(tls=(cert, key))`` serves HTTPS. Stalling handlers wake every 50 ms and
return as soon as the client disconnects or the server stops, so cut-off
clients never leave threads behind for long.

Endpoints (query parameters in brackets, defaults after ``=``):

================================  ==============================================================
``/rss`` [n=5, title, tag, delay]  valid RSS 2.0 with n items (``delay`` seconds before answering)
``/fixtures/<file>`` [ct]          a file from tests/fixtures (content type from the extension)
``/trickle`` [interval=1, size]    Content-Length header, then one byte per interval
``/stall-headers`` [seconds=60]    accepts the request and never answers
``/stall-body`` [seconds=60]       headers and the start of a body, then silence
``/hangup``                        closes the connection without answering
``/endless``                       200 without length, XML forever (until the client leaves)
``/bomb`` [enc=gzip, gb=1]         gzip|deflate|rawdeflate|br of gb GiB of zeros, generated lazily
``/double-gzip`` [ct=text/html]    ``Content-Encoding: gzip, gzip``: ~11 KB that inflate to 2 GiB of zeros
``/oversized`` [mb=12, length=1]   a plain body of mb MB; length=0 omits Content-Length
``/big`` [mb=5]                    a valid RSS feed of about mb MB (many items)
``/gzip-feed`` ``/deflate-feed``   a valid feed compressed properly ([raw=1] for raw deflate)
``/br-feed``                       …and brotli
``/redirect`` [code=301, to=/rss]  one redirect
``/chain`` [hops=6, codes=301, i]  a chain of hops redirects ending at /rss; codes is a list
``/loop/a`` ``/loop/b``            a → b → a …
``/status`` [code=500]             that status with a small body (410, 500, 404, …)
``/ratelimit`` [code=429, retry]   Retry-After: seconds, or ``date:N`` → an HTTP date N s ahead
``/html``                          an HTML page served as text/html
``/empty``                         200 with an empty body
``/malformed``                     broken XML
``/not-a-feed``                    well-formed XML that is no feed
``/xxe`` [path, style]             external entity to ``file://<path>``; style=general|parameter|
                                   comment|utf16|oneline
``/billion-laughs``                nested entity expansion
``/quadratic``                     one large entity referenced many times
``/external-dtd``                  DOCTYPE SYSTEM pointing back at this server (/dtd)
``/encoded`` [charset, declare]    Serbian titles in cp1250|iso-8859-2|utf-16; declare=http|xml|both,
                                   or wrong (claims UTF-8, sends charset)
``/ansi``                          titles with ANSI escapes, control chars and bidi overrides
``/long-title``                    a 5000-character title and 20000-character summary
``/future-dates`` ``/no-dates``    dated in 2099 / undated items
``/no-guid``                       items with neither guid nor link
``/duplicates``                    the same items repeated inside one document
``/bad-links``                     javascript:, data: and relative links
``/etag`` [tag="v1"]               ETag; If-None-Match match → 304
``/last-modified``                 Last-Modified; If-Modified-Since match → 304
``/slow`` [delay=0.3]              a valid feed after delay; the server counts concurrency
================================  ==============================================================
"""

from __future__ import annotations

import gzip
import select
import socket
import ssl
import sys
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import brotli

from crisiswatch import feedwriter
from crisiswatch.feedwriter import Channel, Entry, Raw

FIXTURES = Path(__file__).parent / "fixtures"

SERBIAN_TITLES = (
    "Vučić: Srbija neće priznati Kosovo",
    "KFOR pojačao patrole kod Jarinja i Brnjaka",
    "Kurti: barikade na severu moraju biti uklonjene - Zvečan, Leposavić",
    "ČĆŽŠĐ čćžšđ: Ibar, Mitrovica, Zubin Potok",
)
"""Every Latin letter with a diacritic that cp1250 and ISO-8859-2 must carry."""

LAST_MODIFIED = "Wed, 25 Nov 2026 10:00:00 GMT"


@dataclass(frozen=True)
class Recorded:
    """One request as the server saw it."""

    method: str
    path: str
    headers: dict[str, str]
    client_port: int
    at: float = field(default_factory=time.monotonic)


def rss(
    items: list[dict[str, str]],
    *,
    title: str = "Fault server feed",
    encoding: str = "utf-8",
    declare: bool = True,
    prolog: str = "",
) -> str:
    """An RSS 2.0 document (as text; the caller encodes it). Item keys: title, link, guid, description, pubDate.

    Written by the one feed writer; a ``<![CDATA[`` title or description, and every pubDate (fault
    tests send broken ones), go in as they are.
    """
    def raw_if_cdata(value: str | None) -> str | None:
        return Raw(value) if value is not None and value.startswith("<![CDATA[") else value

    entries = [Entry(title=raw_if_cdata(item.get("title")) or "", link=item.get("link"), id=item.get("guid"),
                     published=item.get("pubDate"), summary=raw_if_cdata(item.get("description")))
               for item in items]
    return feedwriter.rss(Channel(title, description="test"), entries, encoding=encoding if declare else None,
                          prolog=prolog)


def simple_items(n: int, tag: str = "x", start: datetime | None = None) -> list[dict[str, str]]:
    start = start or datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    return [
        {
            "title": f"{SERBIAN_TITLES[i % len(SERBIAN_TITLES)]} ({tag} {i})",
            "link": f"https://news.example/{tag}/{i}",
            "guid": f"urn:fault:{tag}:{i}",
            "description": f"KFOR and EULEX at the Ibar bridge, report {i} of {tag}.",
            "pubDate": format_datetime(start + timedelta(minutes=i)),
        }
        for i in range(n)
    ]


_big_cache: dict[int, bytes] = {}
_big_lock = threading.Lock()


def big_feed(mb: float) -> bytes:
    """A valid feed of about ``mb`` MB; cached because building 5 MB per request is wasteful."""
    key = int(mb * 1000)
    with _big_lock:
        if key not in _big_cache:
            filler = "Roadblocks near Jarinje and Brnjak; KFOR patrols the Ibar. " * 20
            items = []
            size = 0
            i = 0
            while size < mb * 1_000_000:
                item = {
                    "title": f"{SERBIAN_TITLES[i % 4]} #{i}",
                    "link": f"https://big.example/{i}",
                    "guid": f"urn:big:{i}",
                    "description": filler,
                    "pubDate": format_datetime(datetime(2026, 11, 25, tzinfo=UTC) - timedelta(minutes=i)),
                }
                size += len(filler) + 200
                items.append(item)
                i += 1
            _big_cache[key] = rss(items, title="Big feed").encode()
        return _big_cache[key]


_bomb_cache: dict[str, tuple[bytes, bytes, bytes]] = {}
_BOMB_SEGMENT = 8 << 20


def _bomb_parts(enc: str) -> tuple[bytes, bytes, bytes]:
    """(head, repeatable segment, tail) of a compressed stream of zeros, built once per encoding.

    After a full flush the compressor has no history, so every further 8 MiB
    of zeros compresses to the *same* ~8 KB: the stream is head + segment × N +
    tail, costing nothing to serve. The tail's checksum covers two segments
    only, so a client reading to the very end sees a corrupt stream — none of
    ours should get that far.
    """
    with _big_lock:
        if enc not in _bomb_cache:
            block = bytes(_BOMB_SEGMENT)
            if enc == "br":
                comp = brotli.Compressor(quality=1)
                head = comp.process(block) + comp.flush()
                seg = comp.process(block) + comp.flush()
                tail = comp.finish()
            else:
                wbits = {"gzip": 31, "deflate": 15, "rawdeflate": -15}[enc]
                zc = zlib.compressobj(9, zlib.DEFLATED, wbits)
                head = zc.compress(block) + zc.flush(zlib.Z_FULL_FLUSH)
                seg = zc.compress(block) + zc.flush(zlib.Z_FULL_FLUSH)
                tail = zc.flush()
            _bomb_cache[enc] = (head, seg, tail)
        return _bomb_cache[enc]


_double_gzip: list[bytes] = []


def double_gzip_bomb() -> bytes:
    """gzip(gzip(2 GiB of zeros)), about 11 KB: the inner stream is one segment repeated, which the
    outer gzip squeezes again. A client that undoes one layer holds 2 MB; both layers unbounded, 2 GiB."""
    head, seg, tail = _bomb_parts("gzip")  # takes _big_lock itself
    with _big_lock:
        if not _double_gzip:
            outer = zlib.compressobj(1, zlib.DEFLATED, 31)
            parts = [outer.compress(head)]
            parts += [outer.compress(seg) for _ in range((2 << 30) // _BOMB_SEGMENT - 1)]
            parts += [outer.compress(tail), outer.flush()]
            _double_gzip.append(b"".join(parts))
    return _double_gzip[0]


def _bomb_chunks(enc: str, total: int) -> Iterator[bytes]:
    """Write-sized pieces of a bomb inflating to ``total`` bytes; each piece inflates to 64 MiB."""
    head, seg, tail = _bomb_parts(enc)
    yield head
    per_write = 8
    remaining = max(0, total // _BOMB_SEGMENT - 1)
    while remaining > 0:
        n = min(per_write, remaining)
        yield seg * n
        remaining -= n
    yield tail


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 256
    allow_reuse_address = True

    def __init__(self, addr: tuple[str, int], owner: FaultServer) -> None:
        super().__init__(addr, _Handler)
        self.owner = owner

    def handle_error(self, request: object, client_address: object) -> None:
        """Clients hanging up is the normal case here; anything else is a bug in an endpoint."""
        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError | TimeoutError):
            return
        with self.owner._lock:
            self.owner.errors.append(repr(exc))
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    """Headers and body go out as separate writes; with Nagle on, the body of every reply on a
    kept-alive connection waited for the client's delayed ACK (~40 ms a request)."""
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        pass

    # -- plumbing ------------------------------------------------------------
    def setup(self) -> None:
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(5)
            try:
                self.request.do_handshake()
            except (ssl.SSLError, OSError):
                self.close_connection = True
        super().setup()

    def do_GET(self) -> None:
        owner = self.server.owner
        parts = urlsplit(self.path)
        self.q = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        owner._record(Recorded("GET", self.path, {k.lower(): v for k, v in self.headers.items()},
                               self.client_address[1]))
        route = parts.path.strip("/").split("/")[0].replace("-", "_") or "rss"
        handler = getattr(self, f"ep_{route}", None)
        owner._enter()
        try:
            if handler is None:
                self.send_body(404, b"no such fault endpoint\n", "text/plain")
            else:
                handler(parts.path)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError):
            self.close_connection = True
        finally:
            owner._leave()

    def send_body(self, status: int, body: bytes, ctype: str = "application/rss+xml; charset=utf-8",
                  headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def start_stream(self, status: int = 200, ctype: str = "application/rss+xml; charset=utf-8",
                     headers: dict[str, str] | None = None) -> None:
        """Headers for a close-delimited body (no Content-Length)."""
        self.close_connection = True
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Connection", "close")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.flush()

    def idle(self, seconds: float) -> bool:
        """Wait up to ``seconds``; False as soon as the client hangs up or the server stops."""
        end = time.monotonic() + seconds
        stopping = self.server.owner._stopping
        while time.monotonic() < end:
            if stopping.is_set():
                return False
            if isinstance(self.connection, ssl.SSLSocket):  # no MSG_PEEK on TLS: just wait
                time.sleep(0.05)
                continue
            try:
                readable, _, _ = select.select([self.connection], [], [], 0.05)
                if readable and not self.connection.recv(1, socket.MSG_PEEK):
                    return False
            except (OSError, ValueError):
                return False
            if readable:
                time.sleep(0.05)
        return True

    def redirect(self, code: int, to: str) -> None:
        self.send_body(code, b"", "text/plain", {"Location": to})

    def feed(self, items: list[dict[str, str]], **kw: object) -> None:
        self.send_body(200, rss(items, **kw).encode())  # type: ignore[arg-type]

    # -- well-behaved ----------------------------------------------------------
    def ep_rss(self, path: str) -> None:
        delay = float(self.q.get("delay", 0))
        if delay and not self.idle(delay):
            return
        n = int(self.q.get("n", 5))
        self.feed(simple_items(n, self.q.get("tag", "rss")), title=self.q.get("title", "Fault server feed"))

    def ep_slow(self, path: str) -> None:
        if self.idle(float(self.q.get("delay", 0.3))):
            self.feed(simple_items(2, "slow"))

    def ep_fixtures(self, path: str) -> None:
        name = path.split("/", 2)[2]
        file = (FIXTURES / name).resolve()
        if FIXTURES.resolve() not in file.parents or not file.is_file():
            self.send_body(404, b"no such fixture", "text/plain")
            return
        ctype = self.q.get("ct") or {
            ".rdf": "application/rdf+xml", ".atom": "application/atom+xml", ".html": "text/html; charset=utf-8",
        }.get(file.suffix, "application/xml")
        self.send_body(200, file.read_bytes(), ctype)

    def ep_gzip_feed(self, path: str) -> None:
        body = gzip.compress(rss(simple_items(5, "gz")).encode())
        self.send_body(200, body, headers={"Content-Encoding": "gzip"})

    def ep_deflate_feed(self, path: str) -> None:
        wbits = -15 if self.q.get("raw") == "1" else 15
        comp = zlib.compressobj(6, zlib.DEFLATED, wbits)
        body = comp.compress(rss(simple_items(5, "deflate")).encode()) + comp.flush()
        self.send_body(200, body, headers={"Content-Encoding": "deflate"})

    def ep_br_feed(self, path: str) -> None:
        self.send_body(200, brotli.compress(rss(simple_items(5, "br")).encode()), headers={"Content-Encoding": "br"})

    def ep_big(self, path: str) -> None:
        self.send_body(200, big_feed(float(self.q.get("mb", 5))))

    def ep_etag(self, path: str) -> None:
        tag = self.q.get("tag", '"v1"')
        if self.headers.get("If-None-Match") == tag:
            self.send_response(304)
            self.send_header("ETag", tag)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_body(200, rss(simple_items(3, "etag")).encode(), headers={"ETag": tag})

    def ep_last_modified(self, path: str) -> None:
        if self.headers.get("If-Modified-Since") == LAST_MODIFIED:
            self.send_response(304)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_body(200, rss(simple_items(3, "lm")).encode(), headers={"Last-Modified": LAST_MODIFIED})

    # -- time ------------------------------------------------------------------
    def ep_trickle(self, path: str) -> None:
        body = rss(simple_items(3, "trickle")).encode()
        size = int(self.q.get("size", len(body)))
        body = (body * (size // len(body) + 1))[:size]
        interval = float(self.q.get("interval", 1.0))
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml")
        self.send_header("Content-Length", str(size))
        self.end_headers()
        self.wfile.flush()
        for i in range(size):
            self.wfile.write(body[i:i + 1])
            self.wfile.flush()
            if not self.idle(interval):
                return

    def ep_stall_headers(self, path: str) -> None:
        self.idle(float(self.q.get("seconds", 60)))
        self.close_connection = True

    def ep_hangup(self, path: str) -> None:
        """Close the connection without a response (a crashed backend behind a proxy)."""
        self.close_connection = True

    def ep_stall_body(self, path: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml")
        self.send_header("Content-Length", "100000")
        self.end_headers()
        self.wfile.write(b'<?xml version="1.0"?><rss version="2.0"><channel><title>stall')
        self.wfile.flush()
        self.idle(float(self.q.get("seconds", 60)))
        self.close_connection = True

    # -- size ------------------------------------------------------------------
    def ep_endless(self, path: str) -> None:
        self.start_stream()
        self.wfile.write(b'<?xml version="1.0"?><rss version="2.0"><channel><title>endless</title>')
        chunk = b"<item><title>again and again</title></item>" * 1500
        sent = 0
        while sent < 20 * 1024**3 and not self.server.owner._stopping.is_set():
            self.wfile.write(chunk)
            sent += len(chunk)

    def ep_bomb(self, path: str) -> None:
        enc = self.q.get("enc", "gzip")
        total = int(float(self.q.get("gb", 1)) * 1024**3)
        header = "deflate" if enc == "rawdeflate" else enc
        self.start_stream(headers={"Content-Encoding": header})
        for out in _bomb_chunks(enc, total):
            if self.server.owner._stopping.is_set():
                return
            self.wfile.write(out)

    def ep_double_gzip(self, path: str) -> None:
        self.send_body(200, double_gzip_bomb(), self.q.get("ct", "text/html"),
                       headers={"Content-Encoding": "gzip, gzip"})

    def ep_oversized(self, path: str) -> None:
        size = int(float(self.q.get("mb", 12)) * 1_000_000)
        block = b"<!-- padding padding padding -->\n" * 2000
        if self.q.get("length", "1") == "1":
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", str(size))
            self.end_headers()
        else:
            self.start_stream()
        sent = 0
        while sent < size:
            piece = block[: size - sent]
            self.wfile.write(piece)
            sent += len(piece)

    # -- redirects and statuses ----------------------------------------------
    def ep_redirect(self, path: str) -> None:
        self.redirect(int(self.q.get("code", 301)), self.q.get("to", "/rss"))

    def ep_chain(self, path: str) -> None:
        hops = int(self.q.get("hops", 6))
        i = int(self.q.get("i", 0))
        codes = [int(c) for c in self.q.get("codes", "301").split(",")]
        if i >= hops:
            self.feed(simple_items(2, "chain-end"))
            return
        nxt = urlencode({"hops": hops, "codes": ",".join(map(str, codes)), "i": i + 1})
        self.redirect(codes[i % len(codes)], f"/chain?{nxt}")

    def ep_loop(self, path: str) -> None:
        other = "/loop/b" if path.rstrip("/").endswith("/a") else "/loop/a"
        self.redirect(int(self.q.get("code", 302)), other)

    def ep_status(self, path: str) -> None:
        code = int(self.q.get("code", 500))
        self.send_body(code, f"<html><body>status {code}</body></html>".encode(), "text/html")

    def ep_ratelimit(self, path: str) -> None:
        code = int(self.q.get("code", 429))
        retry = self.q.get("retry", "120")
        if retry.startswith("date:"):
            when = datetime.now(UTC) + timedelta(seconds=float(retry[5:]))
            retry = format_datetime(when, usegmt=True)
        self.send_body(code, b"slow down", "text/plain", {"Retry-After": retry})

    # -- content ---------------------------------------------------------------
    def ep_html(self, path: str) -> None:
        page = (b"<!DOCTYPE html>\n<html lang='sr'><head><title>Naslovna - Vesti</title></head>"
                b"<body><h1>Dobrodo\xc5\xa1li</h1><p>This is a web page, not a feed.</p></body></html>")
        self.send_body(200, page, "text/html; charset=utf-8")

    def ep_empty(self, path: str) -> None:
        self.send_body(200, b"", "application/rss+xml")

    def ep_malformed(self, path: str) -> None:
        self.send_body(200, b'<?xml version="1.0"?><rss version="2.0"><channel><title>Broken<item><tit',
                       "application/rss+xml")

    def ep_not_a_feed(self, path: str) -> None:
        self.send_body(200, b'<?xml version="1.0"?><config><setting name="a">1</setting></config>',
                       "application/xml")

    def ep_xxe(self, path: str) -> None:
        target = "file://" + self.q.get("path", "/etc/passwd")
        style = self.q.get("style", "general")
        item = {"title": "PLACEHOLDER", "link": "https://news.example/xxe", "guid": "urn:xxe",
                "description": "PLACEHOLDER"}
        body: bytes
        if style == "parameter":
            prolog = (f'<!DOCTYPE rss [<!ENTITY % ext SYSTEM "{target}">\n'
                      f'<!ENTITY % wrap "<!ENTITY leak \'%ext;\'>">\n%wrap;\n]>\n')
        elif style == "comment":
            # A '<b' inside an entity value ends feedparser's own prolog scan early.
            prolog = (f'<!DOCTYPE rss [\n<!ENTITY decoy "<b>x</b>">\n'
                      f'<!ENTITY leak SYSTEM "{target}">\n]>\n')
        elif style == "oneline":
            prolog = f'<!DOCTYPE rss [<!ENTITY leak SYSTEM "{target}">]>'
        else:
            prolog = f'<!DOCTYPE rss [\n<!ENTITY leak SYSTEM "{target}">\n]>\n'
        text = rss([item], title="XXE &leak;", prolog=prolog).replace("PLACEHOLDER", "before &leak; after")
        if style == "utf16":
            text = text.replace('encoding="utf-8"', 'encoding="utf-16"')
            body = text.encode("utf-16")
            self.send_body(200, body, "application/xml")
            return
        self.send_body(200, text.encode(), "application/rss+xml")

    def ep_billion_laughs(self, path: str) -> None:
        ents = ['<!ENTITY lol "lol">'] + [
            f'<!ENTITY lol{i} "{("&lol;" if i == 1 else f"&lol{i - 1};") * 10}">' for i in range(1, 10)
        ]
        prolog = "<!DOCTYPE rss [\n" + "\n".join(ents) + "\n]>\n"
        item = {"title": "LAUGH", "link": "https://news.example/lol", "guid": "urn:lol", "description": "LAUGH"}
        text = rss([item], title="&lol9;", prolog=prolog).replace("LAUGH", "&lol9;")
        self.send_body(200, text.encode())

    def ep_quadratic(self, path: str) -> None:
        prolog = '<!DOCTYPE rss [\n<!ENTITY big "' + "A" * 100_000 + '">\n]>\n'
        item = {"title": "BIG", "link": "https://news.example/q", "guid": "urn:q", "description": "BIG"}
        text = rss([item], title="quadratic", prolog=prolog).replace("BIG", "&big;" * 20_000)
        self.send_body(200, text.encode())

    def ep_external_dtd(self, path: str) -> None:
        host, port = self.server.server_address[:2]
        prolog = (f'<?xml-stylesheet type="text/xsl" href="http://{host}:{port}/xsl"?>\n'
                  f'<!DOCTYPE rss SYSTEM "http://{host}:{port}/dtd">\n')
        text = rss(simple_items(1, "dtd"), prolog=prolog).replace("(dtd 0)", "(dtd 0) &leak;")
        self.send_body(200, text.encode())

    def ep_dtd(self, path: str) -> None:
        self.send_body(200, b'<!ENTITY leak "FETCHED-DTD">', "application/xml-dtd")

    def ep_encoded(self, path: str) -> None:
        charset = self.q.get("charset", "cp1250")
        declare = self.q.get("declare", "both")
        xml_name = {"cp1250": "windows-1250"}.get(charset, charset)
        items = [{"title": t, "link": f"https://vesti.example/{i}", "guid": f"urn:enc:{i}",
                  "description": f"{t} - opis"} for i, t in enumerate(SERBIAN_TITLES)]
        if declare == "wrong":  # the server claims UTF-8 everywhere but sends legacy bytes
            text = rss(items, title="Vesti - Srbija", encoding="utf-8")
            self.send_body(200, text.encode(charset), "application/rss+xml; charset=utf-8")
            return
        text = rss(items, title="Vesti - Srbija", encoding=xml_name, declare=declare in ("xml", "both"))
        body = text.encode(charset)
        ctype = "application/rss+xml"
        if declare in ("http", "both"):
            ctype += f"; charset={xml_name}"
        self.send_body(200, body, ctype)

    def ep_ansi(self, path: str) -> None:
        items = [
            {"title": "\x1b[2J\x1b[31mKFOR\x1b[0m at Jarinje\x07", "link": "https://news.example/a1",
             "guid": "urn:ansi:1", "description": "\x1b]0;pwned title\x07summary \x1b[5mblink\x1b[0m"},
            {"title": "Vu\u010di\u0107 \u202egnp.exe\u202c says \u2066hi\u2069", "link": "https://news.example/a2",
             "guid": "urn:ansi:2", "description": "zero\u200bwidth and \u202dLRO\u202c"},
            {"title": "C1 \u009b31m control \u0085 chars", "link": "https://news.example/a3", "guid": "urn:ansi:3",
             "description": "&lt;script&gt;alert(1)&lt;/script&gt; escaped \x1bP+q\x1b\\"},
        ]
        # Raw C0 controls are not legal XML; feeds that carry them get parsed by the loose parser.
        self.send_body(200, rss(items).encode())

    def ep_long_title(self, path: str) -> None:
        items = [{"title": "Dugačak naslov " * 400, "link": "https://news.example/long", "guid": "urn:long",
                  "description": "Opis " * 5000}]
        self.feed(items)

    def ep_future_dates(self, path: str) -> None:
        items = simple_items(2, "future", start=datetime(2099, 1, 1, tzinfo=UTC))
        self.feed(items)

    def ep_no_dates(self, path: str) -> None:
        items = simple_items(2, "nodate")
        for it in items:
            del it["pubDate"]
        self.feed(items)

    def ep_no_guid(self, path: str) -> None:
        items = [{"title": f"Untraceable {i}", "description": f"No guid, no link {i}"} for i in range(3)]
        self.feed(items)

    def ep_duplicates(self, path: str) -> None:
        base = simple_items(3, "dup")
        plain = [{"title": "Same words", "description": "Same summary"}] * 2
        self.feed(base + base + [base[0]] + plain)

    def ep_bad_links(self, path: str) -> None:
        items = [
            {"title": "js", "link": "javascript:alert(document.cookie)", "guid": "urn:bad:1"},
            {"title": "data", "link": "data:text/html,<script>alert(1)</script>", "guid": "urn:bad:2"},
            {"title": "relative", "link": "/news/relative-1", "guid": "urn:bad:3"},
            {"title": "file", "link": "file:///etc/passwd", "guid": "urn:bad:4"},
        ]
        self.feed(items)


class FaultServer:
    """Start/stop wrapper; thread-safe request log and concurrency counter."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, tls: tuple[str, str] | None = None) -> None:
        """``tls=(certfile, keyfile)`` serves HTTPS (e.g. a self-signed cert the client must reject)."""
        self._stopping = threading.Event()
        self._tls = tls
        self._lock = threading.Lock()
        self.requests: list[Recorded] = []
        self.errors: list[str] = []
        """Unexpected exceptions inside endpoints (a broken fault server proves nothing)."""
        self.max_requests_kept = 10_000
        self.in_flight = 0
        self.max_in_flight = 0
        self._httpd = _Server((host, port), self)
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*tls)
            # Handshake in the handler thread, so a client that hangs up cannot block accept().
            self._httpd.socket = ctx.wrap_socket(self._httpd.socket, server_side=True,
                                                 do_handshake_on_connect=False)
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"{'https' if self._tls else 'http'}://{host}:{port}"

    def url(self, path: str) -> str:
        return self.base_url + (path if path.startswith("/") else "/" + path)

    def start(self) -> FaultServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="faultserver", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> FaultServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def requests_to(self, prefix: str) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if r.path.startswith(prefix)]

    def reset_concurrency(self) -> None:
        with self._lock:
            self.max_in_flight = self.in_flight

    def _record(self, rec: Recorded) -> None:
        with self._lock:
            self.requests.append(rec)
            if len(self.requests) > self.max_requests_kept:
                del self.requests[: len(self.requests) - self.max_requests_kept]

    def _enter(self) -> None:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def _leave(self) -> None:
        with self._lock:
            self.in_flight -= 1


if __name__ == "__main__":
    with FaultServer(port=int(sys.argv[1]) if len(sys.argv) > 1 else 0) as srv:
        print(f"fault server at {srv.base_url} (Ctrl-C to stop)", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
