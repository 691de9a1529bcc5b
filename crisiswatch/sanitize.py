"""The one HTML→text cleaner: feed text made inert before it is stored.

Feed text is hostile: it may carry markup, terminal escapes and bidi overrides.
``plain_text`` turns an HTML fragment (or plain text) into one line of safe
plain text; ``strip_unsafe`` removes escape sequences and control/format
characters from any string shown in a terminal or written to a file. Every
place that cleans feed, page or OPML text (parse, discovery, OPML import)
goes through here, so they all read markup alike.
"""

from __future__ import annotations

import functools
import html
import re
import unicodedata
from collections.abc import Callable
from html.parser import HTMLParser

_ANSI = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)?|[@-Z\\-_])")


def _is_unsafe(ch: str) -> bool:
    """Control, format (bidi overrides, zero-width) and private/unassigned characters."""
    cat = unicodedata.category(ch)
    return cat in ("Cc", "Cf", "Cs", "Co", "Cn")


_COMMON_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f"
    "\ufeff\ufff9-\ufffb\ud800-\udfff\ue000-\uf8ff]"
)
"""The unsafe characters feeds actually carry; removed in C before any per-character check."""
_SPACES = re.compile("[\t\n\r\f\v\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]")
"""Whitespace that ``str.isprintable`` rejects but that is safe to keep."""


def strip_unsafe(text: str) -> str:
    """Remove ANSI escape sequences and every control/format character.

    Nearly all text is clean, so the common case is decided by C-speed
    ``isprintable`` and regexes; only text that still holds an unusual
    non-printable character (an unassigned code point, a rare format
    character) pays for the per-character Unicode category check.
    """
    if text.isprintable():
        return text
    if "\x1b" in text:
        text = _ANSI.sub("", text)
    text = _COMMON_UNSAFE.sub("", text)
    if _SPACES.sub("", text).isprintable():
        return text
    return "".join(ch for ch in text if ch in "\n\t" or not _is_unsafe(ch))


# ---------------------------------------------------------------------------
# HTML → text
# ---------------------------------------------------------------------------

_HTML_ELEMENTS = frozenset("""
a abbr acronym address applet area article aside audio b base basefont bdi bdo bgsound big blink
blockquote body br button canvas caption center cite code col colgroup command content data datalist dd
del details dfn dialog dir div dl dt em embed fieldset figcaption figure font footer form frame frameset
h1 h2 h3 h4 h5 h6 head header hgroup hr html i iframe image img input ins isindex kbd keygen label legend
li link listing main map mark marquee menu menuitem meta meter multicol nav nextid nobr noembed noframes
noscript object ol optgroup option output p param picture plaintext pre progress q rb rbc rp rt rtc ruby
s samp script search section select shadow slot small source spacer span strike strong style sub summary
sup table tbody td template textarea tfoot th thead time title tr track tt u ul var video wbr xmp
svg g path circle ellipse line polyline polygon rect text tspan textpath defs use symbol desc metadata
lineargradient radialgradient stop filter clippath mask pattern foreignobject animate animatemotion
animatetransform set marker view switch
math mi mo mn ms mtext mrow msup msub msubsup mfrac msqrt mroot mtable mtr mtd mstyle mspace semantics
annotation annotation-xml munder mover munderover menclose mpadded mphantom merror maction mglyph
mmultiscripts mprescripts none
""".split())
"""Element names that make ``<name …>`` a tag. Anything else after ``<`` is text the author meant:
"x<y KFOR", "<3", "Turnout < 40%" keep every word. Prefixed (``o:p``) and custom (``my-el``)
names are tags too, and so is any name the fragment also closes (``<rdf>…</rdf>``)."""


@functools.cache
def _elements() -> frozenset[str]:
    """:data:`_HTML_ELEMENTS` and every element feedparser's sanitiser knows (HTML5 drafts: datagrid, m…).

    Built on first use, not at import: ``strip_unsafe`` alone (fetch's error messages, export,
    reports) must not make a process import feedparser (~25 ms of every ``poll`` or ``export``).
    """
    try:
        from feedparser.sanitizer import HTMLSanitizer as sanitizer
    except ImportError:  # pragma: no cover - feedparser < 6.1
        try:
            from feedparser.sanitizer import _HTMLSanitizer as sanitizer  # type: ignore[no-redef]
        except ImportError:
            return _HTML_ELEMENTS
    return _HTML_ELEMENTS | {name.lower() for name in getattr(sanitizer, "acceptable_elements", ())}


_DROPPED = frozenset({"script", "style", "applet", "template"})
"""Elements whose content is code or inert markup, never text a reader sees."""
_INLINE = frozenset("""
a abbr acronym b bdi bdo big blink cite code data del dfn em font i ins kbd mark nobr q rb rp rt rtc
ruby s samp small span strike strong sub sup time tt u var wbr
""".split())
"""Tags that sit inside a word ("K<b>FOR</b>"); every other tag separates words."""
_ATTRS = r"""(?:[\s/](?:[^<>"']++|"[^"]*+"|'[^']*+')*+)?>"""


@functools.cache
def _suspect() -> re.Pattern[str]:
    """Every "<" the parser must not see as markup, with what follows it when that could still be a tag
    (an unknown name the fragment also closes). Comments and CDATA are gone by then (:func:`_sections`).
    Compiled on first use (see :func:`_elements`)."""
    return re.compile(
        # A "<" that does NOT start a tag of a known element, a prefixed or custom element,
        # a comment, a declaration or a processing instruction: the rare case, found in C.
        r"<(?!/?(?:" + "|".join(sorted(map(re.escape, _elements()), key=len, reverse=True)) + r")(?=[\s/>])"
        + _ATTRS + r"|/?[A-Za-z][A-Za-z0-9]*+[:\-][\w:\-]*+" + _ATTRS + r"|!--|![^<>\[]*+>|\?[^<>]*+>)"
        r"(?:(?P<name>/?[A-Za-z][A-Za-z0-9]*+)" + _ATTRS + r")?",
        re.S | re.I,
    )


_SURROGATE_PAIR = re.compile(r"&#(?:[xX](?P<hx>[dD][89abAB][0-9a-fA-F]{2})|(?P<hd>5[56][0-9]{3}));?"
                             r"&#(?:[xX](?P<lx>[dD][c-fC-F][0-9a-fA-F]{2})|(?P<ld>5[67][0-9]{3}));?")


def repair_references(text: str) -> str:
    """``&#55357;&#56832;`` (UTF-16 written as two references) → the one character they encode.

    Some generators escape every UTF-16 unit of an emoji separately; read one
    by one each is a lone surrogate, which HTML turns into two U+FFFD and XML
    refuses outright. A lone surrogate stays as it is (HTML then shows U+FFFD).
    """
    if "&#" not in text:
        return text
    return _SURROGATE_PAIR.sub(_join_pair, text)


def _join_pair(m: re.Match[str]) -> str:
    high = int(m["hx"], 16) if m["hx"] else int(m["hd"])
    low = int(m["lx"], 16) if m["lx"] else int(m["ld"])
    if 0xD800 <= high <= 0xDBFF and 0xDC00 <= low <= 0xDFFF:
        return chr(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))
    return m.group(0)


_CLOSERS = re.compile(r"</([A-Za-z][\w:.\-]*)")


_STRAY_START = re.compile(r"<(?![A-Za-z/])|<[A-Za-z/][^<>]*+(?:<|\Z)")
"""A "<" no tag can start with, a tag left open before the next "<" or the end; and comments,
declarations, CDATA, processing instructions ("<!…", "<?…"), which the precise pattern judges."""
_TAG_NAMES = re.compile(r"</?([A-Za-z][A-Za-z0-9]*+)(?![:\-])")


def _needs_escaping(text: str) -> bool:
    """Whether any "<" of ``text`` might not be markup (cheap; nearly always False for real feeds)."""
    if _STRAY_START.search(text):
        return True
    names = set(_TAG_NAMES.findall(text))
    elements = _elements()
    return not names <= elements and not {n.lower() for n in names} <= elements


class _StrayEscaper:
    """A suspect ``<`` becomes ``&lt;`` (text), unless it opens an element the fragment also closes."""

    __slots__ = ("closed", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.closed: frozenset[str] | None = None

    def __call__(self, m: re.Match[str]) -> str:
        whole = m.group(0)
        name = m["name"]
        if name is None:
            return "&lt;" + whole[1:]
        if name[0] == "/" or whole.endswith("/>"):
            return whole  # "</word>" and "<word/>" are nobody's text
        if self.closed is None:
            self.closed = frozenset(n.lower() for n in _CLOSERS.findall(self.text))
        return whole if name.lower() in self.closed else "&lt;" + whole[1:]


class _TextReader(HTMLParser):
    """html.parser with handlers that keep what a reader sees: text, minus scripts and styles."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.dropped = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _DROPPED:
            self.dropped += 1
        elif tag not in _INLINE:
            self.parts.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _INLINE:
            self.parts.append(" ")  # <br/>, <hr/>, <script/> (empty: nothing to drop)

    def handle_endtag(self, tag: str) -> None:
        if tag in _DROPPED:
            self.dropped = max(0, self.dropped - 1)
        elif tag not in _INLINE:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self.dropped:
            self.parts.append(data)

    # Comments, declarations, CDATA-looking sections and processing instructions show nothing.


def _sections(text: str) -> str:
    """Comments dropped and CDATA sections turned into their text, in one linear pass.

    Done here rather than by html.parser, which takes quadratic time on many
    unclosed comments (CPython before its 2025 fixes), and which reads CDATA
    differently across versions. As HTML5 does: an unclosed comment runs to
    the end; an unclosed ``<![CDATA[`` is a comment up to the next ``>``.
    """
    if "<!" not in text:
        return text
    out: list[str] = []
    pos = 0
    closers = True  # once "]]>" is missing after one opener it is missing after every later one
    while (i := text.find("<!", pos)) >= 0:
        if text.startswith("<!--", i):
            end = text.find("-->", i + 2)
            out.append(text[pos:i])
            if end < 0:
                return "".join(out)
            pos = end + 3
        elif text.startswith("<![CDATA[", i):
            end = text.find("]]>", i + 9) if closers else -1
            out.append(text[pos:i])
            if end >= 0:
                out.append(html.escape(text[i + 9:end], quote=False))
                pos = end + 3
            else:
                closers = False
                gt = text.find(">", i + 9)
                if gt < 0:
                    return "".join(out)
                pos = gt + 1
        else:
            out.append(text[pos:i + 2])
            pos = i + 2
    out.append(text[pos:])
    return "".join(out)


def html_to_text(fragment: str) -> str:
    """An HTML fragment's visible text, entities decoded, one space where a block or line break was.

    Built on ``html.parser`` (browsers' tokenising rules, not a regex), with
    two things it does not do itself: a ``<`` that starts no tag is kept as
    text whatever Python version parses it (newer ones drop an unfinished tag
    at the end), and entities left after parsing — text escaped twice,
    ``&amp;amp;`` — are decoded once more, to text, never to markup.
    """
    text = repair_references(fragment)
    if "<" in text:
        text = _sections(text)
    if "<" in text:
        if _needs_escaping(text):
            text = _suspect().sub(_StrayEscaper(text), text)
        reader = _TextReader()
        reader.feed(text)
        reader.close()
        text = "".join(reader.parts)
    else:
        text = html.unescape(text)
    for _ in range(2):
        if "&" not in text:
            break
        unescaped = html.unescape(repair_references(text))
        if unescaped == text:
            break
        text = unescaped
    return text


@functools.cache
def _feedparser_looks_like_html() -> Callable[[str], object] | None:
    """feedparser's guess whether text typed plain is HTML (a closing tag or an entity, only HTML tags); on first use."""
    try:
        from feedparser.mixin import _FeedParserMixin as mixin

        return getattr(mixin, "looks_like_html", None) or mixin.lookslikehtml
    except (ImportError, AttributeError):  # pragma: no cover - a feedparser that moved it
        return None


def looks_like_html(text: str) -> bool:
    """Whether text that claims to be plain is HTML, by feedparser's own test (its guess for RSS).

    One rule for the fast path, feedparser's path and OPML titles, so "KFOR
    <b>na</b> Jarinju" loses its tags everywhere and "History of the <blink>
    tag" keeps its brackets everywhere.
    """
    if "<" not in text and "&" not in text:
        return False
    guess = _feedparser_looks_like_html()
    return guess is not None and bool(guess(text))


def plain_text(raw: str | None, *, max_len: int | None = None, markup: bool = True) -> str:
    """Feed text → one line of safe plain text, capped with an ellipsis.

    ``markup`` says whether ``raw`` is HTML (what feedparser's content type for
    the field says: RSS descriptions, Atom ``type="html"``, RSS titles that
    look like HTML) or plain text, where ``<`` is just a character ("History of
    the <blink> tag"); entities are decoded in both, since plain titles too
    arrive escaped twice.
    """
    if not raw:
        return ""
    text = raw
    if markup and ("<" in text or "&" in text):  # most titles have neither
        text = html_to_text(text)
    elif "&" in text:
        text = html_to_text(text.replace("<", "&lt;"))
    text = strip_unsafe(text)
    # str.split() splits on every Unicode space (and on the C0/C1 separators that
    # strip_unsafe has already removed), in C: ~5x faster than a substitution per space.
    text = " ".join(text.split())
    if max_len is not None and len(text) > max_len:
        text = text[: max_len - 1].rstrip() + "…"
    return text


__all__ = ["html_to_text", "looks_like_html", "plain_text", "repair_references", "strip_unsafe"]
