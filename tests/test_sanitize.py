"""The one HTML-to-text sanitizer (issue 15 item 1): a real HTML parser, and text that survives it.

Every case here is a string that a real feed carried or could carry; the
expected text is what a reader of the page would see, so "Turnout < 40% as
KFOR patrols" keeps "KFOR" and the KFOR alert can fire.
"""

from __future__ import annotations

import pytest

from crisiswatch.sanitize import html_to_text, plain_text, repair_references


@pytest.mark.parametrize(("raw", "text"), [
    # stray <, > and & are text
    ("Turnout &lt; 40% as KFOR patrols", "Turnout < 40% as KFOR patrols"),
    ("Turnout < 40% as KFOR patrols", "Turnout < 40% as KFOR patrols"),
    ("Turnout <40% as KFOR patrols", "Turnout <40% as KFOR patrols"),
    ("x<y KFOR at the bridge", "x<y KFOR at the bridge"),
    ("a <3 b, 1 < 2 > 0", "a <3 b, 1 < 2 > 0"),
    ("Kurti: <Vučić> lies", "Kurti: <Vučić> lies"),
    ("<p>EULEX</p> and x<y KFOR", "EULEX and x<y KFOR"),
    ("Serbia & Kosovo: AT&T, R&D &c", "Serbia & Kosovo: AT&T, R&D &c"),
    ("price > 5 & < 10", "price > 5 & < 10"),
    ("an unfinished <b tag at the end", "an unfinished <b tag at the end"),
    ("<!' <a href=\"foo\">not a doctype", "<!' not a doctype"),
    # markup goes, text stays; inline tags join, blocks separate
    ("<p>KFOR &amp;amp; EULEX</p><br>patrol", "KFOR & EULEX patrol"),
    ("K<b>FOR</b> at the <a href='/x' title='a>b'>Ibar</a> bridge", "KFOR at the Ibar bridge"),
    ("<ul><li>Jarinje</li><li>Brnjak</li></ul>", "Jarinje Brnjak"),
    ("<h1>Title</h1><div>Body<br/>line two</div>", "Title Body line two"),
    ("<P>upper</P><A HREF=x>CASE</A>", "upper CASE"),
    ("<o:p>Word</o:p> <x-card>custom</x-card>", "Word custom"),
    ("<rdf>known</rdf> because closed", "known because closed"),
    # scripts, styles and comments show nothing
    ("<script>alert('KFOR')</script>Vučić<style>p{color:red}</style>", "Vučić"),
    ("<script\n\n>var x = '</b>';</script\n>after", "after"),
    ("before<!-- <script>hidden</script> -->after", "beforeafter"),
    ("<template><p>inert</p></template>shown", "shown"),
    # entities, CDATA, references
    ("Vu&shy;&#269;i&#x107; &eacute;t&eacute; &nbsp;&copy;", "Vučić été ©"),
    ("<code>&lt;br /&gt;</code> is a tag", "<br /> is a tag"),
    ("<![CDATA[<b>bold</b>]]> text", "<b>bold</b> text"),
    ("&#55357;&#56832; emoji as two halves", "😀 emoji as two halves"),
    ("&amp;#55357;&amp;#56832; escaped twice", "😀 escaped twice"),
    ("lone &#xD83D; half", "lone \ufffd half"),
])
def test_html_fragments_read_as_text(raw: str, text: str) -> None:
    assert plain_text(raw) == text


def test_plain_typed_text_keeps_its_angle_brackets() -> None:
    """feedparser says text/plain (Atom type="text"): the brackets are the author's characters."""
    assert plain_text("History of the <blink> tag", markup=False) == "History of the <blink> tag"
    assert plain_text("<b>KFOR</b> &amp; EULEX", markup=False) == "<b>KFOR</b> & EULEX"
    assert plain_text("History of the <blink> tag") == "History of the tag"


def test_one_line_bounded_and_inert() -> None:
    assert plain_text("x" * 20, max_len=10) == "x" * 9 + "…"
    assert plain_text("<p>a</p>\n\n<p>b\tc</p>") == "a b c"
    assert plain_text("\x1b[31mred\x1b[0m \u202eevil") == "red evil"
    assert plain_text(None) == "" and plain_text("") == ""


def test_repair_references_joins_only_real_pairs() -> None:
    assert repair_references("&#xD83D;&#xDE00;") == "😀"
    assert repair_references("&#55357;&#56832;") == "😀"
    assert repair_references("&#56832;&#55357;") == "&#56832;&#55357;"  # wrong order: not a pair
    assert repair_references("no references") == "no references"


def test_html_to_text_is_a_parser_not_a_regex() -> None:
    """Attribute values may hold ">" and "<"; only the parser knows where the tag ends."""
    assert html_to_text('<img alt="a > b" src="x">KFOR').strip() == "KFOR"
    assert html_to_text('<a title="<b>">KFOR</a>') == "KFOR"


def test_unclosed_comments_and_cdata_read_as_html5_does() -> None:
    assert plain_text("KFOR <!-- an unclosed comment runs to the end <b>x</b>") == "KFOR"
    assert plain_text("a <![CDATA[ unclosed > b") == "a b"
    assert plain_text("<!---->x<!-->y") == "xy"


@pytest.mark.parametrize("opener", ["<!--", "<![CDATA[", "<", "<a", "<!x", "<?x", '<a title="'])
def test_hostile_openers_cost_linear_time(opener: str) -> None:
    """64 K characters of openers: html.parser alone needs seconds for unclosed comments (quadratic)."""
    import time

    text = opener * (64_000 // len(opener))
    start = time.process_time()  # CPU, so a loaded machine does not fail it
    plain_text(text, max_len=4000)
    assert time.process_time() - start < 2.0
