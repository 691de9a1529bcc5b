"""Run every document of a feedparser checkout through ``parse_feed`` and print where it diverges.

    python benchmarks/feedparser_parity.py PATH [--show N] [--verbose]

PATH is a feedparser source tree (its ``tests/`` holds ~2,100 documents; a
directory of feed documents works too). Each document is parsed three ways:

* **shipped**: ``crisiswatch.parse.parse_feed`` as the poller calls it (the
  expat fast path where it applies);
* **slow**: the same with the fast path switched off, so feedparser reads it;
* **oracle**: ``feedparser.parse`` on the raw bytes with its default options
  (its own sanitiser, its own charset handling, the document's HTTP headers
  from its ``Header:`` comments, the document's URL as Content-Location so it
  resolves links itself). Its distinct entries (by id, else link + title) are
  turned into (id, title, link, summary) without any crisiswatch code: text
  that feedparser calls plain is kept as is, HTML goes through a plain
  ``html.parser`` reading; links must be http(s).

A **divergence** is a document where shipped != slow, or where crisiswatch's
items differ from the oracle's: another number of items, another id or link,
or other words in a title or summary (compared without whitespace).

Two kinds of difference are on purpose and listed apart, never hidden:
*improved* (feedparser raised, or lost every entry to a bozo error, while
crisiswatch keeps entries: character references, GeoRSS) and *charset chosen
from content* (the document declares no charset that fits its bytes;
feedparser fell back to windows-1252, or to chardet's guess when chardet is
installed, and crisiswatch chose another from the letters the text uses). Documents where feedparser itself fails (it raised,
or it lost every entry to a bozo error) but crisiswatch keeps entries are
counted as *improved* and listed separately, with the reason feedparser gave:
they are what parse.py repairs on purpose (character references, undeclared
charsets), and they must be looked at, not hidden.

Prints figures; exits 0 whatever it finds (a benchmark, not a test).
"""

from __future__ import annotations

import argparse
import codecs
import html
import re
import sys
import time
import warnings
from collections import Counter
from dataclasses import asdict
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser

import crisiswatch.parse as parse_module
from crisiswatch.models import ParsedFeed, ParsedItem

try:
    from crisiswatch.sanitize import strip_unsafe
except ImportError:  # crisiswatch before the text split, for "before" figures
    from crisiswatch.text import strip_unsafe  # type: ignore[no-redef]
try:
    from crisiswatch.sanitize import looks_like_html
except ImportError:  # …and before issue 15
    def looks_like_html(text: str) -> bool:
        return False

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
_HEADER = re.compile(rb"^Header:\s+([^:]+):(.*)$", re.M)
_SUFFIXES = {".xml", ".rdf", ".atom", ".rss"}


def documents(root: Path) -> list[Path]:
    """Every feed document under ``root`` (``root/tests`` when PATH is a feedparser checkout)."""
    if (root / "tests").is_dir():
        root = root / "tests"
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in _SUFFIXES)


def headers_of(body: bytes) -> dict[str, str]:
    """The HTTP headers a feedparser test document asks for (``Header: Name: value`` comments)."""
    found = {k.decode("latin-1").strip().lower(): v.decode("latin-1").strip() for k, v in _HEADER.findall(body)}
    found.setdefault("content-type", "text/xml")  # what feedparser's own test server sends
    return found


def shipped(body: bytes, content_type: str | None, url: str, *, fast: bool) -> ParsedFeed:
    real = parse_module.fastfeed.read
    try:
        if not fast:
            parse_module.fastfeed.read = lambda data: None  # type: ignore[assignment]
        return parse_module.parse_feed(body, content_type=content_type, url=url, fetched_at=NOW)
    finally:
        parse_module.fastfeed.read = real  # type: ignore[assignment]


class _ReferenceText(HTMLParser):
    """An HTML fragment's text as a browser shows it: the oracle's own converter, not crisiswatch's."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "applet"):
            self.skip += 1
        self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "applet"):
            self.skip = max(0, self.skip - 1)
        self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(data)


def reference_text(value: object, kind: str | None) -> str:
    """feedparser's value as text: as-is when it calls it plain, else through a plain HTML reading.

    Plain text that passes feedparser's looks-like-HTML test counts as HTML.

    Entities left over are decoded until stable (crisiswatch's documented rule for
    titles escaped twice), then the text is compared without whitespace: block
    and inline markup may legitimately space words differently.
    """
    if not isinstance(value, str):
        return ""
    text = value
    if kind == "text/plain" and looks_like_html(text):
        kind = "text/html"  # feedparser's own guess (it makes it for RSS; crisiswatch for Atom too)
    if kind and "html" in kind:
        reader = _ReferenceText()
        # A CDATA section inside HTML is read as its text; unclosed, as HTML5 does, as a comment
        # up to the next ">" (html.parser's own handling of both varies by Python version).
        text = re.sub(r"<!\[CDATA\[(?:(.*?)\]\]>|[^>]*>)",
                      lambda m: "" if m.group(1) is None else html.escape(m.group(1), quote=False), text, flags=re.S)
        reader.feed(text)
        reader.close()
        text = "".join(reader.parts)
    for _ in range(3):
        unescaped = html.unescape(text)
        if unescaped == text:
            break
        text = unescaped
    return text


def _squash(text: str | None) -> str:
    return "".join(strip_unsafe(text or "").split())


def _detail(entry: Any, field: str) -> tuple[object, str | None]:
    """A field's value and feedparser's content type for it (a summary copied from content has none)."""
    value = entry.get(field)
    detail = entry.get(f"{field}_detail")
    content = entry.get("content") or []
    if field == "summary" and not isinstance(detail, dict) and content and isinstance(content[0], dict):
        if not value:
            value = content[0].get("value")
        return value, content[0].get("type")
    return value, detail.get("type") if isinstance(detail, dict) else None


def _oracle_link(entry: Any, raw_entry: Any) -> str | None:
    """feedparser's link (resolved by feedparser against xml:base and the feed URL), if it is http(s).

    A guid feedparser copied into ``link`` that is no URL reference at all (no
    scheme, not a path) is an identifier, not a link.
    """
    link = entry.get("link")
    if not isinstance(link, str) or not link.strip():
        return None
    raw_link, raw_id = raw_entry.get("link"), raw_entry.get("id")
    if raw_entry.get("guidislink") and raw_link == raw_id and isinstance(raw_id, str):
        if not re.match(r"^\s*([A-Za-z][A-Za-z0-9+.-]*:|/|\.\.?/)", raw_id):
            return None
    link = "".join(link.split())
    parts = urlsplit(link)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return link


def oracle(body: bytes, headers: dict[str, str], url: str) -> tuple[list[tuple[str, str, str | None, str]] | None,
                                                                     str | None]:
    """feedparser's reading as (identity, title, link, summary) per distinct entry, and the charset it used.

    (None, why) when feedparser failed.

    Read with the feed URL as Content-Location (feedparser resolves links
    against it and xml:base) and, where an entry's link is its guid, again
    without (ids as written, the way crisiswatch keeps them so identities
    survive a feed moving). ``guidislink`` does not depend on the base URL, so a
    document without such an entry needs no second reading (most do not: it
    is a third of the corpus test's CPU).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            # Not feedparser's HTML sanitiser: its sgmllib-style reading of broken markup
            # ("<script\n\n>") keeps script text as text; the oracle reads the HTML as written.
            resolved = feedparser.parse(body, response_headers={**headers, "content-location": url},
                                        sanitize_html=False)
            raw_entries = resolved.get("entries") or []
            if any(entry.get("guidislink") for entry in raw_entries):
                plain_headers = {k: v for k, v in headers.items() if k != "content-location"}
                raw_entries = feedparser.parse(body, response_headers=plain_headers,
                                               sanitize_html=False).get("entries") or []
        except Exception as exc:  # feedparser raising on a document is what "improved" means
            return None, f"feedparser raised {exc.__class__.__name__}: {str(exc)[:80]}"
    out: list[tuple[str, str, str | None, str]] = []
    seen: set[str] = set()
    for entry, raw_entry in zip(resolved.get("entries") or [], raw_entries, strict=False):
        title = _squash(reference_text(*_detail(entry, "title")))
        summary = _squash(reference_text(*_detail(entry, "summary")))
        link = _oracle_link(entry, raw_entry)
        # Ids as feedparser resolves them against the document (crisiswatch keeps relative ids
        # as written, so that they survive a feed moving: compare() resolves them first).
        # Read without a document base, feedparser lets an entry's xml:base leak into the
        # entries after it, so the resolved reading is the reference.
        guid = " ".join(strip_unsafe(entry.get("id") or "").split())
        if not (title or summary or link):
            continue
        identity = guid or (f"{link}\n{title}" if link else f"{title}\n{summary}")
        if identity in seen:
            continue
        seen.add(identity)
        out.append((guid, title, link, summary))
    bozo = resolved.get("bozo_exception")
    if not out and bozo is not None:
        return None, f"feedparser bozo, no entries: {bozo.__class__.__name__}: {str(bozo)[:80]}"
    return out, resolved.get("encoding")


def compare(feed: ParsedFeed, expected: list[tuple[str, str, str | None, str]], url: str) -> list[str]:
    """Where crisiswatch's items differ from feedparser's distinct entries (text compared without spaces)."""
    out: list[str] = []
    if len(feed.items) != len(expected):
        out.append(f"{len(feed.items)} items != feedparser's {len(expected)} distinct entries")
    for n, (item, (guid, title, link, summary)) in enumerate(zip(feed.items, expected, strict=False)):
        problems = []
        mine = item.guid or ""
        if mine != guid[: parse_module.ID_MAX] and not mine.startswith("sha1:") and urljoin(url, mine) != guid:
            problems.append(f"guid {item.guid!r} != {guid!r}")
        if title and not _same_text(item.title, title, parse_module.TITLE_MAX):
            problems.append(f"title {item.title[:90]!r} != {title[:90]!r}")
        if item.link != link:
            problems.append(f"link {item.link!r} != {link!r}")
        if summary and not _same_text(item.summary, summary, parse_module.SUMMARY_MAX):
            problems.append(f"summary {item.summary[:90]!r} != {summary[:90]!r}")
        if problems:
            out.append(f"item {n}: " + "; ".join(problems))
            if len(out) >= 4:
                break
    return out


def differences(a: ParsedFeed, b: ParsedFeed) -> list[str]:
    """Field differences between two crisiswatch readings of one document (fast path vs feedparser path)."""
    out: list[str] = []
    if a.title != b.title:
        out.append(f"feed title {a.title!r} != {b.title!r}")
    if a.error != b.error:
        out.append(f"error {a.error!r} != {b.error!r}")
    if [i.key for i in a.items] != [i.key for i in b.items]:
        out.append(f"keys differ ({len(a.items)} vs {len(b.items)} items)")
    for x, y in zip(a.items, b.items, strict=False):
        if x != y:
            dx, dy = asdict(x), asdict(y)
            for field in ParsedItem.__dataclass_fields__:
                if dx[field] != dy[field]:
                    out.append(f"{field}: {str(dx[field])[:90]!r} != {str(dy[field])[:90]!r}")
            break
    return out


def _same_text(ours: str, theirs: str, cap: int) -> bool:
    """Equal without whitespace, allowing for crisiswatch's cap (it cut the text and added an ellipsis)."""
    mine = _squash(ours)
    if mine == theirs:
        return True
    return len(ours) >= cap - 1 and ours.endswith("…") and theirs.startswith(mine[:-1])


def _codec(name: str | None) -> str | None:
    try:
        return codecs.lookup(name).name if name else None
    except LookupError:
        return None


def declared(body: bytes, headers: dict[str, str]) -> set[str | None]:
    """The charsets a document names (HTTP header, XML declaration, BOM), as codec names."""
    names = getattr(parse_module, "_declared", None)  # absent in crisiswatch before issue 15
    return names(body, headers.get("content-type")) if names else set()


def _encoding_used(body: bytes, content_type: str | None) -> str | None:
    """The charset crisiswatch decoded the document with (None for a crisiswatch without the helper)."""
    to_utf8 = getattr(parse_module, "_to_utf8", None)
    return to_utf8(body, content_type)[1].get("encoding") if to_utf8 else None


def _chardet() -> bool:
    try:
        import chardet  # noqa: F401
    except ImportError:
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("path", type=Path, help="a feedparser checkout (or any directory of feed documents)")
    ap.add_argument("--show", type=int, default=40, help="divergences to print in full (default 40)")
    ap.add_argument("--verbose", action="store_true", help="also list every improved document")
    args = ap.parse_args(argv)

    docs = documents(args.path)
    if not docs:
        print(f"no feed documents under {args.path}", file=sys.stderr)
        return 2
    counts: Counter[str] = Counter()
    fast_vs_slow: list[tuple[Path, list[str]]] = []
    vs_oracle: list[tuple[Path, list[str]]] = []
    improved: list[tuple[Path, str]] = []
    recharset: list[tuple[Path, str]] = []
    started = time.perf_counter()
    for path in docs:
        body = path.read_bytes()
        headers = headers_of(body)
        rel = path.relative_to(args.path) if path.is_relative_to(args.path) else path
        # A server whose URL is the document's Content-Location, when it names one.
        url = headers.get("content-location") or f"http://127.0.0.1:8097/{rel.as_posix()}"
        content_type = headers.get("content-type")
        fast = shipped(body, content_type, url, fast=True)
        slow = shipped(body, content_type, url, fast=False)
        counts["documents"] += 1
        counts["items"] += len(fast.items)
        if fast != slow:
            fast_vs_slow.append((rel, differences(fast, slow)))
        expected, note = oracle(body, headers, url)
        if expected is None:
            if fast.items:
                improved.append((rel, f"{note}; crisiswatch kept {len(fast.items)} item(s)"))
            else:
                counts["both fail"] += 1
            continue
        diff = compare(fast, expected, url)
        ours = _encoding_used(body, content_type)
        if (diff and note and ours and not body.isascii() and _codec(ours) != _codec(note)
                and _codec(note) not in declared(body, headers)):
            # feedparser fell back to a fixed guess (windows-1252; chardet's, if installed) for a
            # document that does not declare its charset; crisiswatch chose from the content.
            recharset.append((rel, f"feedparser {note}, crisiswatch {ours}: " + "; ".join(diff[:1])))
        elif diff:
            vs_oracle.append((rel, diff))
        else:
            counts["agree"] += 1
    elapsed = time.perf_counter() - started

    shown = 0
    for label, found in (("fast path != feedparser path", fast_vs_slow), ("crisiswatch != feedparser", vs_oracle)):
        for rel, diff in found:
            if shown >= args.show:
                break
            shown += 1
            print(f"DIVERGES ({label}) {rel}")
            for line in diff[:6]:
                print(f"    {line}")
    if args.verbose:
        for rel, why in improved:
            print(f"IMPROVED {rel}: {why}")
    for rel, why in recharset:
        print(f"CHARSET {rel}: {why[:200]}")
    print()
    print(f"documents:                     {counts['documents']}  ({elapsed:.1f} s)")
    print(f"items kept by crisiswatch:     {counts['items']}")
    print(f"agree with feedparser:         {counts['agree']}")
    print(f"both find nothing:             {counts['both fail']}")
    print(f"improved (feedparser fails):   {len(improved)}")
    print(f"charset chosen from content:   {len(recharset)}  (feedparser guessed{'' if _chardet() else ' windows-1252, no chardet'})")
    print(f"divergences, fast vs slow:     {len(fast_vs_slow)}")
    print(f"divergences, vs feedparser:    {len(vs_oracle)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
