"""Matcher throughput: 200,000 generated headlines against 100 keywords of mixed languages.

    python benchmarks/match.py                 # the real matcher (trie + fast paths)
    python benchmarks/match.py --naive         # one flat alternation instead of the trie
    python benchmarks/match.py --slow-path     # every headline through the general normaliser

Headlines mix English, Serbian Latin, Serbian Cyrillic and Albanian, with
keywords declined (Vučića, KFOR-a, Mitrovicës, na Ibru), traps that must not
match (Ibarra, KFORCE, Vučićević), HTML entities and the odd soft hyphen, and
most headlines naming no keyword at all — like a real news day. Prints items/s
(one core; the matcher is pure Python + ``re``) and the hit count so runs compare.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crisiswatch import fold as text_mod
from crisiswatch.config import Keyword
from crisiswatch.match import Matcher

_LAT_TO_CYR = {
    "lj": "љ", "nj": "њ", "dž": "џ", "a": "а", "b": "б", "v": "в", "g": "г", "d": "д", "đ": "ђ", "e": "е",
    "ž": "ж", "z": "з", "i": "и", "j": "ј", "k": "к", "l": "л", "m": "м", "n": "н", "o": "о", "p": "п",
    "r": "р", "s": "с", "t": "т", "ć": "ћ", "u": "у", "f": "ф", "h": "х", "c": "ц", "č": "ч", "š": "ш",
    # Albanian letters as a Serbian Cyrillic outlet would write them.
    "ë": "е", "ç": "ч", "q": "ћ", "x": "кс", "y": "и", "w": "в",
}  # fmt: skip


def to_cyrillic(latin: str) -> str:
    """Serbian Latin → Cyrillic, keeping capitals (for aliases and headlines)."""
    out: list[str] = []
    i = 0
    while i < len(latin):
        pair = latin[i : i + 2]
        if pair.lower() in _LAT_TO_CYR:
            cyr = _LAT_TO_CYR[pair.lower()]
            out.append(cyr.upper() if pair[0].isupper() else cyr)
            i += 2
            continue
        ch = latin[i]
        cyr = _LAT_TO_CYR.get(ch.lower(), ch)
        out.append(cyr.upper() if ch.isupper() else cyr)
        i += 1
    return "".join(out)


_REAL = [
    ("KFOR", ["Kosovo Force", "КФОР"], "high"),
    ("Ibar", ["Ibër", "Ibri", "Ibra", "Ibru", "Ибар"], "high"),
    ("Vučić", ["Вучић", "Vuçiç"], "medium"),
    ("roadblock", ["barricade", "road block", "barikada", "blokadë"], "high"),
    ("Zvečan", ["Zveçan", "Звечан"], "medium"),
    ("Zubin Potok", ["Зубин Поток"], "medium"),
    ("Brnjak", ["Брњак"], "high"),
    ("Gračanica", ["Graçanicë", "Грачаница"], "low"),
    ("Mitrovica", ["Mitrovicë", "Митровица"], "medium"),
    ("Jarinje", ["Jarinjë", "Јариње"], "high"),
    ("Leposavić", ["Leposaviq", "Лепосавић"], "medium"),
    ("Banjska", ["Banjskë", "Бањска"], "high"),
    ("EULEX", ["ЕУЛЕКС"], "medium"),
    ("Kurti", ["Курти"], "medium"),
    ("Petković", ["Петковић"], "low"),
    ("Đurić", ["Ђурић"], "low"),
    ("Lajčák", ["Lajčak", "Лајчак"], "low"),
    ("NATO", ["НАТО"], "medium"),
    ("Priština", ["Prishtinë", "Pristina", "Приштина"], "low"),
    ("Raška", ["Рашка"], "medium"),
]
_SYLLABLES = "ba be bi bo bu da de do ga go ja je ka ke ko kra lo lu ma me mi mo na ne no pa po ra re ri ro sa se so ta te to va ve vi vo za zo".split()
_SERBIAN_SURNAME_END = ["ić", "ović", "ević", "ski", "in", "ac"]
_ALBANIAN_END = ["aj", "ë", "aq", "ri", "ku", "ja"]

_EN = "police says after talks the on in of a new border near minister government report crossing tension protest bridge president meets ambassador statement northern municipality vote elections visit court army".split()
_SR = "policija kaže posle razgovora na u kod granica ministar vlada izveštaj prelaz napetost protest most predsednik sastanak ambasador saopštenje sever opština izbori poseta sud vojska i je".split()
_SQ = "policia tha pas bisedimeve në te kufiri ministri qeveria raporti kalimi tensioni protesta ura presidenti takim ambasadori deklarata veriu komuna zgjedhjet vizita gjykata ushtria dhe".split()
_TRAPS = ["Ibarra", "KFORCE", "Vučićević", "Brnjakovic", "Zvečanski", "Gračaničanin", "Unroadblock", "Ibarguen", "Kurtis"]


def make_keywords(rng: random.Random, n: int = 100) -> list[Keyword]:
    """The real keyword set plus generated names until ``n``: Serbian, Cyrillic, Albanian."""
    out = [Keyword(term, tuple(aliases), sev) for term, aliases, sev in _REAL]
    terms = {k.term.casefold() for k in out}
    while len(out) < n:
        stem = "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()
        kind = rng.random()
        if kind < 0.4:
            term = stem + rng.choice(_SERBIAN_SURNAME_END)
            aliases: tuple[str, ...] = (to_cyrillic(term),)
        elif kind < 0.7:
            term = stem + rng.choice(_ALBANIAN_END)
            aliases = ()
        elif kind < 0.85:
            term = f"{stem} {rng.choice(_SYLLABLES).capitalize()}{rng.choice(['polje', 'potok', 'selo', 'grad'])}"
            aliases = (to_cyrillic(term),)
        else:
            term = stem.upper()[:4]
            aliases = ()
        if term.casefold() in terms:
            continue
        terms.add(term.casefold())
        mode = "exact" if rng.random() < 0.05 else "word"
        out.append(Keyword(term, aliases, rng.choice(["low", "medium", "high"]), mode))
    return out


def _inflect(word: str, rng: random.Random) -> str:
    """The word as written, or declined (in its own script)."""
    r = rng.random()
    if r < 0.5:
        return word
    if word.isupper():
        out = word + rng.choice(["-a", "-u", "-it", "'s", "-om"])
    elif word[-1] in "aeëае":
        out = word[:-1] + rng.choice(["e", "i", "u", "om", "ës"])
    else:
        out = word + rng.choice(["a", "u", "om", "em", "'s", "s", "it"])
    return to_cyrillic(out) if any("\u0400" <= c <= "\u04ff" for c in word) else out


def make_headlines(rng: random.Random, keywords: list[Keyword], n: int) -> list[str]:
    """Headlines of 8–14 words; ~35% name a keyword, ~5% carry a trap, some markup."""
    out: list[str] = []
    for _ in range(n):
        lang = rng.random()
        if lang < 0.4:
            vocab, cyr = _EN, False
        elif lang < 0.6:
            vocab, cyr = _SR, False
        elif lang < 0.8:
            vocab, cyr = _SR, True
        else:
            vocab, cyr = _SQ, False
        words = [rng.choice(vocab) for _ in range(rng.randint(8, 14))]
        words[0] = words[0].capitalize()
        r = rng.random()
        if r < 0.35:
            kw = rng.choice(keywords)
            spelling = rng.choice(kw.spellings)
            words.insert(rng.randrange(len(words)), _inflect(spelling, rng))
        elif r < 0.40:
            words.insert(rng.randrange(len(words)), rng.choice(_TRAPS))
        text = " ".join(words)
        if cyr:
            text = to_cyrillic(text)
        r = rng.random()
        if r < 0.02:
            text = text.replace(" ", " &amp; ", 1)
        elif r < 0.03:
            text = f"<b>{text}</b>"
        elif r < 0.035:
            text = text.replace("a", "a\u00ad", 1)
        out.append(text)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=200_000, help="headlines (default 200000)")
    parser.add_argument("--keywords", type=int, default=100, help="keywords (default 100)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--naive", action="store_true", help="flat alternation instead of the trie (the 'before')")
    parser.add_argument("--slow-path", action="store_true", help="disable the 1:1 normalisation fast path")
    args = parser.parse_args(argv)

    rng = random.Random(args.seed)
    keywords = make_keywords(rng, args.keywords)
    headlines = make_headlines(rng, keywords, args.n)
    if args.slow_path:
        text_mod._fast = lambda text: None  # type: ignore[assignment]

    t0 = time.perf_counter()
    matcher = Matcher(keywords, trie=not args.naive)
    compile_s = time.perf_counter() - t0

    assess = matcher.assess
    t0, c0 = time.perf_counter(), time.process_time()
    alerts = 0
    hits = 0
    for title in headlines:
        a = assess(title, "")
        hits += len(a.hits)
        alerts += a.severity is not None
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    variant = "naive alternation" if args.naive else "trie"
    if args.slow_path:
        variant += ", no fast path"
    print(f"matcher ({variant}): {len(keywords)} keywords compiled in {compile_s * 1000:.0f} ms")
    # CPU time is the fairer figure on a shared machine (one core, single thread).
    print(f"{len(headlines)} headlines in {elapsed:.2f}s wall / {cpu:.2f}s CPU: "
          f"{len(headlines) / elapsed:,.0f} items/s wall, {len(headlines) / cpu:,.0f} items/s CPU; "
          f"{hits} hits, {alerts} alerts")
    return 0


if __name__ == "__main__":
    sys.exit(main())
