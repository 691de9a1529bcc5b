"""parse_feed on real feed formats and on hostile documents (issue 6 items 3–5).

Hostile documents come from the fault server over loopback, fetched by the
real Fetcher, so charset headers and bytes are exactly what the poller sees.
"""

from __future__ import annotations

import io
import multiprocessing
import pickle
import signal
import time
import tracemalloc
import unicodedata
import uuid
import xml.sax
import xml.sax.handler
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from faultserver import SERBIAN_TITLES, FaultServer, big_feed

import crisiswatch.parse as parse_module
from crisiswatch.config import Settings
from crisiswatch.fetch import Fetcher
from crisiswatch.models import ParsedFeed, ParsedItem
from crisiswatch.parse import _strip_prolog, parse_feed

FIXTURES = Path(__file__).parent / "fixtures"
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def parse(body: bytes, content_type: str | None = None, url: str = "https://feeds.example/feed") -> ParsedFeed:
    return parse_feed(body, content_type=content_type, url=url, fetched_at=NOW)


async def fetch_and_parse(server: FaultServer, path: str) -> ParsedFeed:
    async with Fetcher(Settings(timeout=5.0)) as f:
        r = await f.fetch(server.url(path))
    assert r.ok and r.body is not None, r.error
    return parse_feed(r.body, content_type=r.content_type, url=r.url, fetched_at=NOW)


def every_string(feed: ParsedFeed) -> list[str]:
    out = [feed.title or "", feed.error or ""]
    for item in feed.items:
        out += [item.key, item.title, item.link or "", item.guid or "", item.summary, item.author or ""]
    return out


# -- formats -------------------------------------------------------------------


def test_rss_091() -> None:
    feed = parse((FIXTURES / "rss091.xml").read_bytes(), "application/rss+xml")
    assert feed.error is None and feed.title == "Balkan Wire 0.91"
    assert [i.title for i in feed.items] == ["KFOR reinforces patrols near Jarinje", "Talks in Brussels postponed"]
    assert feed.items[0].key == "https://wire.example/091/1"  # no guid: the link is the identity
    assert feed.items[0].published == NOW  # undated


def test_rss_092_item_without_title_gets_one_from_its_summary() -> None:
    feed = parse((FIXTURES / "rss092.xml").read_bytes(), "text/xml")
    assert feed.error is None and len(feed.items) == 2
    assert feed.items[0].summary == "Residents of North Mitrovica set up a roadblock."
    assert feed.items[1].title.startswith("An item with only a description")


def test_rss_10_rdf() -> None:
    feed = parse((FIXTURES / "rss10.rdf").read_bytes(), "application/rdf+xml")
    assert feed.error is None and feed.title == "RDF Site Summary"
    first = feed.items[0]
    assert first.title == "EULEX statement on Banjska"
    assert first.published == datetime(2026, 11, 24, 7, 30, tzinfo=UTC)
    assert first.author == "Desk Pristina"


def test_rss_20() -> None:
    feed = parse((FIXTURES / "rss20.xml").read_bytes(), "application/rss+xml; charset=utf-8")
    assert feed.error is None and feed.title == "Kosovo Online & Vesti"
    a, b, c = feed.items
    assert (a.guid, a.key, a.link) == ("vesti-10001", "vesti-10001", "https://vesti.example/2026/11/vucic-sastanak")
    assert a.summary == "Predsednik Vučić razgovarao je sa predstavnicima."  # markup and script gone
    assert a.published == datetime(2026, 11, 24, 17, 45, tzinfo=UTC)
    assert a.author == "Redakcija"
    assert b.title == "Кфор појачао присуство у Звечану"
    assert b.summary == "Full text about KFOR in Zvečan."  # content:encoded when no description
    assert c.published == datetime(2026, 11, 24, 21, 0, tzinfo=UTC)
    assert c.published.tzinfo is UTC


def test_atom_10() -> None:
    feed = parse((FIXTURES / "atom10.atom").read_bytes(), "application/atom+xml")
    assert feed.error is None and feed.title == "Lajme nga Kosova"
    a, b = feed.items
    assert a.title == "Kurti: barrikadat në veri"
    assert a.key == "tag:lajme.example,2026:1" and a.link == "https://lajme.example/1"
    assert a.published == datetime(2026, 11, 24, 9, 0, tzinfo=UTC)  # published wins over updated
    assert a.author == "Redaksia"
    assert b.published == datetime(2026, 11, 24, 9, 15, tzinfo=UTC)  # only updated
    assert b.summary == "KFOR në Jarinjë."


def test_atom_03() -> None:
    feed = parse((FIXTURES / "atom03.xml").read_bytes(), "application/atom+xml")
    assert feed.error is None and [i.title for i in feed.items] == ["Brnjak crossing reopened"]


def test_feed_served_as_text_html_still_parses() -> None:
    feed = parse((FIXTURES / "rss20.xml").read_bytes(), "text/html; charset=utf-8")
    assert feed.error is None and len(feed.items) == 3


def test_slightly_bozo_feed_with_entries_still_parses() -> None:
    body = (b'<rss version="2.0"><channel><title>T</title><item><title>Tom & Jerry&nbsp;at Ibar</title>'
            b"<guid>1</guid></item><item><title>second</title><guid>2</guid></item></channel></rss>")
    feed = parse(body, "application/rss+xml")
    assert feed.error is None
    assert [i.title for i in feed.items] == ["Tom & Jerry at Ibar", "second"]


# -- errors with a cause -----------------------------------------------------------


async def test_html_page_instead_of_feed(fault_server: FaultServer) -> None:
    feed = await fetch_and_parse(fault_server, "/html")
    assert feed.error == "got an HTML page, not a feed" and feed.items == ()


@pytest.mark.parametrize("body", [b"", b"   \n\t ", b"\xef\xbb\xbf\n"])
def test_empty_body(body: bytes) -> None:
    assert parse(body).error == "empty body"


async def test_empty_body_from_server(fault_server: FaultServer) -> None:
    async with Fetcher(Settings(timeout=2.0)) as f:
        r = await f.fetch(fault_server.url("/empty"))
    assert r.ok and r.body == b""
    assert parse_feed(r.body, content_type=r.content_type, url=r.url, fetched_at=NOW).error == "empty body"


async def test_malformed_feed(fault_server: FaultServer) -> None:
    feed = await fetch_and_parse(fault_server, "/malformed")
    assert feed.error and feed.error.startswith("malformed feed: line 1, column")


async def test_well_formed_xml_that_is_not_a_feed(fault_server: FaultServer) -> None:
    feed = await fetch_and_parse(fault_server, "/not-a-feed")
    assert feed.error == "not a feed: the document's root element is <config>"


def test_binary_garbage_is_an_error_not_an_exception() -> None:
    feed = parse(bytes(range(256)) * 40)
    assert feed.error and not feed.items


# -- XML attacks -------------------------------------------------------------------


@pytest.fixture
def secret_file(tmp_path: Path) -> tuple[Path, str]:
    secret = f"TOP-SECRET-{uuid.uuid4().hex}"
    path = tmp_path / "secret.txt"
    path.write_text(secret + "\n")
    return path, secret


@pytest.mark.parametrize("style", ["general", "parameter", "comment", "oneline", "utf16"])
async def test_xxe_never_resolves(fault_server: FaultServer, secret_file: tuple[Path, str], style: str) -> None:
    path, secret = secret_file
    feed = await fetch_and_parse(fault_server, f"/xxe?path={path}&style={style}")
    assert secret not in repr(feed)
    assert all(secret not in s for s in every_string(feed))
    # It parses safely without the entity: the item survives, the reference stays inert text.
    assert [i.key for i in feed.items] == ["urn:xxe"]


@pytest.mark.parametrize("variant", ["late-doctype", "after-root", "utf-16-no-bom", "utf-32", "pi-and-comment-first"])
def test_xxe_variants_in_odd_places(secret_file: tuple[Path, str], variant: str) -> None:
    path, secret = secret_file
    dtd = f'<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file://{path}"><!ENTITY % p SYSTEM "file://{path}">%p;]>'
    feed_xml = '<rss version="2.0"><channel><title>T &xxe;</title><item><title>a &xxe;</title><guid>1</guid></item>'
    doc = {
        "late-doctype": f'<rss version="2.0">{dtd}{feed_xml[19:]}</channel></rss>',
        "after-root": f'<?xml version="1.0"?>{feed_xml}</channel></rss>{dtd}',
        "utf-16-no-bom": f'<?xml version="1.0" encoding="utf-16"?>{dtd}{feed_xml}</channel></rss>',
        "utf-32": f'<?xml version="1.0" encoding="utf-32"?>{dtd}{feed_xml}</channel></rss>',
        "pi-and-comment-first": f'<?xml version="1.0"?><?xml-stylesheet href="x"?><!-- c -->{dtd}{feed_xml}</channel></rss>',
    }[variant]
    body = {"utf-16-no-bom": doc.encode("utf-16-le"), "utf-32": doc.encode("utf-32")}.get(variant, doc.encode())
    feed = parse(body)
    assert secret not in repr(feed)
    assert [i.key for i in feed.items] == ["1"]


async def test_xxe_probe_would_catch_a_leak(fault_server: FaultServer, secret_file: tuple[Path, str]) -> None:
    """Control: a parser that *does* resolve external entities leaks the secret from the same document."""
    path, secret = secret_file
    async with Fetcher(Settings(timeout=2.0)) as f:
        body = (await f.fetch(fault_server.url(f"/xxe?path={path}"))).body or b""
    texts: list[str] = []

    class Collect(xml.sax.handler.ContentHandler):
        def characters(self, content: str) -> None:
            texts.append(content)

    unsafe = xml.sax.make_parser()
    unsafe.setFeature(xml.sax.handler.feature_external_ges, True)
    unsafe.setContentHandler(Collect())
    unsafe.parse(io.BytesIO(body))
    assert secret in "".join(texts)


async def test_billion_laughs_does_not_expand(fault_server: FaultServer) -> None:
    async with Fetcher(Settings(timeout=2.0)) as f:
        r = await f.fetch(fault_server.url("/billion-laughs"))
    assert r.body is not None
    tracemalloc.start()
    start = time.monotonic()
    try:
        feed = parse_feed(r.body, content_type=r.content_type, url=r.url, fetched_at=NOW)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.monotonic() - start < 2
    assert peak < 20_000_000
    assert all("lollol" not in s for s in every_string(feed))
    assert [i.key for i in feed.items] == ["urn:lol"]


async def test_quadratic_blowup_does_not_expand(fault_server: FaultServer) -> None:
    """One 100 KB entity referenced 20,000 times would be 2 GB if expanded."""
    feed = await fetch_and_parse(fault_server, "/quadratic")
    assert all("A" * 1000 not in s for s in every_string(feed))


async def test_feedparser_never_fetches_dtd_or_stylesheet(fault_server: FaultServer) -> None:
    feed = await fetch_and_parse(fault_server, "/external-dtd")
    assert feed.error is None and len(feed.items) == 1
    assert "FETCHED-DTD" not in repr(feed)
    assert fault_server.requests_to("/dtd") == [] and fault_server.requests_to("/xsl") == []


def test_a_body_that_looks_like_a_url_or_path_is_not_opened(fault_server: FaultServer) -> None:
    tag = uuid.uuid4().hex
    feed = parse(fault_server.url(f"/rss?tag={tag}").encode())
    assert feed.error and not feed.items
    assert not [r for r in fault_server.requests if tag in r.path]
    feed = parse(b"/etc/passwd")
    assert "root:" not in repr(feed)


@pytest.mark.parametrize(
    ("doc", "root"),
    [
        (b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "]>"><!ENTITY b \'>\'>]><rss/>', "rss"),
        (b'<!DOCTYPE rss [<!-- "quote ]> in comment --><!ENTITY x "<b>">]>\n<rss/>', "rss"),
        (b'<!-- <!DOCTYPE x [ <!ENTITY y "z"> ]> -->\n<?pi <not-root?><feed/>', "feed"),
        (b'<!DOCTYPE rss [<!ENTITY x "unterminated', None),
        (b"<!DOCTYPE html>\n<html><body/></html>", "html"),
    ],
)
def test_prolog_stripper(doc: bytes, root: str | None) -> None:
    out, found, _ = _strip_prolog(doc)
    assert found == root
    assert b"ENTITY" not in out and b"DOCTYPE" not in out


# -- content -------------------------------------------------------------------------


@pytest.mark.parametrize("charset", ["cp1250", "iso-8859-2"])
@pytest.mark.parametrize("declare", ["http", "xml", "both"])
async def test_declared_encodings(fault_server: FaultServer, charset: str, declare: str) -> None:
    feed = await fetch_and_parse(fault_server, f"/encoded?charset={charset}&declare={declare}")
    assert feed.error is None
    assert tuple(i.title for i in feed.items) == SERBIAN_TITLES
    assert feed.title == "Vesti - Srbija"


async def test_cp1250_mislabelled_as_utf8_is_rescued(fault_server: FaultServer) -> None:
    """A regional CMS that says UTF-8 but sends Windows-1250: Central European beats feedparser's Western guess."""
    feed = await fetch_and_parse(fault_server, "/encoded?charset=cp1250&declare=wrong")
    assert tuple(i.title for i in feed.items) == SERBIAN_TITLES


def test_albanian_mislabelled_keeps_e_diaeresis_and_c_cedilla() -> None:
    body = ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
            "<item><guid>1</guid><title>Kryeministri në Mitrovicë, çështja e veriut</title></item>"
            "</channel></rss>").encode("cp1252")
    assert parse(body, "application/rss+xml; charset=utf-8").items[0].title == (
        "Kryeministri në Mitrovicë, çështja e veriut")


@pytest.mark.parametrize("declare", ["xml", "both"])
async def test_utf16(fault_server: FaultServer, declare: str) -> None:
    feed = await fetch_and_parse(fault_server, f"/encoded?charset=utf-16&declare={declare}")
    assert tuple(i.title for i in feed.items) == SERBIAN_TITLES


async def test_terminal_escapes_controls_and_bidi_are_stripped(fault_server: FaultServer) -> None:
    feed = await fetch_and_parse(fault_server, "/ansi")
    assert len(feed.items) == 3
    for s in every_string(feed):
        assert "\x1b" not in s and "\x9b" not in s
        assert not [ch for ch in s if unicodedata.category(ch) in ("Cc", "Cf")], repr(s)
    assert feed.items[0].title == "KFOR at Jarinje"
    assert feed.items[0].summary == "summary blink"
    assert feed.items[1].title == "Vučić gnp.exe says hi"


async def test_long_fields_are_capped_with_an_ellipsis(fault_server: FaultServer) -> None:
    (item,) = (await fetch_and_parse(fault_server, "/long-title")).items
    assert len(item.title) <= 1000 and item.title.endswith("…")
    assert len(item.summary) <= 4000 and item.summary.endswith("…")


async def test_future_dates_clamped_to_fetch_time(fault_server: FaultServer) -> None:
    feed = await fetch_and_parse(fault_server, "/future-dates")
    assert [i.published for i in feed.items] == [NOW, NOW]


async def test_missing_dates_take_fetch_time(fault_server: FaultServer) -> None:
    feed = await fetch_and_parse(fault_server, "/no-dates")
    assert [i.published for i in feed.items] == [NOW, NOW]


def test_absurd_past_dates_count_as_missing() -> None:
    body = (b'<rss version="2.0"><channel><title>t</title>'
            b"<item><guid>1</guid><title>a</title><pubDate>Thu, 01 Jan 1970 00:00:00 GMT</pubDate></item>"
            b"<item><guid>2</guid><title>b</title><pubDate>Mon, 01 Jan 0001 00:00:00 GMT</pubDate></item>"
            b"</channel></rss>")
    assert [i.published for i in parse(body).items] == [NOW, NOW]


def test_naive_fetch_time_is_treated_as_utc() -> None:
    body = (FIXTURES / "rss091.xml").read_bytes()
    feed = parse_feed(body, content_type=None, url="https://x.example/", fetched_at=NOW.replace(tzinfo=None))
    assert feed.items[0].published == NOW


async def test_items_without_guid_or_link_are_still_deduplicated(fault_server: FaultServer) -> None:
    first = await fetch_and_parse(fault_server, "/no-guid")
    again = await fetch_and_parse(fault_server, "/no-guid")
    keys = [i.key for i in first.items]
    assert len(keys) == 3 and len(set(keys)) == 3
    assert all(k.startswith("sha1:") for k in keys)
    assert keys == [i.key for i in again.items], "identity is stable across polls"


async def test_duplicates_inside_one_document_stored_once(fault_server: FaultServer) -> None:
    feed = await fetch_and_parse(fault_server, "/duplicates")
    keys = [i.key for i in feed.items]
    assert len(keys) == len(set(keys)) == 4


async def test_only_http_links_survive(fault_server: FaultServer) -> None:
    feed = await fetch_and_parse(fault_server, "/bad-links")
    links = {i.title: i.link for i in feed.items}
    assert links["js"] is None and links["data"] is None and links["file"] is None
    assert links["relative"] == fault_server.url("/news/relative-1")


def test_guid_is_not_rewritten_against_the_feed_url() -> None:
    """A relative-looking guid must not change when the feed URL changes (a 301 would re-alert everything)."""
    body = b'<rss version="2.0"><channel><title>t</title><item><guid>42</guid><title>x</title></item></channel></rss>'
    a = parse(body, url="https://old.example/feed").items[0]
    b = parse(body, url="https://new.example/rss").items[0]
    assert a.key == b.key == "42" and a.link is None


async def test_five_megabyte_feed_parses_in_reasonable_time() -> None:
    body = big_feed(5)
    start = time.process_time()  # CPU, so a loaded CI machine does not fail it
    feed = parse(body, "application/rss+xml")
    took = time.process_time() - start
    assert feed.error is None and len(feed.items) > 3000
    assert took < parse_module.PARSE_TIME_LIMIT / 2, took


def _many_items(n: int) -> bytes:
    items = b"".join(b"<item><guid>%d</guid><title>x %d</title></item>" % (i, i) for i in range(n))
    return b'<rss version="2.0"><channel><title>many</title>' + items + b"</channel></rss>"


def test_markup_budget_bounds_the_work(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past MAX_MARKUP tags the document is cut; the entries before the cut are kept."""
    monkeypatch.setattr(parse_module, "MAX_MARKUP", 3_000)
    feed = parse(_many_items(5_000))
    assert feed.error is None and feed.title == "many"
    assert 400 < len(feed.items) < 600  # 6 tags per item
    assert feed.items[0].key == "0" and feed.items[-1].key == str(len(feed.items) - 1)


def test_entity_budget_bounds_the_work(monkeypatch: pytest.MonkeyPatch) -> None:
    """Bare ampersands send feedparser to its slow loose parser; only MAX_ENTITIES of them get that far."""
    monkeypatch.setattr(parse_module, "MAX_ENTITIES", 1_000)
    seen: list[int] = []
    real = parse_module.feedparser.parse

    def spy(stream: io.BytesIO, **kw: object) -> object:
        seen.append(len(stream.getvalue()))
        return real(stream, **kw)

    monkeypatch.setattr(parse_module.feedparser, "parse", spy)
    body = _many_items(10).replace(b"</channel>", b"<item><guid>amp</guid><title>" + b"& " * 50_000
                                   + b"</title></item></channel>")
    feed = parse(body)
    assert seen and seen[0] < 3_000 + len(_many_items(10))
    assert [i.key for i in feed.items][:10] == [str(i) for i in range(10)]


def test_time_limit_stops_a_pathological_parse_in_a_worker() -> None:
    """In a pool worker (the poller's case) a parse that runs too long is abandoned with a reason."""
    body = _many_items(100_000)  # seconds of feedparser CPU even within the markup budget
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
        start = time.monotonic()
        feed = pool.submit(parse_feed, body, content_type=None, url="https://x.example/", fetched_at=NOW,
                           time_limit=0.3).result(timeout=60)
        took = time.monotonic() - start
        # The worker is healthy afterwards and its SIGALRM handler was restored.
        again = pool.submit(parse_feed, (FIXTURES / "rss20.xml").read_bytes(), content_type=None,
                            url="https://x.example/", fetched_at=NOW).result(timeout=60)
    assert feed.error == "parse needed more than 0.3s of CPU (feed too large or pathological)"
    assert took < 30  # wall time includes spawning the worker on a possibly loaded CI machine
    assert again.error is None and len(again.items) == 3


def test_time_limit_in_the_main_thread_restores_signal_state() -> None:
    before = signal.getsignal(signal.SIGVTALRM)
    feed = parse_feed(_many_items(100_000), content_type=None, url="https://x.example/", fetched_at=NOW,
                      time_limit=0.2)
    assert feed.error and "CPU" in feed.error
    assert signal.getsignal(signal.SIGVTALRM) is before
    assert signal.getitimer(signal.ITIMER_VIRTUAL) == (0.0, 0.0)


def test_parse_in_a_thread_does_not_touch_signals() -> None:
    with ThreadPoolExecutor(max_workers=1) as pool:
        feed = pool.submit(parse_feed, (FIXTURES / "rss20.xml").read_bytes(), content_type=None,
                           url="https://x.example/", fetched_at=NOW, time_limit=0.01).result(timeout=60)
    assert feed.error is None and len(feed.items) == 3


def test_parse_feed_runs_in_a_process_pool_and_results_pickle() -> None:
    body = (FIXTURES / "rss20.xml").read_bytes()
    with ProcessPoolExecutor(max_workers=1) as pool:
        feed = pool.submit(parse_feed, body, content_type="application/rss+xml", url="https://v.example/",
                           fetched_at=NOW).result(timeout=60)
    assert isinstance(feed, ParsedFeed) and isinstance(feed.items[0], ParsedItem)
    assert pickle.loads(pickle.dumps(feed)) == feed
    assert feed == parse(body, "application/rss+xml", url="https://v.example/")


def test_published_is_always_aware_utc() -> None:
    for name in ("rss091.xml", "rss092.xml", "rss10.rdf", "rss20.xml", "atom10.atom", "atom03.xml"):
        for item in parse((FIXTURES / name).read_bytes()).items:
            assert item.published.utcoffset() == timedelta(0)
            assert item.published <= NOW


def _clean_link_reference(raw: str, base: str) -> str | None:
    """_clean_link as it was before its fast path for absolute links: urljoin, then check."""
    from urllib.parse import urljoin, urlsplit

    from crisiswatch.sanitize import strip_unsafe

    raw = raw.strip()
    if not raw or not (raw.isprintable() and " " not in raw) and any(
            ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in raw):
        raw = "".join(raw.split())
        if not raw or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in raw):
            return None
    try:
        link = urljoin(base, raw)
        parts = urlsplit(link)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    if len(link) > parse_module.ID_MAX or strip_unsafe(link) != link:
        return None
    return link


@pytest.mark.parametrize("base", ["https://feeds.example/news/rss", "http://feeds.example/a/b?x=1", "https://h.example"])
@pytest.mark.parametrize("raw", [
    "https://news.example/a?id=1&ref=rss", "http://news.example/a", "HTTPS://News.Example/A", "https://a.example/b;",
    "https://a.example/b;p?q#f", "https://a.example/b?", "https://a.example/b#", "http://a.example:8080/x/../y",
    "https://[::1]/x", "https://[bad/x", "https:///no-host", "https://user:pw@a.example/", "/relative/path",
    "relative", "//cdn.example/x", "?q=1", "#frag", "javascript:alert(1)", "mailto:a@b.example", "ftp://a.example/",
    "https://a.example/\u202eevil", "https://a.example/" + "x" * 3000, "  https://pad.example/x  ", "http:\\\\a.example",
    "https://a.example/%D0%B2?x=%20", "https://xn--80ak6aa92e.example/",
])
def test_clean_link_fast_path_matches_urljoin(raw: str, base: str) -> None:
    assert parse_module._clean_link(raw, base) == _clean_link_reference(raw, base)
