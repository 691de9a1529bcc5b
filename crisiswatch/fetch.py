"""HTTP fetching of feeds: one shared client, hard deadlines, bounded memory.

Every feed server is untrusted and may be overloaded, moved or hostile, so a
fetch is built to fail *cleanly*: :meth:`Fetcher.fetch` never raises for a
network, HTTP or content fault, it returns a :class:`~crisiswatch.models.FetchResult`
whose ``error`` says why and whose ``error_kind`` the poller branches on.

Decisions worth knowing:

* ``settings.timeout`` is one deadline for the whole call — waiting for a
  connection slot, connect, headers and the entire body. A server trickling a
  byte a second cannot hold a poll hostage, so a poll is bounded by the timeout.
* Bodies are decompressed here, from the raw stream, in small bounded steps,
  and ``settings.max_feed_bytes`` is counted on the *decompressed* bytes. A
  64 KiB gzip chunk of zeros inflates to ~64 MB in one unbounded call; we never
  make that call (httpx's own decoder would).
* Redirects are followed by hand so we can tell permanent moves (every hop
  301/308 → ``moved_to``) from temporary ones, detect loops and cap the chain.
* No cookies are kept: a feed server must not be able to grow our memory.
"""

from __future__ import annotations

import asyncio
import dataclasses
import email.utils
import errno
import http.cookiejar
import io
import logging
import math
import socket
import ssl
import threading
import time
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from types import TracebackType
from typing import Protocol
from urllib.parse import urljoin, urlsplit

import brotli
import httpx

from .config import Settings
from .models import FetchResult
from .redact import redact_url
from .units import format_duration, format_size

log = logging.getLogger(__name__)

MAX_REDIRECTS = 5
"""Hops allowed before we give up; a sixth redirect is an error."""

ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.8, text/xml;q=0.8, */*;q=0.5"
)
ACCEPT_ENCODING = "gzip, deflate, br"

MAX_RETRY_AFTER = 86_400.0
"""A Retry-After beyond a day is capped: a hostile or buggy server must not silence a feed for years."""

_CHUNK = 64 * 1024
"""Most decompressed bytes produced per decoder step; bounds memory per step."""

_PERMANENT = frozenset({301, 308})
_REDIRECTS = frozenset({301, 302, 303, 307, 308})

_LOOPBACK_MOUNTS: dict[str, httpx.AsyncBaseTransport | None] = {
    "all://127.0.0.1": None,
    "all://localhost": None,
    "all://[::1]": None,
}
"""Never send loopback traffic to an environment proxy (it could not reach it)."""


class _Fault(Exception):
    """A fetch that failed for a reason we report; carries the FetchResult fields."""

    def __init__(self, kind: str, message: str, *, status: int | None = None, retry_after: float | None = None):
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.status = status
        self.retry_after = retry_after


# -- decoding ------------------------------------------------------------------


class _Decoder(Protocol):
    def feed(self, data: bytes) -> Iterator[bytes]: ...

    def flush(self) -> Iterator[bytes]: ...


class _Identity:
    def feed(self, data: bytes) -> Iterator[bytes]:
        if data:
            yield data

    def flush(self) -> Iterator[bytes]:
        return iter(())


class _Zlib:
    """gzip (possibly multi-member) or deflate, inflated at most ``_CHUNK`` bytes per step.

    ``decompressobj.decompress(data, max_length)`` parks unconsumed input in
    ``unconsumed_tail`` instead of inflating it all, which is what keeps a bomb
    from materialising. ``flush()`` is never used because it is unbounded.
    """

    def __init__(self, encoding: str) -> None:
        self._gzip = encoding == "gzip"
        self._wbits = zlib.MAX_WBITS | 16 if self._gzip else zlib.MAX_WBITS
        self._d = zlib.decompressobj(self._wbits)
        self._sniff = b"" if not self._gzip else None
        self._started = False
        self._done = False

    def _choose_deflate_flavour(self, data: bytes) -> bytes:
        """ "deflate" should be zlib-wrapped but some servers send it raw; decide on the first 2 bytes.

        Returns the bytes to decode now (empty while we still wait for 2 bytes).
        """
        assert self._sniff is not None
        self._sniff += data
        if len(self._sniff) < 2:
            return b""
        data, self._sniff = self._sniff, None
        cmf, flg = data[0], data[1]
        if cmf & 0x0F != 8 or (cmf << 8 | flg) % 31:
            self._wbits = -zlib.MAX_WBITS
            self._d = zlib.decompressobj(self._wbits)
        return data

    def feed(self, data: bytes) -> Iterator[bytes]:
        if self._sniff is not None:
            data = self._choose_deflate_flavour(data)
        if data:
            self._started = True
        while data and not self._done:
            out = self._d.decompress(data, _CHUNK)
            if out:
                yield out
            data = self._d.unconsumed_tail
            while not data and len(out) == _CHUNK and not self._d.eof:
                # Input used up but the output buffer was full: drain what is pending.
                out = self._d.decompress(b"", _CHUNK)
                if out:
                    yield out
            if self._d.eof:
                rest = self._d.unused_data
                if self._gzip and rest.lstrip(b"\0"):
                    # Concatenated gzip members are one valid stream (RFC 1952).
                    self._d = zlib.decompressobj(self._wbits)
                    data = rest.lstrip(b"\0")
                else:
                    self._done = True  # trailing garbage after the stream is ignored

    def flush(self) -> Iterator[bytes]:
        if self._sniff:  # a 1-byte body: let zlib say what is wrong with it
            self._sniff, data = None, self._sniff
            yield from self.feed(data)
        if self._done or not self._started:
            return
        while True:
            out = self._d.decompress(b"", _CHUNK)
            if not out:
                break
            yield out
        if not self._d.eof:
            raise zlib.error("truncated compressed body")


class _Brotli:
    """Brotli, at most ~``_CHUNK`` bytes out per step (``output_buffer_limit``, brotli ≥ 1.2).

    Older brotli cannot limit output; then we feed it 256-byte slices of input,
    which bounds each step by the format's practical expansion instead.
    """

    _SLICE = 256

    def __init__(self) -> None:
        self._d = brotli.Decompressor()
        self._limited = hasattr(self._d, "can_accept_more_data")

    def feed(self, data: bytes) -> Iterator[bytes]:
        if not self._limited:
            for i in range(0, len(data), self._SLICE):
                out = self._d.process(data[i:i + self._SLICE])
                if out:
                    yield out
            return
        out = self._d.process(data, output_buffer_limit=_CHUNK)
        if out:
            yield out
        while not self._d.can_accept_more_data() and not self._d.is_finished():
            out = self._d.process(b"", output_buffer_limit=_CHUNK)
            if not out:
                break
            yield out

    def flush(self) -> Iterator[bytes]:
        return iter(())


class _Chain:
    """Content-Encoding: a, b means b(a(body)); undo them in reverse order."""

    def __init__(self, decoders: list[_Decoder]) -> None:
        self._decoders = decoders

    def _through(self, chunks: Iterator[bytes], start: int) -> Iterator[bytes]:
        if start == len(self._decoders):
            yield from chunks
            return
        decoder = self._decoders[start]

        def stage() -> Iterator[bytes]:
            for chunk in chunks:
                yield from decoder.feed(chunk)

        yield from self._through(stage(), start + 1)

    def feed(self, data: bytes) -> Iterator[bytes]:
        return self._through(iter((data,)), 0)

    def flush(self) -> Iterator[bytes]:
        for i, decoder in enumerate(self._decoders):
            yield from self._through(decoder.flush(), i + 1)


def _decoder_for(content_encoding: str | None) -> _Decoder:
    names = [e.strip().lower() for e in (content_encoding or "").split(",") if e.strip()]
    decoders: list[_Decoder] = []
    for name in reversed(names):
        if name in ("identity", "none"):
            continue
        if name in ("gzip", "x-gzip"):
            decoders.append(_Zlib("gzip"))
        elif name == "deflate":
            decoders.append(_Zlib("deflate"))
        elif name == "br":
            decoders.append(_Brotli())
        else:
            raise _Fault("http", f"unsupported Content-Encoding {_safe(name, 40)!r}")
    if not decoders:
        return _Identity()
    if len(decoders) == 1:
        return decoders[0]
    return _Chain(decoders)


# -- small helpers -------------------------------------------------------------


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After as seconds to wait: delta-seconds or an HTTP-date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(MAX_RETRY_AFTER, float(int(value[:12])))
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    now = now or datetime.now(UTC)
    return min(MAX_RETRY_AFTER, float(max(0, math.ceil((when - now).total_seconds()))))


def _status_text(status: int) -> str:
    """"HTTP 500 Internal Server Error" with the *standard* phrase: the server's is untrusted text."""
    phrase = httpx.codes.get_reason_phrase(status)
    return f"HTTP {status} {phrase}" if phrase else f"HTTP {status}"


def _network_reason(exc: BaseException) -> str:
    """A short human reason for a transport failure, from the innermost cause we recognise."""
    seen: set[int] = set()
    chain: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        chain.append(cur)
        cur = cur.__cause__ or cur.__context__
    for e in chain:
        if isinstance(e, socket.gaierror):
            return "DNS failure (host not found)"
        if isinstance(e, ssl.SSLCertVerificationError):
            return f"TLS error: {_safe(getattr(e, 'verify_message', None) or 'certificate verify failed')}"
        if isinstance(e, ssl.SSLError):
            return f"TLS error: {_safe(getattr(e, 'reason', None) or e.__class__.__name__)}"
        if isinstance(e, ConnectionRefusedError):
            return "connection refused"
        if isinstance(e, ConnectionResetError):
            return "connection reset by server"
        if isinstance(e, OSError) and e.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
            return "network unreachable"
    text = _safe(str(exc), 120)
    lowered = text.lower()
    if "name or service not known" in lowered or "nodename nor servname" in lowered or "getaddrinfo" in lowered:
        return "DNS failure (host not found)"
    if "connection refused" in lowered or "connect call failed" in lowered:
        return "connection refused"
    if "certificate" in lowered or "ssl" in lowered or "tls" in lowered:
        return f"TLS error: {text[:120]}"
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"protocol error: {text[:120] or 'server disconnected'}"
    if isinstance(exc, httpx.UnsupportedProtocol):
        return "unsupported URL scheme"
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect: {text[:120]}" if text else "cannot connect"
    if isinstance(exc, httpx.ReadError):
        return f"read error: {text[:120]}" if text else "connection lost while reading"
    return f"{exc.__class__.__name__}: {text[:120]}" if text else exc.__class__.__name__


def _safe(text: str, limit: int = 200) -> str:
    """Server-controlled text (a Location, an exception message) made inert before it lands in an error."""
    # Imported here, on the first error: the sanitiser pulls in feedparser (~25 ms), which a
    # ``poll`` process otherwise never needs (its parse workers import it).
    from .sanitize import strip_unsafe

    return strip_unsafe(text)[:limit]


def _validator(value: str | None) -> str | None:
    """Keep an ETag/Last-Modified only if we can send it back verbatim.

    A server-chosen value is stored and replayed on every poll; a non-ASCII or
    enormous one would make every later request fail before it is sent, so the
    feed could never recover. Such values are dropped (we just lose the 304).
    """
    if not value or len(value) > 1024 or not value.isascii() or not value.isprintable():
        return None
    return value


def _host_key(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{(parts.hostname or '').lower()}:{parts.port or ''}"


# -- TLS -----------------------------------------------------------------------

_tls: list[ssl.SSLContext] = []
_tls_thread: threading.Thread | None = None
_tls_lock = threading.Lock()


def warm_tls() -> None:
    """Start building the TLS context on a side thread; :func:`tls_context` collects it.

    Loading the CA bundle is 25-50 ms of every poll's start, spent in OpenSSL
    with the GIL released, so it can overlap reading the config and opening the
    database instead of adding to them.
    """
    global _tls_thread
    with _tls_lock:
        if _tls_thread is None:
            _tls_thread = threading.Thread(target=lambda: _tls.append(httpx.create_ssl_context()),
                                           name="crisiswatch-tls", daemon=True)
            _tls_thread.start()


def tls_context() -> ssl.SSLContext:
    """The process's one TLS context (system trust via certifi, SSL_CERT_FILE/DIR honoured), built once."""
    warm_tls()
    assert _tls_thread is not None
    _tls_thread.join()
    if not _tls:  # the side thread failed: build here, so the error surfaces where it can be reported
        _tls.append(httpx.create_ssl_context())
    return _tls[0]


# -- the fetcher ---------------------------------------------------------------


class Fetcher:
    """One shared HTTP client for a whole poller lifetime (keep-alive, connection reuse).

    Use as ``async with Fetcher(settings) as f: await f.fetch(url)``. Overall
    concurrency is bounded by the client's pool (``max_connections``); each
    host additionally gets a semaphore of ``per_host_connections`` so one slow
    site cannot occupy the whole pool.
    """

    def __init__(self, settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.settings = settings
        limits = httpx.Limits(
            max_connections=settings.max_connections,
            max_keepalive_connections=settings.max_connections,
            keepalive_expiry=max(30.0, settings.poll_interval + 30.0),
        )
        no_cookies = http.cookiejar.CookieJar(policy=http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
        self._client = httpx.AsyncClient(
            limits=limits,
            # httpx's own timeouts are a backstop; the real deadline is asyncio.timeout in fetch().
            timeout=httpx.Timeout(settings.timeout),
            follow_redirects=False,
            headers={
                "User-Agent": settings.user_agent,
                "Accept": ACCEPT,
                "Accept-Encoding": ACCEPT_ENCODING,
            },
            cookies=no_cookies,
            mounts=_LOOPBACK_MOUNTS,
            transport=transport,
            verify=tls_context() if transport is None else True,
        )
        self._host_slots: dict[str, asyncio.Semaphore] = {}

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    def _slot(self, url: str) -> asyncio.Semaphore:
        key = _host_key(url)
        slot = self._host_slots.get(key)
        if slot is None:
            slot = self._host_slots[key] = asyncio.Semaphore(self.settings.per_host_connections)
        return slot

    async def fetch(self, url: str, *, etag: str | None = None, last_modified: str | None = None) -> FetchResult:
        """Fetch one feed within ``settings.timeout``; never raises for network/HTTP/content faults.

        On 304 the validators we sent are echoed back unless the server sent
        new ones, so the caller can always store what it gets. ``moved_to`` is
        set only when the fetch succeeded (2xx/304) *and* every hop was a
        301/308: a feed is never re-pointed at a URL that did not work, nor on
        the word of a temporary redirect.
        """
        start = time.monotonic()
        deadline = self.settings.timeout
        progress = _Progress(url)
        try:
            async with asyncio.timeout(deadline):
                result = await self._fetch(url, etag, last_modified, progress)
        except TimeoutError:
            message = f"timed out after {format_duration(deadline)}"
            if progress.phase == "queued":
                message += " (waiting for a free connection to this host)"
            elif progress.phase == "body":
                message += f" (after {format_size(progress.received)} of body)" if progress.received else (
                    " (headers received, no body)"
                )
            elif progress.phase == "connect":
                message += " (no response)"
            return FetchResult(url, status=progress.status, error=message, error_kind="timeout",
                               elapsed=time.monotonic() - start)
        except _Fault as fault:
            return FetchResult(url, status=fault.status, error=fault.message, error_kind=fault.kind,
                               retry_after=fault.retry_after, elapsed=time.monotonic() - start)
        except httpx.TimeoutException:
            # httpx's backstop fired a hair before ours; same meaning.
            return FetchResult(url, status=progress.status, error=f"timed out after {format_duration(deadline)}",
                               error_kind="timeout", elapsed=time.monotonic() - start)
        except (httpx.TransportError, OSError, ssl.SSLError) as exc:
            return FetchResult(url, error=_network_reason(exc), error_kind="network",
                               elapsed=time.monotonic() - start)
        except (httpx.InvalidURL, httpx.HTTPError, ValueError, UnicodeError) as exc:
            return FetchResult(url, error=f"bad request: {_safe(str(exc), 160)}", error_kind="network",
                               elapsed=time.monotonic() - start)
        except (zlib.error, brotli.error) as exc:
            return FetchResult(url, status=progress.status, error=f"corrupt compressed body: {_safe(str(exc), 120)}",
                               error_kind="http", elapsed=time.monotonic() - start)
        except Exception as exc:  # the contract is "never raises"; a bug must not stop other feeds
            log.exception("unexpected error fetching %s", redact_url(url))
            return FetchResult(url, error=f"unexpected error: {exc.__class__.__name__}: {_safe(str(exc), 120)}",
                               error_kind="network", elapsed=time.monotonic() - start)
        return _with_elapsed(result, time.monotonic() - start)

    async def _fetch(self, url: str, etag: str | None, last_modified: str | None, progress: _Progress) -> FetchResult:
        headers: dict[str, str] = {}
        etag, last_modified = _validator(etag), _validator(last_modified)
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        current = url
        visited = {url}
        permanent = True
        hops = 0
        while True:
            parts = urlsplit(current)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise _Fault("network" if hops == 0 else "redirect", f"not an http(s) URL: {_safe(current)}")
            progress.phase = "queued"
            async with self._slot(current):
                progress.phase = "connect"
                request = self._client.build_request("GET", current, headers=headers)
                try:
                    response = await self._client.send(request, stream=True)
                except httpx.RemoteProtocolError as exc:
                    # httpx pre-builds the next request even with follow_redirects=False.
                    if "location header" in str(exc).lower():
                        raise _Fault("redirect", f"redirected to an invalid URL ({_safe(str(exc))})") from None
                    raise
                try:
                    progress.status = response.status_code
                    status = response.status_code
                    if status in _REDIRECTS:
                        location = response.headers.get("location")
                        if not location:
                            raise _Fault("redirect", f"{_status_text(status)} without a Location header",
                                         status=status)
                        location = location.strip()
                        result = None
                    else:
                        result = await self._finish(url, current, response, hops > 0 and permanent, etag,
                                                    last_modified, progress)
                except BaseException:
                    await response.aclose()  # an error reply: report it now, never wait for its body
                    raise
                await _release(response)
                if result is not None:
                    return result
            # Redirect bookkeeping happens after the slot is released.
            hops += 1
            permanent = permanent and status in _PERMANENT
            try:
                target = urljoin(current, location).split("#", 1)[0]
                parsed_target = httpx.URL(target)
            except (httpx.InvalidURL, ValueError, UnicodeError):
                raise _Fault("redirect", f"redirected to an invalid URL: {_safe(location)!r}", status=status) from None
            if parsed_target.scheme not in ("http", "https") or not parsed_target.host:
                raise _Fault("redirect", f"redirected to a non-http(s) URL: {_safe(target)}", status=status)
            if target in visited:
                raise _Fault("redirect", f"redirect loop ({status} back to {_safe(target)})", status=status)
            if hops > MAX_REDIRECTS:
                raise _Fault("redirect", f"more than {MAX_REDIRECTS} redirects (last to {_safe(target)})",
                             status=status)
            visited.add(target)
            current = target

    async def _finish(
        self,
        url: str,
        final_url: str,
        response: httpx.Response,
        moved: bool,
        etag: str | None,
        last_modified: str | None,
        progress: _Progress,
    ) -> FetchResult:
        status = response.status_code
        new_etag = _validator(response.headers.get("etag"))
        new_modified = _validator(response.headers.get("last-modified"))
        moved_to = final_url if moved and final_url != url else None
        if status == 304:
            return FetchResult(url, status=304, etag=new_etag or etag, last_modified=new_modified or last_modified,
                               moved_to=moved_to, final_url=final_url)
        if status == 410:
            raise _Fault("gone", _status_text(status), status=status)
        if status in (429, 503):
            retry_after = parse_retry_after(response.headers.get("retry-after"))
            message = _status_text(status)
            if retry_after is not None:
                message += f" (retry after {format_duration(retry_after)})"
            raise _Fault("ratelimit", message, status=status, retry_after=retry_after)
        if status >= 400 or status < 200:
            raise _Fault("http", _status_text(status), status=status)
        if 300 <= status < 400:
            raise _Fault("http", f"{_status_text(status)} (not a redirect we follow)", status=status)
        body = await self._read_body(response, progress)
        return FetchResult(
            url,
            status=status,
            body=body,
            content_type=response.headers.get("content-type"),
            etag=new_etag,
            last_modified=new_modified,
            moved_to=moved_to,
            final_url=final_url,
        )

    async def _read_body(self, response: httpx.Response, progress: _Progress) -> bytes:
        cap = self.settings.max_feed_bytes
        over = f"body over the {format_size(cap)} cap"
        decoder = _decoder_for(response.headers.get("content-encoding"))
        if isinstance(decoder, _Identity):
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > cap:
                raise _Fault("size", f"{over} (Content-Length {format_size(int(declared))})",
                             status=response.status_code)
        progress.phase = "body"
        # BytesIO.getvalue() hands over its buffer instead of copying it, so a
        # body near the cap costs ~1× the cap rather than the 2× of join().
        body = io.BytesIO()
        total = 0
        async for raw in response.aiter_raw():
            for piece in decoder.feed(raw):
                total += len(piece)
                progress.received = total
                if total > cap:
                    raise _Fault("size", over, status=response.status_code)
                body.write(piece)
        for piece in decoder.flush():
            total += len(piece)
            if total > cap:
                raise _Fault("size", over, status=response.status_code)
            body.write(piece)
        return body.getvalue()


_DRAIN_MAX = 64 * 1024
"""Unread body bytes we will read and discard to keep a connection alive (a 304, a redirect)."""
_DRAIN_SECONDS = 0.5
"""How long we wait for those bytes; a server that does not send them loses the connection, nothing else."""


async def _release(response: httpx.Response) -> None:
    """Close a response, keeping its connection for reuse when that is cheap.

    httpcore drops a connection whose response was not read to the end, so a
    304 closed unread costs a fresh TCP (and TLS) handshake on the next request
    to that host: 200 conditional GETs became 200 connections. An empty or
    small body is read and discarded (for at most :data:`_DRAIN_SECONDS`); a
    large one is not worth it. Error replies are closed unread by the caller, so a
    429 whose body never comes is still reported at once with its Retry-After.
    """
    try:
        if not response.is_stream_consumed:
            declared = response.headers.get("content-length", "")
            if response.status_code in (204, 304) or (declared.isdigit() and int(declared) <= _DRAIN_MAX):
                drained = 0
                async with asyncio.timeout(_DRAIN_SECONDS):
                    async for chunk in response.aiter_raw():
                        drained += len(chunk)
                        if drained > _DRAIN_MAX:
                            break
    except (httpx.HTTPError, OSError, TimeoutError):
        pass  # the connection is dropped by aclose; nothing to keep
    finally:
        await response.aclose()


class _Progress:
    """How far a fetch got, so a timeout message can say where it stalled."""

    __slots__ = ("phase", "received", "status", "url")

    def __init__(self, url: str) -> None:
        self.url = url
        self.phase = "queued"
        self.received = 0
        self.status: int | None = None


def _with_elapsed(result: FetchResult, elapsed: float) -> FetchResult:
    return dataclasses.replace(result, elapsed=elapsed)
