"""Fetcher against a real loopback server that misbehaves (issue 6 items 1–3).

Timeouts are short (≤ 1 s) so the file stays fast; the point of each test is
the *bound* (time, bytes, hops), not the absolute value.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
import tracemalloc
import zlib
from pathlib import Path

import faultserver
import httpx
import pytest
from faultserver import LAST_MODIFIED, FaultServer

import crisiswatch.fetch as fetch_module
from crisiswatch.config import Settings
from crisiswatch.fetch import Fetcher, _decoder_for, _network_reason, parse_retry_after
from crisiswatch.units import format_size

FAST = Settings(timeout=1.0, max_feed_bytes=1_000_000)


async def fetch(url: str, settings: Settings = FAST, **kw: str | None):
    async with Fetcher(settings) as f:
        return await f.fetch(url, **kw)


# -- happy paths ---------------------------------------------------------------


async def test_plain_feed_and_request_headers(fault_server: FaultServer) -> None:
    r = await fetch(fault_server.url("/rss?tag=hdrs"))
    assert r.ok and r.status == 200
    assert b"<rss" in (r.body or b"")
    assert r.content_type and r.content_type.startswith("application/rss+xml")
    assert r.elapsed > 0
    (req,) = fault_server.requests_to("/rss?tag=hdrs")
    assert req.headers["user-agent"] == Settings().user_agent
    assert "application/rss+xml" in req.headers["accept"]
    assert req.headers["accept-encoding"] == "gzip, deflate, br"
    assert "if-none-match" not in req.headers


@pytest.mark.parametrize("path", ["/gzip-feed", "/deflate-feed", "/deflate-feed?raw=1", "/br-feed"])
async def test_compressed_feeds_are_decoded(fault_server: FaultServer, path: str) -> None:
    r = await fetch(fault_server.url(path))
    assert r.ok, r.error
    assert (r.body or b"").startswith(b'<?xml version="1.0"')
    assert r.body and r.body.rstrip().endswith(b"</rss>")


async def test_connections_are_reused(fault_server: FaultServer) -> None:
    async with Fetcher(FAST) as f:
        for _ in range(3):
            assert (await f.fetch(fault_server.url("/rss?tag=keepalive"))).ok
    ports = {r.client_port for r in fault_server.requests_to("/rss?tag=keepalive")}
    assert len(ports) == 1, "keep-alive: one TCP connection for sequential fetches"


async def test_five_megabyte_feed_within_cap(fault_server: FaultServer) -> None:
    r = await fetch(fault_server.url("/big?mb=5"), Settings(timeout=5.0))
    assert r.ok, r.error
    assert 5_000_000 <= len(r.body or b"") < 6_000_000


# -- time ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "where"),
    [
        ("/stall-headers", "no response"),
        ("/stall-body", "of body"),
        ("/trickle?interval=0.1", "of body"),
    ],
)
async def test_deadline_covers_whole_request(fault_server: FaultServer, path: str, where: str) -> None:
    async with Fetcher(Settings(timeout=0.25)) as f:  # client set-up (TLS context) is not the request
        start = time.monotonic()
        r = await f.fetch(fault_server.url(path))
        took = time.monotonic() - start
    assert r.error_kind == "timeout"
    assert r.error and r.error.startswith("timed out after 0.25s") and where in r.error
    assert 0.225 <= r.elapsed <= took < 0.25 + 0.5, (r.elapsed, took)
    assert r.body is None


async def test_poll_of_twenty_with_stalls_is_bounded(fault_server: FaultServer) -> None:
    """One 'poll': 20 concurrent fetches, 6 of which never finish, under a 0.6 s deadline."""
    stalling = ["/stall-headers", "/stall-body", "/trickle?interval=0.1"] * 2
    urls = [fault_server.url(f"/rss?tag=poll{i}") for i in range(14)] + [fault_server.url(p) for p in stalling]
    urls = urls[::2] + urls[1::2]  # interleave stalls with good feeds
    settings = Settings(timeout=0.6, per_host_connections=20)
    async with Fetcher(settings) as f:
        start = time.monotonic()
        results = await asyncio.gather(*(f.fetch(u) for u in urls))
        took = time.monotonic() - start
    assert took < 0.6 + 0.5, f"poll took {took:.2f}s"
    assert sum(r.ok for r in results) == 14
    assert sum(r.error_kind == "timeout" for r in results) == 6


async def test_poll_bounded_even_when_stalls_hog_the_host_slots(fault_server: FaultServer) -> None:
    """The deadline includes waiting for a per-host slot, so a poll never exceeds it."""
    settings = Settings(timeout=0.15, per_host_connections=2)  # nothing is expected to finish within it
    urls = [fault_server.url("/stall-headers")] * 2 + [fault_server.url(f"/rss?tag=queued{i}") for i in range(4)]
    async with Fetcher(settings) as f:
        start = time.monotonic()
        results = await asyncio.gather(*(f.fetch(u) for u in urls))
        took = time.monotonic() - start
    assert took < 0.15 + 0.3, took
    queued = [r for r in results[2:] if r.error_kind == "timeout"]
    assert all(r.ok or r.error_kind == "timeout" for r in results)
    # Which queued fetch wins a slot freed at the deadline is a race; at least one must say it waited.
    assert any("waiting for a free connection" in (r.error or "") for r in queued)


async def test_per_host_concurrency_is_bounded(fresh_fault_server: FaultServer) -> None:
    srv = fresh_fault_server
    settings = Settings(timeout=5.0, per_host_connections=2)
    async with Fetcher(settings) as f:
        results = await asyncio.gather(*(f.fetch(srv.url(f"/slow?delay=0.15&i={i}")) for i in range(4)))
    assert all(r.ok for r in results)
    assert srv.max_in_flight == 2


async def test_overall_concurrency_is_bounded(fresh_fault_server: FaultServer) -> None:
    srv = fresh_fault_server
    settings = Settings(timeout=5.0, max_connections=3, per_host_connections=10)
    async with Fetcher(settings) as f:
        results = await asyncio.gather(*(f.fetch(srv.url(f"/slow?delay=0.15&j={i}")) for i in range(6)))
    assert all(r.ok for r in results)
    assert srv.max_in_flight == 3


# -- size ----------------------------------------------------------------------


async def _bomb_peak(server: FaultServer, enc: str, cap: int) -> tuple[str | None, str | None, int]:
    """Fetch a 1 GiB bomb; return (error_kind, error, peak traced bytes during the fetch alone)."""
    faultserver._bomb_parts(enc)  # the in-process server's one-off cache must not count
    async with Fetcher(Settings(timeout=5.0, max_feed_bytes=cap)) as f:  # nor the client's TLS context
        tracemalloc.start()
        try:
            r = await f.fetch(server.url(f"/bomb?enc={enc}&gb=1"))
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert r.body is None
    return r.error_kind, r.error, peak


@pytest.mark.parametrize("enc", ["gzip", "deflate", "rawdeflate", "br"])
async def test_compression_bomb_stopped_at_cap_in_bounded_memory(fault_server: FaultServer, enc: str) -> None:
    """1 GiB of zeros, ~1 MB on the wire; every 64 KiB written inflates to 64 MiB."""
    kind, error, peak = await _bomb_peak(fault_server, enc, 1_000_000)
    assert (kind, error) == ("size", "body over the 1 MB cap")
    # ~1.5 MB alone; tracemalloc is process-wide, so allow for the in-process server and other threads.
    assert peak < 6_000_000, f"peak {peak / 1e6:.1f} MB while inflating a bomb with a 1 MB cap"


async def test_bomb_memory_check_would_catch_an_unbounded_decoder(
    fault_server: FaultServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Control: with no per-step output limit (what httpx's decoder does) the same probe sees the blow-up."""
    monkeypatch.setattr(fetch_module, "_CHUNK", 1 << 30)
    kind, _, peak = await _bomb_peak(fault_server, "gzip", 1_000_000)
    assert kind == "size"
    assert peak > 10_000_000  # several times the bound asserted above


async def test_endless_body_stopped_at_cap(fault_server: FaultServer) -> None:
    start = time.monotonic()
    r = await fetch(fault_server.url("/endless"), Settings(timeout=5.0, max_feed_bytes=2_000_000))
    assert (r.error_kind, r.error) == ("size", "body over the 2 MB cap")
    assert time.monotonic() - start < 2


async def test_oversized_declared_length_rejected_before_reading(fault_server: FaultServer) -> None:
    r = await fetch(fault_server.url("/oversized?mb=12"), Settings(timeout=2.0))
    assert r.error_kind == "size"
    assert r.error == "body over the 10 MB cap (Content-Length 12 MB)"


async def test_oversized_without_length_counted_while_streaming(fault_server: FaultServer) -> None:
    r = await fetch(fault_server.url("/oversized?mb=3&length=0"), Settings(timeout=2.0, max_feed_bytes=2_500_000))
    assert (r.error_kind, r.error) == ("size", "body over the 2.5 MB cap")


def test_zlib_decoder_inflates_in_bounded_steps() -> None:
    """Unit-level proof: each decoder step yields at most 64 KiB whatever the ratio."""
    head, segment, _ = faultserver._bomb_parts("gzip")
    bomb = head + segment * 8  # 72 MiB of zeros in ~73 KB
    decoder = _decoder_for("gzip")
    sizes = [len(piece) for piece in decoder.feed(bomb[:65536])]
    assert max(sizes) <= 65536
    assert sum(sizes) > 10_000_000  # it really is a bomb


@pytest.mark.parametrize("enc", ["gzip", "deflate", "rawdeflate", "br"])
def test_decoders_survive_one_byte_chunks(enc: str) -> None:
    """A trickling server delivers compressed bodies a byte at a time (and raw deflate must still be sniffed)."""
    import brotli

    plain = (b"<rss><channel><title>Vu\xc4\x8di\xc4\x87</title></channel></rss>" * 50)
    if enc == "br":
        body = brotli.compress(plain)
    else:
        comp = zlib.compressobj(6, zlib.DEFLATED, {"gzip": 31, "deflate": 15, "rawdeflate": -15}[enc])
        body = comp.compress(plain) + comp.flush()
    decoder = _decoder_for("deflate" if enc == "rawdeflate" else enc)
    out = b"".join(piece for i in range(len(body)) for piece in decoder.feed(body[i:i + 1]))
    out += b"".join(decoder.flush())
    assert out == plain


def test_truncated_gzip_is_an_error() -> None:
    import gzip

    body = gzip.compress(b"x" * 1000)[:-12]
    decoder = _decoder_for("gzip")
    with pytest.raises(zlib.error):
        b"".join(decoder.feed(body)) + b"".join(decoder.flush())


def test_unknown_content_encoding_is_refused() -> None:
    with pytest.raises(Exception, match="unsupported Content-Encoding"):
        _decoder_for("zstd")


def test_gzip_multi_member_decodes_fully() -> None:
    import gzip

    body = gzip.compress(b"first ") + gzip.compress(b"second")
    decoder = _decoder_for("gzip")
    out = b"".join(decoder.feed(body)) + b"".join(decoder.flush())
    assert out == b"first second"


# -- HTTP semantics ------------------------------------------------------------


async def test_etag_conditional_get(fault_server: FaultServer) -> None:
    first = await fetch(fault_server.url("/etag?k=1"))
    assert first.status == 200 and first.etag == '"v1"'
    second = await fetch(fault_server.url("/etag?k=1"), etag=first.etag)
    assert second.not_modified and second.ok
    assert second.body is None
    assert second.etag == '"v1"'
    assert fault_server.requests_to("/etag?k=1")[-1].headers["if-none-match"] == '"v1"'


async def test_last_modified_conditional_get(fault_server: FaultServer) -> None:
    first = await fetch(fault_server.url("/last-modified?k=1"))
    assert first.last_modified == LAST_MODIFIED
    second = await fetch(fault_server.url("/last-modified?k=1"), last_modified=first.last_modified)
    assert second.status == 304 and second.body is None
    assert second.last_modified == LAST_MODIFIED, "validators we sent are kept when a 304 omits them"
    assert fault_server.requests_to("/last-modified?k=1")[-1].headers["if-modified-since"] == LAST_MODIFIED


@pytest.mark.parametrize(("code", "moved"), [(301, True), (308, True), (302, False), (307, False), (303, False)])
async def test_single_redirect(fault_server: FaultServer, code: int, moved: bool) -> None:
    r = await fetch(fault_server.url(f"/redirect?code={code}&to=/rss%3Ftag%3Dmoved"))
    assert r.ok and r.status == 200
    assert r.moved_to == (fault_server.url("/rss?tag=moved") if moved else None)


async def test_moved_only_when_every_hop_is_permanent(fault_server: FaultServer) -> None:
    r = await fetch(fault_server.url("/chain?hops=3&codes=301,307"))
    assert r.ok and r.moved_to is None
    r = await fetch(fault_server.url("/chain?hops=3&codes=301,308"))
    assert r.ok and r.moved_to and r.moved_to.endswith("i=3")


async def test_permanent_redirect_to_a_failure_does_not_move_the_feed(fault_server: FaultServer) -> None:
    r = await fetch(fault_server.url("/redirect?code=301&to=/status%3Fcode%3D410"))
    assert (r.error_kind, r.moved_to) == ("gone", None)


async def test_permanent_redirect_then_not_modified_moves_the_feed(fault_server: FaultServer) -> None:
    r = await fetch(fault_server.url("/redirect?code=308&to=/etag%3Fk%3Dmoved"), etag='"v1"')
    assert r.not_modified and r.moved_to == fault_server.url("/etag?k=moved")
    assert fault_server.requests_to("/etag?k=moved")[-1].headers["if-none-match"] == '"v1"'


async def test_five_hops_allowed_six_refused(fault_server: FaultServer) -> None:
    ok = await fetch(fault_server.url("/chain?hops=5"))
    assert ok.ok and ok.moved_to
    bad = await fetch(fault_server.url("/chain?hops=6"))
    assert bad.error_kind == "redirect"
    assert bad.error and bad.error.startswith("more than 5 redirects")
    assert bad.moved_to is None


async def test_redirect_loop(fault_server: FaultServer) -> None:
    before = len(fault_server.requests_to("/loop/"))  # the server is shared by the session's tests
    r = await fetch(fault_server.url("/loop/a"))
    assert r.error_kind == "redirect"
    assert r.error and r.error.startswith("redirect loop")
    assert len(fault_server.requests_to("/loop/")) - before <= 3


async def test_redirect_to_other_scheme_refused(fault_server: FaultServer) -> None:
    r = await fetch(fault_server.url("/redirect?code=301&to=file:///etc/passwd"))
    assert r.error_kind == "redirect" and "non-http(s)" in (r.error or "")


async def test_redirect_to_an_invalid_url_refused(fault_server: FaultServer) -> None:
    r = await fetch(fault_server.url("/redirect?code=302&to=http://%5B::1"))
    assert r.error_kind == "redirect" and "invalid URL" in (r.error or "")


async def test_server_text_in_errors_is_inert(fault_server: FaultServer) -> None:
    """Error strings reach the event log and the terminal; a Location with C1 controls must not."""
    r = await fetch(fault_server.url("/redirect?code=301&to=gopher://x/%C2%9B2J%C2%9B31mred"))
    assert r.error_kind == "redirect" and r.error
    assert not [ch for ch in r.error if ord(ch) < 32 or 0x7F <= ord(ch) < 0xA0], repr(r.error)


async def test_gone(fault_server: FaultServer) -> None:
    r = await fetch(fault_server.url("/status?code=410"))
    assert (r.status, r.error_kind, r.error) == (410, "gone", "HTTP 410 Gone")


@pytest.mark.parametrize("code", [500, 404, 403])
async def test_http_errors(fault_server: FaultServer, code: int) -> None:
    r = await fetch(fault_server.url(f"/status?code={code}"))
    phrases = {500: "Internal Server Error", 404: "Not Found", 403: "Forbidden"}
    assert (r.status, r.error_kind, r.error) == (code, "http", f"HTTP {code} {phrases[code]}")
    assert r.body is None


async def test_429_retry_after_seconds(fault_server: FaultServer) -> None:
    r = await fetch(fault_server.url("/ratelimit?code=429&retry=120"))
    assert (r.error_kind, r.retry_after) == ("ratelimit", 120.0)
    assert r.error == "HTTP 429 Too Many Requests (retry after 120s)"


async def test_503_retry_after_http_date(fault_server: FaultServer) -> None:
    r = await fetch(fault_server.url("/ratelimit?code=503&retry=date:90"))
    assert r.error_kind == "ratelimit" and r.status == 503
    assert r.retry_after is not None and 85 <= r.retry_after <= 91


def test_parse_retry_after_forms() -> None:
    assert parse_retry_after("0") == 0.0
    assert parse_retry_after(" 30 ") == 30.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past → now
    assert parse_retry_after("soon") is None
    assert parse_retry_after("") is None
    assert parse_retry_after("-5") is None
    assert parse_retry_after("99999999999999999999") == 86_400.0  # capped at a day


def test_format_size() -> None:
    assert format_size(10_000_000) == "10 MB"
    assert format_size(2_500_000) == "2.5 MB"
    assert format_size(500_000) == "500 KB"
    assert format_size(12) == "12 bytes"


async def test_unsendable_validators_are_dropped(fault_server: FaultServer) -> None:
    """A server-chosen ETag we could not send back would break every later poll of the feed."""
    first = await fetch(fault_server.url("/etag?tag=%22caf%C3%A9%22"))
    assert first.ok and first.etag is None
    second = await fetch(fault_server.url("/etag?tag=x"), etag='"café"', last_modified="x" * 5000)
    assert second.ok and second.status == 200
    sent = fault_server.requests_to("/etag?tag=x")[-1].headers
    assert "if-none-match" not in sent and "if-modified-since" not in sent


async def test_timeouts_do_not_leak_pool_connections(fault_server: FaultServer) -> None:
    """Cancelled requests must give their connection back, or a week of timeouts starves the pool."""
    settings = Settings(timeout=0.2, max_connections=2, per_host_connections=2)
    async with Fetcher(settings) as f:
        for _ in range(3):
            stalled = await asyncio.gather(*(f.fetch(fault_server.url("/stall-body")) for _ in range(2)))
            assert all(r.error_kind == "timeout" for r in stalled)
        good = await asyncio.gather(*(f.fetch(fault_server.url(f"/rss?tag=after{i}")) for i in range(4)))
    assert all(r.ok for r in good), [r.error for r in good]


# -- network faults never raise ------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_connection_refused() -> None:
    r = await fetch(f"http://127.0.0.1:{_closed_port()}/feed")
    assert (r.error_kind, r.error) == ("network", "connection refused")


def _wrapped(inner: BaseException) -> httpx.ConnectError:
    """The chain httpx really builds: httpx.ConnectError from httpcore.ConnectError from the OS error."""
    try:
        try:
            raise inner
        except BaseException as exc:
            raise httpx.ConnectError(str(exc)) from exc
    except httpx.ConnectError as outer:
        return outer


@pytest.mark.parametrize(
    ("inner", "reason"),
    [
        (socket.gaierror(-2, "Name or service not known"), "DNS failure (host not found)"),
        (ConnectionRefusedError(111, "Connection refused"), "connection refused"),
        (ssl.SSLCertVerificationError(1, "certificate verify failed"), "TLS error"),
        (OSError(101, "Network is unreachable"), "network unreachable"),
    ],
)
def test_network_reasons_are_short_and_human(inner: BaseException, reason: str) -> None:
    """DNS is not exercised live (tests never leave loopback), so the mapping is checked on real chains."""
    assert _network_reason(_wrapped(inner)).startswith(reason)


async def test_server_hangs_up(fault_server: FaultServer) -> None:
    r = await fetch(fault_server.url("/hangup"))
    assert r.error_kind == "network" and r.error and "protocol error" in r.error


@pytest.mark.parametrize("url", ["not a url", "ftp://127.0.0.1/feed", "http://", "http://[::1"])
async def test_bad_urls_are_results_not_exceptions(url: str) -> None:
    r = await fetch(url)
    assert not r.ok and r.error_kind == "network"


async def test_tls_to_plain_http_server_is_a_tls_error(fault_server: FaultServer) -> None:
    r = await fetch(fault_server.url("/rss").replace("http://", "https://"))
    assert r.error_kind == "network" and r.error and r.error.startswith("TLS error")


async def test_untrusted_certificate_is_rejected(tmp_path: Path) -> None:
    """Certificates are verified: an HTTPS server whose CA nobody trusts is a TLS error, not a feed."""
    import trustme

    issued = trustme.CA().issue_cert("127.0.0.1")  # a throwaway CA: in no trust store, least of all certifi's
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    issued.cert_chain_pems[0].write_to_path(str(cert))
    issued.private_key_pem.write_to_path(str(key))
    with FaultServer(tls=(str(cert), str(key))) as srv:
        r = await fetch(srv.url("/rss"), Settings(timeout=3.0))
    assert r.error_kind == "network"
    assert r.error and r.error.startswith("TLS error") and "certificate" in r.error


async def test_caller_cancellation_still_propagates(fault_server: FaultServer) -> None:
    """'Never raises' is about faults; shutting the poller down must still cancel a fetch."""
    async with Fetcher(Settings(timeout=5.0)) as f:
        path = f"/stall-headers?tag=cancel-{time.monotonic_ns()}"
        task = asyncio.create_task(f.fetch(fault_server.url(path)))
        deadline = time.monotonic() + 5
        while not any(r.path == path for r in fault_server.requests_to("/stall-headers")):  # in flight at the server
            assert time.monotonic() < deadline, "the fetch never reached the server"
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
