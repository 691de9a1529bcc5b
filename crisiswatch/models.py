"""Plain data passed between the pipeline stages.

The pipeline is feed → fetch → parse → normalise → match → store → events. Each
stage hands the next one of these frozen records, so stages can run in other
threads or processes (they pickle) and be tested on their own.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from .units import MAX_LOOKBACK, parse_duration

SEVERITIES: tuple[str, ...] = ("low", "medium", "high", "critical")
"""Ordered weakest first; the index is the rank used for comparisons."""


def severity_rank(severity: str) -> int:
    return SEVERITIES.index(severity)


def raise_severity(severity: str, steps: int = 1) -> str:
    """One step up the ladder, saturating at critical (used for surges)."""
    return SEVERITIES[min(len(SEVERITIES) - 1, severity_rank(severity) + steps)]


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(dt: datetime | None) -> str | None:
    """The one timestamp format stored and exported: ISO-8601 UTC ending in Z.

    Fixed width, so string order in SQLite is time order.
    """
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    elif dt.tzinfo is not UTC:
        dt = dt.astimezone(UTC)
    # isoformat is ~5× cheaper than strftime (a cold poll formats 20,000 stamps) and,
    # unlike glibc's %Y, pads years before 1000 to four digits.
    return dt.isoformat(timespec="seconds")[:19] + "Z"


def from_iso(value: str | None, *, naive: tzinfo = UTC) -> datetime | None:
    """The one ISO 8601 time parser: stored stamps and user input → an aware UTC datetime.

    A time without an offset is in ``naive`` (UTC, as crisiswatch stores and
    exports them; a report's ``--tz`` zone for what the user types); a date
    alone is its midnight. Raises ValueError otherwise.
    """
    if not value:
        return None
    dt = datetime.fromisoformat(value)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=naive)
    return dt if dt.tzinfo is UTC else dt.astimezone(UTC)


def parse_when(text: str, *, now: datetime, naive: tzinfo = UTC) -> datetime:
    """A ``--since``/``--until`` value: a duration back from ``now`` (``24h``, ``7d``) or an ISO date or time.

    The one parser behind ``export --since`` and ``report --since/--until``;
    raises OverflowError for a duration further back than a century, ValueError
    for anything else (each command words its own message).
    """
    text = text.strip()
    try:
        seconds = parse_duration(text, maximum=math.inf)
    except ValueError:
        pass
    else:
        if seconds > MAX_LOOKBACK:
            raise OverflowError(f"{text}: further back than any date")
        return now - timedelta(seconds=seconds)
    when = from_iso(text, naive=naive)
    if when is None:
        raise ValueError("empty time")
    return when


@dataclass(frozen=True, slots=True)
class FetchResult:
    """What one HTTP fetch of one feed produced, success or not.

    ``error`` is a short human reason ("timed out after 20s", "HTTP 500",
    "body over 10MB cap"); ``error_kind`` a stable token for logic
    (timeout, size, http, network, redirect, gone, ratelimit).
    """

    url: str
    status: int | None = None
    body: bytes | None = None
    content_type: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    moved_to: str | None = None
    """Set when every hop to the final URL was a permanent redirect (301/308)."""
    error: str | None = None
    error_kind: str | None = None
    retry_after: float | None = None
    """Seconds the server asked us to wait (429/503 Retry-After)."""
    elapsed: float = 0.0
    final_url: str | None = None
    """The URL that gave this answer after every redirect, permanent or not (None: no answer).
    Discovery resolves a page's relative links against it; a feed is never re-pointed by it."""

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def ok(self) -> bool:
        return self.error is None


SHARED_LINK_MARK = "\x1f"
"""Separates link and title digest in a shared-link key; no URL or guid holds it (control character)."""


def shared_link_key(link: str, title: str) -> str:
    """The key of an entry that shares its link with other entries of its document.

    The store also looks an item up under this key and under the bare link, so
    an entry keeps its identity when its link stops (or starts) being shared.
    """
    digest = hashlib.sha1(title.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"{link}{SHARED_LINK_MARK}{digest}"


@dataclass(frozen=True, slots=True)
class ParsedItem:
    """One entry of a feed, already cleaned to plain, bounded, safe text."""

    key: str
    """Identity within its feed: guid, else link, else a hash of title + summary. When several
    guid-less entries of one document share a link (podcast episodes all linking the show's
    page), each is keyed by :func:`shared_link_key` (link + title) instead."""
    title: str
    link: str | None
    guid: str | None
    summary: str
    author: str | None
    published: datetime
    """UTC; missing dates become the fetch time, future dates are clamped to it."""

    def __reduce__(self) -> tuple[type[ParsedItem], tuple[Any, ...]]:
        # Items cross from the parse workers by pickle, 10,000 per cold poll. The default for
        # a frozen slots dataclass calls dataclasses.fields() per object (~9 µs); this is ~3×
        # cheaper, and it is the poller's single busiest process that pays it.
        return ParsedItem, (self.key, self.title, self.link, self.guid, self.summary, self.author, self.published)


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    title: str | None
    items: tuple[ParsedItem, ...]
    error: str | None = None
    """Set when the document is not a usable feed (HTML page, empty, malformed)."""

    def __reduce__(self) -> tuple[type[ParsedFeed], tuple[Any, ...]]:
        return ParsedFeed, (self.title, self.items, self.error)  # see ParsedItem.__reduce__


@dataclass(frozen=True, slots=True)
class Hit:
    """One keyword occurrence, with offsets into the ORIGINAL text."""

    keyword: str
    """Canonical term."""
    matched: str
    """The text as written in the original, ``text[start:end]``."""
    start: int
    end: int
    severity: str
    alias: str = ""
    """The keyword or alias spelling that matched."""
    normalised: str = ""
    """The normalised form of the matched text."""
    ending: str = ""
    """Grammatical ending accepted after the alias ('' when none)."""

    def as_json(self) -> dict[str, object]:
        return {
            "keyword": self.keyword,
            "matched": self.matched,
            "start": self.start,
            "end": self.end,
            "severity": self.severity,
        }


@dataclass(frozen=True, slots=True)
class Assessment:
    """The matcher's verdict on one item: does it alert, how seriously, why."""

    hits: tuple[Hit, ...]
    keywords: tuple[str, ...]
    """Canonical terms that alert, sorted, unique."""
    severity: str | None
    """None means no alert (no keyword, only context keywords, or muted by a rule)."""
    rules: tuple[str, ...] = field(default=())
    """Names of the rules that fired."""

    @property
    def alerts(self) -> bool:
        return self.severity is not None

    def __reduce__(self) -> tuple[type[Assessment], tuple[Any, ...]]:
        return Assessment, (self.hits, self.keywords, self.severity, self.rules)  # see ParsedItem.__reduce__
