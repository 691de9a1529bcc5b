"""Turn whatever URL an analyst pastes into a feed URL and a name.

People copy the address of the outlet's page, not of its RSS file, so
``feeds add`` follows the page's ``<link rel="alternate">`` the way browsers
and feed readers do. The first fetch is bounded in time and size because the
URL is arbitrary: it goes through the poller's own :class:`~crisiswatch.fetch.Fetcher`
and its documents through the poller's own parser (:func:`crisiswatch.parse.parse_feed`);
there is no second HTTP client or feedparser call here.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

from .config import Settings
from .errors import DiscoveryError
from .fetch import Fetcher
from .sanitize import plain_text

FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/rdf+xml")
MAX_DISCOVERY_BYTES = 5_000_000
_FEED_SNIFF = re.compile(rb"<(rss|feed|rdf:RDF)[\s>]", re.IGNORECASE)
_HTML_SNIFF = re.compile(rb"<(!doctype\s+html|html|head|body)[\s>]", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Discovered:
    url: str
    """The feed's own URL (the alternate link for a page, else the URL given)."""
    title: str
    """The feed's title as plain text, else its host."""
    via_page: bool = False


class _LinkFinder(HTMLParser):
    """Collects feed ``<link rel="alternate">`` hrefs and ``<base href>`` in document order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[str, str]] = []
        self.base: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k.lower(): (v or "") for k, v in attrs}
        if tag == "base" and self.base is None and a.get("href"):
            self.base = a["href"].strip()
        if tag not in ("link", "a"):
            return
        rels = a.get("rel", "").lower().split()
        kind = a.get("type", "").split(";")[0].strip().lower()
        if "alternate" in rels and kind in FEED_TYPES and a.get("href", "").strip():
            self.links.append((a["href"].strip(), a.get("title", "").strip()))

    handle_startendtag = handle_starttag


def find_feed_links(html: str, base_url: str) -> list[tuple[str, str]]:
    """Absolute alternate feed URLs and their link titles, first one first."""
    finder = _LinkFinder()
    try:
        finder.feed(html)
        finder.close()
    except Exception:  # broken markup still yields the links seen so far
        pass
    base = urljoin(base_url, finder.base) if finder.base else base_url
    out: list[tuple[str, str]] = []
    for href, title in finder.links:
        url = urljoin(base, href)
        if urlsplit(url).scheme in ("http", "https") and url not in (u for u, _ in out):
            out.append((url, title))
    return out


def _looks_like_feed(content_type: str, body: bytes) -> bool:
    """Sniff the bytes first: servers label feeds text/html and pages text/xml often enough.

    Whichever root-ish tag comes first wins, so a page that mentions ``<rss>``
    in an inline script is still a page.
    """
    head = body[:4096]
    feed = _FEED_SNIFF.search(head)
    html = _HTML_SNIFF.search(head)
    if feed and (not html or feed.start() < html.start()):
        return True
    if html:
        return False
    return any(t in content_type for t in ("xml", "rss", "atom"))


def _host(url: str) -> str:
    host = urlsplit(url).hostname or url
    return host.removeprefix("www.")


async def _get(fetcher: Fetcher, url: str) -> tuple[str, str, bytes]:
    """(final URL, content type, body) through the poller's bounded fetcher, or a DiscoveryError.

    The same :class:`~crisiswatch.fetch.Fetcher` as every poll: one deadline for
    the whole request, the size cap counted on *decompressed* bytes (a 3 KB
    double-gzip body no longer inflates to gigabytes), redirects followed by hand
    with loops, schemes and hop counts checked.
    """
    result = await fetcher.fetch(url)
    if not result.ok or result.body is None:
        raise DiscoveryError(f"{url}: {result.error or 'no body'}")
    return result.final_url or url, (result.content_type or "").lower(), result.body


def _feed_title(body: bytes, content_type: str, url: str) -> str | None:
    """The feed's title, or None when the bytes are no feed.

    Parsed by :func:`crisiswatch.parse.parse_feed`, the poller's own safe path
    (DOCTYPE and entity declarations stripped, markup and entity budgets, CPU
    limit), so a page built to amplify entities never reaches feedparser whole.
    """
    from .models import utcnow
    from .parse import parse_feed

    parsed = parse_feed(body, content_type=content_type or "application/xml", url=url, fetched_at=utcnow())
    if parsed.error:
        return None
    return plain_text(parsed.title or "", max_len=80) or _host(url)


def discover(url: str, *, timeout: float = 15.0, max_bytes: int = MAX_DISCOVERY_BYTES,
             user_agent: str = "crisiswatch") -> Discovered:
    """Fetch ``url``; if it is a feed use it, if it is a page follow its first feed link."""
    settings = Settings(timeout=timeout, max_feed_bytes=max_bytes, user_agent=user_agent,
                        max_connections=2, per_host_connections=2)
    return asyncio.run(_discover(url, settings))


async def _discover(url: str, settings: Settings) -> Discovered:
    async with Fetcher(settings) as fetcher:
        final, ctype, body = await _get(fetcher, url)
        if _looks_like_feed(ctype, body):
            title = _feed_title(body, ctype, final)
            if title is None:
                raise DiscoveryError(f"{url}: looks like XML but is not an RSS/Atom feed")
            return Discovered(url, title)
        charset = re.search(r"charset=([\w-]+)", ctype)
        try:
            html = body.decode(charset.group(1) if charset else "utf-8", errors="replace")
        except LookupError:
            html = body.decode("utf-8", errors="replace")
        links = find_feed_links(html, final)
        if not links:
            raise DiscoveryError(
                f"{url}: a web page with no RSS/Atom <link rel=\"alternate\">; pass the feed's own URL"
            )
        feed_url, link_title = links[0]
        f_final, f_ctype, f_body = await _get(fetcher, feed_url)
        title = _feed_title(f_body, f_ctype, f_final)
        if title is None:
            raise DiscoveryError(f"{feed_url} (linked from {url}) is not an RSS/Atom feed")
        if title == _host(f_final) and link_title:
            title = plain_text(link_title, max_len=80) or title
        return Discovered(feed_url, title, via_page=True)
