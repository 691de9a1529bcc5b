"""The normaliser, story keys and storage cleaning (crisiswatch.fold, crisiswatch.identity, crisiswatch.sanitize)."""

from __future__ import annotations

import random

import pytest

from crisiswatch import fold as text_mod
from crisiswatch.fold import fold, normalise
from crisiswatch.identity import canonical_link, title_key
from crisiswatch.sanitize import plain_text, strip_unsafe


def _general(s: str) -> text_mod.Normalised:
    """normalise() with the fast paths switched off: the reference implementation."""
    saved = text_mod._fast
    text_mod._fast = lambda _t: None  # type: ignore[assignment]
    try:
        return text_mod.normalise(s)
    finally:
        text_mod._fast = saved


def _check_map(original: str, n: text_mod.Normalised) -> None:
    offsets, ends = list(n.offsets), list(n.ends)
    assert len(offsets) == len(n.text) + 1
    assert len(ends) == len(n.text)
    assert offsets[-1] == len(original)
    assert offsets == sorted(offsets), "offsets must not go backwards"
    for i in range(len(n.text)):
        assert 0 <= offsets[i] < ends[i] <= len(original)


# -- plain_text / strip_unsafe stay as the parser uses them --------------------


def test_plain_text_strips_markup_and_double_escapes() -> None:
    assert plain_text("<p>KFOR &amp;amp; EULEX</p><br>patrol") == "KFOR & EULEX patrol"
    assert plain_text("x" * 20, max_len=10) == "x" * 9 + "…"
    assert plain_text(None) == ""


def test_strip_unsafe_removes_escapes_and_bidi() -> None:
    assert strip_unsafe("\x1b[31mred\x1b[0m\u202eevil") == "redevil"


# -- normalise: each folding rule ------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "folded"),
    [
        ("ＶＵＣＩＣ", "vucic"),  # NFKC full-width
        ("ﬁnal", "final"),  # NFKC ligature
        ("Vu\u00adcic", "vucic"),  # soft hyphen
        ("Zve\u200bčan", "zvecan"),  # zero-width space
        ("KF\u200dOR", "kfor"),  # zero-width joiner
        ("\u200eKFOR\u200f", "kfor"),  # bidi marks
        ("Вучић", "vucic"),
        ("Ђурђевдан", "durdevdan"),  # Ђ ђ → d
        ("Ћуприја", "cuprija"),  # Ћ → c
        ("Џамија", "dzamija"),  # Џ → dz
        ("Љиљана", "ljiljana"),  # Љ љ → lj
        ("Њујорк", "njujork"),  # Њ → nj
        ("Јариње", "jarinje"),
        ("ЗВЕЧАН", "zvecan"),
        ("Čačak Šabac Žabalj Ćuprija", "cacak sabac zabalj cuprija"),  # Serbian Latin marks
        ("Đurić", "duric"),
        ("Mitrovicë Graçanicë", "mitrovice gracanice"),  # Albanian ë ç
        ("Vuc\u030cic\u0301", "vucic"),  # decomposed combining marks
        ("STRAßE", "strasse"),  # casefold
        ("ǅamija ǈubav ǋegoš", "dzamija ljubav njegos"),  # Serbian digraph letters
        ("Vučić’s", "vucic's"),
        ("Vučić`s", "vucic's"),
        ("road–block road—block road‑block", "road-block road-block road-block"),
        ("„Kurti“ «Vučić» “EU”", '"kurti" "vucic" "eu"'),
    ],
)
def test_normalise_folds(raw: str, folded: str) -> None:
    n = normalise(raw)
    assert n.text == folded
    _check_map(raw, n)


@pytest.mark.parametrize(
    ("raw", "folded"),
    [
        ("KFОR", "kfor"),  # Cyrillic О in a Latin word
        ("KФOR", "kfor"),  # Cyrillic Ф: no look-alike, transliterated
        ("Grаčanicu", "gracanicu"),  # Cyrillic а
        ("PОLICE", "police"),  # Cyrillic О
        ("ΚFOR", "kfor"),  # Greek capital kappa
        ("Bучић", "vucic"),  # Latin B in a Cyrillic word reads as В
        ("Рaтрола", "ratrola"),  # mostly Cyrillic: the Latin a is read as а, Р is transliterated
    ],
)
def test_normalise_mixed_script_words(raw: str, folded: str) -> None:
    assert normalise(raw).text == folded


def test_mixed_scripts_only_fold_inside_one_word() -> None:
    # A Cyrillic word next to a Latin word is not a homoglyph attack.
    assert normalise("КФОР KFOR").text == "kfor kfor"
    assert normalise("Рас Pas").text == "ras pas"


def test_html_is_stripped_with_offsets_into_the_original() -> None:
    raw = "<a href='x'>KFOR</a> &amp; <b>Ibar</b>"
    n = normalise(raw)
    assert n.text == "kfor & ibar"
    start, end = n.span(0, 4)
    assert raw[start:end] == "KFOR"
    i = n.text.index("ibar")
    start, end = n.span(i, i + 4)
    assert raw[start:end] == "Ibar"
    _check_map(raw, n)


def test_double_escaped_markup_and_entities() -> None:
    raw = "&amp;lt;b&amp;gt;Vu&amp;#269;i&amp;#263;&amp;lt;/b&amp;gt; says"
    n = normalise(raw)
    assert n.text == "vucic says"
    s, e = n.span(0, 5)
    assert raw[s:e].startswith("Vu") and raw[s:e].endswith("&amp;#263;")


def test_inline_tags_join_block_tags_separate() -> None:
    assert normalise("K<b>FOR</b>").text == "kfor"
    assert normalise("KFOR<br>Ibar").text == "kfor ibar"
    assert normalise("KFOR<p>Ibar</p>").text == "kfor ibar "


def test_lone_angle_bracket_is_not_a_tag() -> None:
    # Stored text is plain; "x<y" must not swallow the rest of the headline.
    assert normalise("x<y KFOR patrols").text == "x<y kfor patrols"
    assert normalise("AT&T and KFOR").text == "at&t and kfor"


def test_offsets_through_expanding_and_deleted_characters() -> None:
    raw = "Љиљана и Vu\u00adčić"
    n = normalise(raw)
    assert n.text == "ljiljana i vucic"
    i = n.text.index("vucic")
    s, e = n.span(i, i + 5)
    assert raw[s:e] == "Vu\u00adčić"
    s, e = n.span(0, 8)
    assert raw[s:e] == "Љиљана"
    _check_map(raw, n)


def test_fold_is_the_text_of_normalise() -> None:
    assert fold("Вучићеви сарадници") == normalise("Вучићеви сарадници").text == "vucicevi saradnici"


_POOL = list(
    "abcKFORvucic VUČIĆ čćžšđ ëç Ибар Љуб њџЂђЋћ ’“”–—\u00ad\u200b ß æ ǅ ﬁ ＫＦ ₂ Ω № ™ … € é αΟ .,;:!?"
) + ["\u0301", "<b>", "</b>", "<br>", "&amp;", "&amp;lt;i&amp;gt;", "x&y", "Ф", "&shy;", "&#1033;", "<", "&"]


def test_fast_paths_agree_with_the_general_path() -> None:
    """The 1:1/code-page fast paths are an optimisation: same text, same offsets, always."""
    rng = random.Random(20261126)
    for _ in range(4000):
        raw = "".join(rng.choice(_POOL) for _ in range(rng.randint(0, 14)))
        fast, slow = normalise(raw), _general(raw)
        assert fast.text == slow.text, raw
        assert list(fast.offsets) == list(slow.offsets), raw
        assert list(fast.ends) == list(slow.ends), raw
        _check_map(raw, fast)


def test_fast_path_really_is_taken_for_plain_headlines() -> None:
    for raw in ("KFOR patrols", "Vučić u Zvečanu", "Вучић у Звечану", "Policia në Mitrovicë"):
        assert text_mod._fast(raw) is not None, raw
    assert text_mod._fast("KFОR") is None  # mixed script goes the careful way


# -- canonical_link ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("https://example.com/story?utm_source=rss&utm_medium=feed", "https://example.com/story"),
        ("https://example.com/story?id=7&fbclid=abc&gclid=x", "https://example.com/story?id=7"),
        ("HTTPS://Example.COM/Story/", "https://example.com/Story"),
        ("https://example.com/story#comments", "https://example.com/story"),
        ("https://example.com:443/story", "https://example.com/story"),
        ("http://example.com:80/story", "http://example.com/story"),
        ("http://example.com:8080/story", "http://example.com:8080/story"),
        ("https://example.com/s?b=2&a=1", "https://example.com/s?a=1&b=2"),
        ("https://example.com/s?UTM_Campaign=x&mc_cid=1&msclkid=2&p=3", "https://example.com/s?p=3"),
        ("https://example.com/", "https://example.com"),
        ("https://example.com/a?12345&utm_source=x", "https://example.com/a?12345"),
        ("https://example.com/a?q=a%2Fb+c&x=1", "https://example.com/a?q=a%2Fb+c&x=1"),
        ("https://user:pw@Example.com/a", "https://example.com/a"),
        ("  https://example.com/a  ", "https://example.com/a"),
        ("tag:example.com,2026:1", "tag:example.com,2026:1"),
        ("", ""),
    ],
)
def test_canonical_link(url: str, canonical: str) -> None:
    assert canonical_link(url) == canonical


def test_canonical_link_keeps_different_stories_apart() -> None:
    assert canonical_link("https://e.com/a?id=1") != canonical_link("https://e.com/a?id=2")
    assert canonical_link("https://e.com/a") != canonical_link("https://e.com/b")


# -- title_key ---------------------------------------------------------------------


def test_title_key_ignores_outlet_suffix_quotes_and_case() -> None:
    base = title_key("Kosovo Serbs set up roadblocks near Zvečan")
    assert base == "kosovo serbs set up roadblocks near zvecan"
    for variant in (
        "Kosovo Serbs set up roadblocks near Zvečan - Reuters",
        "Kosovo Serbs set up roadblocks near Zvecan | BIRN",
        "KOSOVO SERBS SET UP ROADBLOCKS NEAR ZVEČAN — Balkan Insight",
        "Kosovo Serbs set up “roadblocks” near Zvečan.",
        "Kosovo Serbs set up 'roadblocks' near Zvečan - Radio Free Europe / Radio Liberty",
        "Kosovo Serbs set up roadblocks near Zvečan - Radio Free Europe/Radio Liberty",
        "Kosovo Serbs set up roadblocks near Zvečan | Balkan Insight | BIRN",
        "BREAKING: Kosovo Serbs set up roadblocks near Zvečan",
        "Kosovo Serbs set up roadblocks near Zve&#269;an - N1",
    ):
        assert title_key(variant) == base, variant


def test_title_key_scripts_fold_together() -> None:
    assert title_key("Вучић у Звечану") == title_key("Vučić u Zvečanu") == "vucic u zvecanu"


def test_title_key_does_not_eat_short_titles_or_different_stories() -> None:
    # A short head is not "headline - outlet": keep both sides.
    assert title_key("Kurti - Vučić") == "kurti vucic"
    assert title_key("KFOR patrols Jarinje") != title_key("KFOR patrols Brnjak")
    assert title_key("") == ""


def test_strip_unsafe_fast_paths_agree_with_the_category_rule() -> None:
    """The C-speed shortcuts must remove exactly what the per-character Unicode rule removes."""
    import random
    import re
    import unicodedata

    from crisiswatch.sanitize import strip_unsafe

    ansi = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)?|[@-Z\\-_])")

    def reference(text: str) -> str:
        text = ansi.sub("", text)
        return "".join(ch for ch in text if ch in "\n\t"
                       or unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Cn"))

    rng = random.Random(7)
    pool = [chr(c) for c in [*range(0x250), *range(0x2000, 0x2070), 0xFEFF, 0xE000, 0xD800, 0x378, 0x1680,
                             0x3000, 0xFFF9, 0x10FFFF, 0xE0001, 0x0416, 0x0107]]
    pool += ["\x1b[31m", "\x1b]0;title\x07", "Vučić ", "Вучић "]
    for _ in range(5000):
        text = "".join(rng.choice(pool) for _ in range(rng.randint(0, 40)))
        assert strip_unsafe(text) == reference(text), repr(text)
