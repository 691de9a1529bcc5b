"""HTTP keep-alive: 304s and redirects are read out so the connection is kept; error replies are not waited for.

A real HTTP/1.1 server on 127.0.0.1 counts the TCP connections it accepts;
httpcore drops a connection whose response was closed unread, so before
fetch._release drained them, every conditional GET cost a new connection.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from feedgen import rss

from crisiswatch.config import Settings
from crisiswatch.fetch import Fetcher

SETTINGS = Settings(timeout=5.0)
ETAG = '"k1"'
FEED = rss("Keep-alive", [("k1", "KFOR patrols the Ibar bridge"), ("k2", "Weather")])


class CountingServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.lock = threading.Lock()
        self.connections = 0
        self.requests: list[tuple[str, str | None]] = []
        self.errors: list[str] = []

    def get_request(self) -> tuple[Any, Any]:
        conn = super().get_request()
        with self.lock:
            self.connections += 1
        return conn

    def handle_error(self, request: object, client_address: object) -> None:
        import sys

        exc = sys.exc_info()[1]
        if not isinstance(exc, ConnectionError | TimeoutError):
            with self.lock:
                self.errors.append(repr(exc))

    def url(self, path: str) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}{path}"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: CountingServer
    disable_nagle_algorithm = True
    timeout = 10  # an idle kept-alive connection's handler thread gives up eventually

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        with self.server.lock:
            self.server.requests.append((self.path, self.headers.get("If-None-Match")))
        if self.path == "/etag":
            if self.headers.get("If-None-Match") == ETAG:
                self.send_response(304)  # no Content-Length: a 304 has no body by definition
                self.send_header("ETag", ETAG)
                self.end_headers()
                return
            self.body(200, FEED, "application/rss+xml", {"ETag": ETAG})
        elif self.path.startswith("/moved/"):
            self.body(301, b"<html><body>Moved Permanently</body></html>", "text/html",
                      {"Location": "/feed"})
        elif self.path.startswith("/temp/"):
            self.body(302, b"", "text/plain", {"Location": "/feed"})
        elif self.path == "/feed":
            self.body(200, FEED, "application/rss+xml")
        elif self.path == "/error":
            self.body(500, b"<html><body>" + b"Internal Server Error " * 50 + b"</body></html>", "text/html")
        elif self.path == "/busy":  # headers at once, a body that never comes
            self.send_response(429)
            self.send_header("Retry-After", "3600")
            self.send_header("Content-Length", "100")
            self.end_headers()
            self.wfile.flush()
            time.sleep(3)
            self.close_connection = True
        else:
            self.body(404, b"not found", "text/plain")

    def body(self, status: int, data: bytes, ctype: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def server() -> Iterator[CountingServer]:
    srv = CountingServer()
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True,
                              name="keepalive-server")
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(timeout=5)
    assert not thread.is_alive()
    assert not srv.errors, srv.errors


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 60))


def test_conditional_gets_answered_304_reuse_one_connection(server: CountingServer) -> None:
    async def go() -> list[Any]:
        async with Fetcher(SETTINGS) as f:
            first = await f.fetch(server.url("/etag"))
            assert first.status == 200 and first.etag == ETAG and first.body == FEED
            return [await f.fetch(server.url("/etag"), etag=first.etag) for _ in range(20)]

    results = run(go())
    assert [r.status for r in results] == [304] * 20
    assert all(r.ok and r.not_modified and r.etag == ETAG and r.error is None for r in results)
    assert server.requests[1:] == [("/etag", ETAG)] * 20  # really conditional, really 20 round trips
    assert server.connections <= 2, f"{server.connections} connections for 21 sequential requests"


def test_followed_redirects_reuse_the_connection(server: CountingServer) -> None:
    async def go() -> list[Any]:
        async with Fetcher(SETTINGS) as f:
            return [await f.fetch(server.url(f"/moved/{n}")) for n in range(10)]

    results = run(go())
    assert all(r.status == 200 and r.body == FEED for r in results), [(r.status, r.error) for r in results]
    assert all(r.moved_to == server.url("/feed") for r in results)
    assert len(server.requests) == 20  # ten 301s, each followed
    assert server.connections <= 2, f"{server.connections} connections for 20 sequential requests"


def test_empty_bodied_redirects_reuse_the_connection(server: CountingServer) -> None:
    async def go() -> list[Any]:
        async with Fetcher(SETTINGS) as f:
            return [await f.fetch(server.url(f"/temp/{n}")) for n in range(10)]

    results = run(go())
    assert [r.status for r in results] == [200] * 10
    assert all(r.moved_to is None for r in results)  # a 302 never re-points the feed
    assert len(server.requests) == 20
    assert server.connections <= 2, f"{server.connections} connections for 20 sequential requests"


def test_error_replies_are_reported_at_once_not_drained(server: CountingServer) -> None:
    """A 429 whose body never comes is a rate limit with its Retry-After, now — not a timeout later."""
    async def go() -> tuple[Any, float, Any]:
        async with Fetcher(SETTINGS) as f:
            started = time.monotonic()
            busy = await f.fetch(server.url("/busy"))
            elapsed = time.monotonic() - started
            return busy, elapsed, await f.fetch(server.url("/error"))

    busy, elapsed, error = run(go())
    assert busy.status == 429 and busy.error_kind == "ratelimit" and busy.retry_after == 3600.0, busy
    assert elapsed < 1.5, elapsed
    assert error.status == 500 and error.error_kind == "http" and "500" in (error.error or "")
