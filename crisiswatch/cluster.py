"""Story clustering across languages and scripts: is this item the same event as that one?

The store groups an item into an existing alert when the two share a link or a
folded title. That merges transliteration twins but not translations: KoSSev's
"Zatvoren prelaz Jarinje", RTS's "Затворен прелаз Јариње", Koha's "Mbyllet pika
kufitare e Jarinjës" and an English wire's "Kosovo police close Jarinje
crossing" are one event and should be one alert. This module decides that, from
evidence an analyst can check, and says why.

Method: explicit evidence with vetoes, not a learned similarity
----------------------------------------------------------------
Translations share almost no words, so title similarity alone cannot find them,
and a multilingual embedding model is too heavy for the store's write
transaction and cannot say *why*. What translations do share is what the
matcher already canonicalises — the **names** (Vučić / Вучић / Vuçiq → Vučić,
Jarinje / Јариње / Jarinjë → Jarinje) — and **what happened**, which a small
lexicon of event words per language recovers (close: close / zatvoren /
затворен / mbyllet). Two items are compared on:

* entities: the canonical terms of the keywords in the title, each with a kind
  (``actor``, ``place``, ``topic``, ``region``; the keyword's ``kind`` in the
  config), plus a bounded gazetteer of names that are not alert keywords but
  tell stories apart (Belgrade, Pristina, Brussels, the EU envoys, Kosovo
  police, NATO, OSCE; :data:`GAZETTEER`);
* events: classes from :data:`EVENT_LEXICON` (English word forms, Serbian and
  Albanian stems after folding, so Cyrillic and Latin read alike and every
  inflection of a stem counts);
* time between the two publications;
* title similarity after folding (Dice over word stems), which is what
  same-language rewordings share.

Precision first — a wrong merge hides an event, a missed merge only shows it
twice — so a pair is the same story only if **no veto** holds and **positive
evidence** does:

vetoes
  - more than ``window`` apart (12 h by default), or more than half of
    ``close_gap`` apart when one headline says the event is new or repeated
    ("new roadblock", "nova barikada", "barrikadë e re": :data:`NEW_MARKERS`);
  - both from one outlet (an outlet does not report one event twice under two
    headlines; its own re-titles are caught by link and title keys);
  - both carry numbers and they differ ("3 injured" vs "5 injured");
  - opposite events: close/open, block/unblock, arrest/release,
    deploy/withdraw ("the crossing closes" vs "reopens");
  - both say what happened and no event class is shared, or their specific
    classes are disjoint once the weak ones (patrol, statement — as often the
    subject as the event) are set aside ("EULEX monitors the situation in
    Zvečan" vs "EULEX leaves Zvečan");
  - each names a family of events the other leaves out (:data:`FAMILY`:
    "explosion at a police station, no one hurt" vs "two arrested over the
    explosion"); one side naming less is fine;
  - actors or places that differ on both sides: each names an actor (or a
    place) the other does not ("envoy meets Vučić in Belgrade" vs "envoy meets
    Kurti in Pristina"; EULEX vs KFOR in Zvečan) — one side naming more is fine;
    with only one name in common, each naming another actor or place is enough
    ("NATO allies discuss reinforcing KFOR" vs "KFOR reinforces patrols near
    Jarinje").
    A capitalised word right after "at", "near", "u", "kod", "në"… that no
    keyword covers is a place too (:func:`unknown_places`: "at Rudare");
  - a reaction is not the event: one side is a statement (a speech verb near
    the start, "Name: …", or a word such as condemns / osudio / dënon) and the
    other reports the event itself ("Kurti condemns attack near Banjska" vs
    "Police patrol attacked near Banjska"; "EU urges calm after clashes" vs
    "Clashes in North Mitrovica, several injured").

evidence
  - a shared actor or place (topics such as "roadblock" and regions such as
    "north Kosovo" never suffice alone) and a shared event class; a meeting
    needs both parties (two shared names or similar titles); statements or
    patrols alone need two shared names or similar titles (one speaker says
    many things in a day);
  - no event words on one side (nothing to compare), a shared actor or place
    and similar titles (``similar`` ≥ 0.6): a same-language rewording; or three
    shared actors and places ("Vučić sa predstavnicima Srpske liste u Beogradu"
    and "Vučić meets Serb List officials in Belgrade");
  - more than ``close_gap`` (6 h) apart: two shared names and similar titles.

Against a story of several items the new item must pass the vetoes against
every member and the evidence against at least one (no chaining: a story does
not drift from "roadblocks at Jarinje" to "the crossing reopens").

Headline language and script (``en``, ``sr-Latn``, ``sr-Cyrl``, ``sq``) come from
:func:`detect_language`, for the alert's list of languages.

Everything here is plain Python over folded text; :func:`explain_pair` prints
the reasoning (``python -m crisiswatch.cluster "title A" "title B"``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING

from .config import KEYWORD_KINDS
from .fold import fold

if TYPE_CHECKING:
    from .config import Keyword
    from .match import Matcher
    from .models import Hit

ENTITY_KINDS: tuple[str, ...] = KEYWORD_KINDS
"""Kinds a keyword may declare (``kind = "place"``). Actors and places veto when they differ on both sides;
topics are evidence only; regions (north Kosovo) are context, never evidence on their own."""
DEFAULT_KIND = "actor"
"""A keyword without a kind, and not in the shipped feeds.toml (:func:`shipped_kinds`): treated as an
actor, the conservative choice (it can veto)."""

# ---------------------------------------------------------------------------
# The gazetteer: names that are not alert keywords but tell stories apart
# ---------------------------------------------------------------------------

GAZETTEER: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("Belgrade", "place", ("Beograd", "Београд", "Beogradi", "Beogradit", "Beogradin")),
    ("Pristina", "place", ("Priština", "Приштина", "Prishtina", "Prishtinë", "Prishtinës", "Prishtinën")),
    ("Brussels", "place", ("Brisel", "Брисел", "Bruksel", "Brukseli", "Brukselit", "Brukselin")),
    ("Washington", "place", ("Vašington", "Вашингтон", "Uashington", "Uashingtoni")),
    ("Lajčák", "actor", ("Lajčak", "Лајчак", "Lajçak", "Lajcak")),
    ("Escobar", "actor", ("Eskobar", "Ескобар")),
    ("Borrell", "actor", ("Borel", "Борел", "Borrel")),
    ("Kallas", "actor", ("Kalas", "Калас")),
    ("Sørensen", "actor", ("Sorensen", "Соренсен")),
    ("Hovenier", "actor", ("Ховенир", "Hovenijer", "Ховенијер")),
    ("Bilčík", "actor", ("Bilčik", "Билчик", "Bilçik")),
    ("NATO", "actor", ("НАТО",)),
    ("EU", "actor", ("ЕУ", "European Union", "Evropska unija", "Европска унија", "Bashkimi Evropian")),
    ("OSCE", "actor", ("OEBS", "ОЕБС", "OSBE")),
    ("police", "actor", (
        "Kosovo police", "Kosovska policija", "Косовска полиција", "Policia e Kosovës", "policija", "полиција",
        "policia", "polic", "policajac", "policajci", "полицајац", "полицајци", "policijska", "полицијска",
        "policijske", "полицијске", "policajca", "polica", "policë", "policët", "policeman", "policemen",
        "policisë", "policinë")),
)  # fmt: skip
"""(canonical name, kind, other spellings). Bounded on purpose: the capitals and envoys of the dialogue
and the security actors that headlines name; the matcher's folding and endings cover inflection."""

# ---------------------------------------------------------------------------
# The event lexicon
# ---------------------------------------------------------------------------
# Patterns over FOLDED words (no diacritics, Cyrillic transliterated: "затворен" is "zatvoren").
# "word" is that exact word; "stem*" any word starting with the stem (Serbian and Albanian inflect
# by ending, so a stem covers zatvoren/zatvorena/zatvorila/zatvaranje, mbyllet/mbyllur/mbyllja).
# English is listed as word forms, because English stems collide (close* would take "closely").

EVENT_LEXICON: dict[str, dict[str, tuple[str, ...]]] = {
    "close": {
        "en": ("close", "closes", "closed", "closing", "closure", "closures", "shut", "shuts", "shutting",
               "shutdown", "seal", "seals", "sealed", "halt", "halts", "halted", "suspend", "suspends", "suspended"),
        "sr": ("zatvor*", "zatvar*", "obustav*"),
        "sq": ("mbyll*", "pezull*", "nderpre*"),
    },
    "open": {
        "en": ("open", "opens", "opened", "opening", "reopen", "reopens", "reopened", "reopening", "passable",
               "resume", "resumes", "resumed"),
        "sr": ("otvor*", "otvar*", "prohod*"),
        "sq": ("hap", "hapet", "hapen", "hapur", "hapi", "hapja", "hapjen", "hapin", "rihap*", "rifillo*"),
    },
    "block": {
        "en": ("erect", "erects", "erected", "put up", "puts up", "set up", "sets up", "block", "blocks", "blocked", "blocking", "blockade", "blockades",
               "barricaded"),
        "sr": ("postavi*", "postavlj*", "podig*", "podign*", "blokad*", "blokir*"),
        "sq": ("bllok*", "ngrit*", "ngrene", "ngriten", "ngriti", "vendosin barrikada", "vendosen barrikada",
               "vendosen barrikadat", "vendosen barrikada", "vendosen barrikadat"),
    },
    "unblock": {
        "en": ("remove", "removes", "removed", "removal", "clear", "clears", "cleared", "dismantle", "dismantles",
               "dismantled", "lift", "lifts", "lifted"),
        "sr": ("uklon*", "uklanj*", "sklon*", "sklanj*", "demontir*", "deblokir*", "rascisc*"),
        "sq": ("heq", "heqin", "heqen", "hequr", "hiqen", "hiqet", "hoqen", "hoqi", "zhbllok*", "largohen barrikadat",
               "larguan barrikadat", "largohet barrikada"),
    },
    "arrest": {
        "en": ("arrest", "arrests", "arrested", "arresting", "detain", "detains", "detained", "detention",
               "custody", "apprehended"),
        "sr": ("uhaps*", "haps*", "priveden*", "privode*", "pritvor*", "lisice", "lisen slobode", "liseni slobode",
               "lisena slobode", "zadrzan*"),
        "sq": ("arrest*", "paraburg*", "burgos*", "ndalohet", "ndalohen", "ndaluan", "ndaluar"),
    },
    "release": {
        "en": ("release", "releases", "released", "freed", "frees"),
        "sr": ("pusten*", "pusta*", "oslobod*", "oslobad*"),
        "sq": ("liro*", "liru*", "lirim*", "lirua*"),
    },
    "attack": {
        "en": ("attack", "attacks", "attacked", "assault", "assaulted", "ambush", "ambushed", "opened fire", "shooting",
               "shootings", "shot", "shots", "gunfire", "gunmen", "explosion", "explosions", "explosive",
               "explosives", "blast", "bomb", "bombs", "bombing", "grenade", "grenades", "sabotage"),
        "sr": ("napad*", "napal*", "pucnj*", "pucal*", "pucano", "pucnjav*", "eksploz*", "bomb*", "granat*",
               "rafal*", "diverzij*", "sabotaz*"),
        "sq": ("sulm*", "shten*", "qellim*", "shperth*", "granat*", "bomb*", "eksploz*", "sabotim*", "gjuajt*"),
    },
    "injure": {
        "en": ("injure", "injures", "injured", "injuring", "injury", "injuries", "wounded", "wounding", "hurt"),
        "sr": ("povred*", "povrijed*", "ranjen*", "ranjav*", "ranio"),
        "sq": ("plagos*", "lendu*", "lendim*"),
    },
    "kill": {
        "en": ("kill", "kills", "killed", "killing", "dead", "death", "deaths", "died", "dies", "slain"),
        "sr": ("ubij*", "ubist*", "ubio", "ubila", "ubili", "poginu*", "smrt*", "mrtv*", "stradao", "stradal*"),
        "sq": ("vra", "vritet", "vriten", "vrare", "vrau", "vrane", "vdiq", "vdes*", "vdekj*"),
    },
    "meet": {
        "en": ("meet", "meets", "met", "meeting", "meetings", "talks", "summit", "hosts", "hosted", "receive",
               "discuss", "discussion", "invite",
               "invites", "invited", "invitation"),
        "sr": ("sastan*", "sastaj*", "sastao", "sastala", "sastali", "sastace", "sastat*", "razgovo*", "razgovar*",
               "susret*", "pozvan", "pozvana", "pozvani", "pozvane", "pozivnic*", "primio", "primila",
               "sreo", "srela", "sreli", "samit*", "ugosti*"),
        "sq": ("takim*", "takon", "takoi", "takohen", "takohet", "takuan", "takojne", "bisedim*", "bisedoi",
               "bisedon", "samit*", "prit", "pret", "priti", "fto", "fton", "ftoi", "ftohen", "ftohet", "ftese",
               "ftuar"),
    },
    "protest": {
        "en": ("protest", "protests", "protested", "protesting", "protester", "protesters", "protestors",
               "rally", "rallies", "rallied", "demonstration", "demonstrations", "demonstrators", "march",
               "marched"),
        "sr": ("protest*", "demonstr*", "skup", "skupu", "okupil*", "okupljanj*"),
        "sq": ("protest*", "demonstr*", "tubim*", "marshim*"),
    },
    "withdraw": {
        "en": ("withdraw", "withdraws", "withdrew", "withdrawn", "withdrawal", "leave", "leaves", "left",
               "leaving", "quit", "quits", "exit", "exits", "pullout", "pull out", "pulls out", "pulled out",
               "retreat", "retreats", "boycott", "boycotts", "depart", "departs"),
        "sr": ("povlac*", "povuk*", "povuc*", "napust*", "napusta*", "izlaz*", "izasl*", "izasao", "izlazi",
               "bojkot*", "odlaz*", "otisao", "otisli", "otisla"),
        "sq": ("terheq*", "terhiq*", "terhoq*", "largo*", "largim*", "braktis*", "bojkot*", "dal", "dalin",
               "doli"),
    },
    "deploy": {
        "en": ("deploy", "deploys", "deployed", "deployment", "reinforce", "reinforces", "reinforced",
               "reinforcements", "send", "sends", "sent", "boost", "boosts", "boosted", "bolster", "bolsters",
               "increase", "increases", "increased"),
        "sr": ("raspored*", "pojac*", "poslat*", "poslao", "salje", "dodatn*", "rasporedj*", "upucen*"),
        "sq": ("shton", "shtoi", "shtuar", "dislok*", "perforc*", "dergon", "dergoi"),
    },
    "patrol": {
        "en": ("monitor", "monitors", "monitored", "monitoring", "patrol", "patrols", "patrolled", "patrolling",
               "observe", "observes", "observers", "watch", "watches", "watching"),
        "sr": ("prati", "prate", "pratio", "pratila", "pratili", "pracenj*", "nadgled*", "patrol*", "osmatr*",
               "nadzir*", "nadzor*"),
        "sq": ("monitor*", "patrull*", "vezhg*", "ndjek*", "ndjekin", "mbikeqyr*"),
    },
    "visit": {
        "en": ("visit", "visits", "visited", "visiting", "tour", "tours", "toured", "trip", "arrive", "arrives",
               "arrived", "arrival"),
        "sr": ("poset*", "posjet*", "obisa*", "obilaz*", "obisao", "obisla", "boravi*", "stig*", "stize", "dolazak",
               "doputova*"),
        "sq": ("vizit*", "viziton", "vizitoi", "mberri*", "arriti", "arrin"),
    },
    "seize": {
        "en": ("seize", "seizes", "seized", "seizure", "confiscate", "confiscates", "confiscated", "cache",
               "weapons found", "arms found"),
        "sr": ("zaplen*", "oduze*", "oduzim*", "konfisk*"),
        "sq": ("sekuestr*", "konfisk*"),
    },
    "raid": {
        "en": ("raid", "raids", "raided", "search", "searches", "searched", "operation", "swoop"),
        "sr": ("akcij*", "pretres*", "upad*", "racij*"),
        "sq": ("aksion*", "bastis*"),
    },
    "ban": {
        "en": ("ban", "bans", "banned", "banning", "barred", "denied entry", "refused entry", "prohibit", "prohibits",
               "prohibited", "expelled", "persona non grata"),
        "sr": ("zabran*", "proteran*", "protera*"),
        "sq": ("ndalohet hyrja", "ndalohet hyrja", "ndalohen hyrja", "ndalim*", "ndalon", "deboh*", "dëbua*"),
    },
    "enter": {
        "en": ("enter", "enters", "entered", "entry", "takes office", "took office", "sworn in"),
        "sr": ("usao", "usla", "usli", "ulazak", "ulaska", "ulazi", "ulaze", "polozi*"),
        "sq": ("hyn", "hyri", "hyjne", "hyne", "hyrja", "hyrjen", "hyrje", "merr detyren", "betoh*"),
    },
    "alert": {
        "en": ("alert", "readiness", "mobilise", "mobilises", "mobilised", "mobilize", "mobilizes", "mobilized",
               "mobilisation", "mobilization"),
        "sr": ("gotovost*", "pripravnost*", "mobiliz*", "uzbun*"),
        "sq": ("gatishm*", "mobiliz*", "alarm*"),
    },
    "takeover": {
        "en": ("take control", "takes control", "took control", "taken control", "takeover", "take over",
               "takes over", "took over"),
        "sr": ("preuz*",),
        "sq": ("merr kontrollin", "mori kontrollin", "marrin kontrollin", "marrje"),
    },
    "court": {
        "en": ("court", "courts", "trial", "hearing", "questioned", "questioning", "testify", "testifies",
               "testified", "sentenced", "sentence", "convicted", "acquitted", "verdict", "indicted", "indictment",
               "charged", "prosecutor", "prosecutors", "prosecution"),
        "sr": ("sud", "suda", "sudu", "sudom", "sudjenj*", "sudenj*", "saslusan*", "saslusanj*", "optuznic*",
               "osuden*", "osudjen*", "presud*", "tuzilast*", "tuzioc*", "tuzilac"),
        "sq": ("gjyq*", "gjykat*", "denoh*", "denua*", "aktakuz*", "prokuror*", "deshmi*"),
    },
    "statement": {
        "en": ("statement", "statements", "warns", "warned", "warn", "warning", "condemn", "condemns",
               "condemned", "condemnation", "accuse", "accuses", "accused", "urges", "urged", "urge",
               "demands", "demanded", "rejects", "rejected", "welcomes", "welcomed", "denies", "denied",
               "deny", "address", "addresses", "addressed", "vows", "vowed", "insists", "criticises",
               "criticizes", "criticised", "criticized", "appeal", "appeals", "announces", "announced", "calls for",
               "calls on", "called for", "called on"),
        "sr": ("izjav*", "saopst*", "osud*", "upozor*", "optuz*", "pozva*", "poziva*", "zahtev*", "zahtjev*",
               "odbac*", "odbij*", "poruci*", "porucu*", "poruka", "porukom", "tvrdi*", "negira*", "obrac*",
               "kritikov*", "kritikuj*", "apel*", "najav*", "pozdrav*", "ocenio", "ocenila", "ocenjuje"),
        "sq": ("deklar*", "denon*", "denoi", "denim*", "paralajm*", "akuz*", "thirrje", "kerkon", "kerkoi",
               "refuz*", "mirepret*", "mirepriti", "mohon", "mohoi", "kritik*", "apel*", "njoftoi", "njofton",
               "reagim*", "reagoi", "reagon"),
    },
    "resign": {
        "en": ("resign", "resigns", "resigned", "resignation", "steps down", "sacked", "dismissed", "fired"),
        "sr": ("ostavk*", "smenjen*", "smijenjen*", "razresen*", "smena"),
        "sq": ("doreheq*", "shkarkoh*", "shkarkua*", "shkarkim*"),
    },
    "clash": {
        "en": ("clash", "clashes", "clashed", "riot", "riots", "unrest", "scuffle", "scuffles", "violence"),
        "sr": ("sukob*", "sukobl*", "nered*", "incident*", "tuc*", "nasilj*"),
        "sq": ("perleshj*", "perlesh*", "trazir*", "incident*", "dhun*"),
    },
    "vote": {
        "en": ("election", "elections", "vote", "votes", "voted", "voting", "referendum", "ballot", "poll",
               "polls", "recall"),
        "sr": ("izbor*", "glasa*", "glasan*", "referend*", "opoziv*"),
        "sq": ("zgjedh*", "votim*", "votoj*", "votua*", "votuan", "referend*", "shkarkim"),
    },
}
"""Event classes → language → folded word patterns. Bounded and documented on purpose: every word here
can be read and argued about. A class is the event, not the wording, so "zatvoren" and "mbyllet" are
both ``close``."""

WEAK_EVENTS: frozenset[str] = frozenset({"patrol", "statement"})
"""Classes whose words are as often the subject as the event ("a KFOR patrol visited…", "in a statement…"):
shared, they do not make two headlines one event when each also says something else happened."""

FAMILY: dict[str, str] = {"attack": "violence", "clash": "violence", "injure": "casualties", "kill": "casualties",
                          "close": "closure", "block": "closure", "open": "reopening", "unblock": "reopening",
                          "arrest": "police action", "raid": "police action", "seize": "police action",
                          "meet": "meeting", "visit": "meeting"}
"""Classes that one report names and another leaves out ("patrol attacked, officer injured" vs "patrol
attacked"). Each side naming a family the other lacks ("explosion, no one hurt" vs "two arrested over the
explosion") is a different event; a family left out by one side is not."""

MULTI_PARTY: frozenset[str] = frozenset({"meet"})
"""Events with two sides: the same event only when both headlines name the same parties (two names)."""

OPPOSITES: tuple[tuple[str, str], ...] = (
    ("close", "open"), ("block", "unblock"), ("arrest", "release"), ("deploy", "withdraw"),
)
"""Classes that cannot describe one event: one side closing and the other reopening is two stories."""

SAY_WORDS: frozenset[str] = frozenset(
    "says say said tells told claims claimed rekao rekla rekli kaze kazao kazala tvrdi poruka tha thote thene "
    "deklaroi".split())
"""Speech verbs: a statement only near the start of a headline ("Vučić says…", "Kurti tha…"); at the end they
are attribution ("…, police say") and say nothing about what kind of event it was."""
SAY_REACH = 4
"""How many words from the start a speech verb still makes the headline a statement."""

_STOPWORDS: frozenset[str] = frozenset(
    """the a an of in on at to for and or with from by after over as is are was were be been will not its
    his her their new says said near amid into than that this
    i u na za od do iz sa se je su da ce po kod kao ka prema nakon posle tokom zbog ne li koji koja
    e te ne per nga me se dhe ka nje ne mbi pas si qe jane eshte""".split())
"""Function words of the three languages, ignored by title similarity."""
STEM = 5
"""Title similarity compares word beginnings of this length: Serbian and Albanian inflect by ending."""

_WORD = re.compile(r"[^\W_]+")
_HAS_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_RAW_WORD = re.compile(r"[^\W\d_]+")
_LANG_WORDS: dict[str, frozenset[str]] = {
    "en": frozenset("""the of in on at to for and after with from by as is are was were over says said will a an
                    near amid into against not be new two one dozens hundreds his her their""".split()),
    "sr-Latn": frozenset("""je u na i za od se su sa da kod iz nakon posle zbog nece su ka prema o pre nije
                         ali ili kao jos do bez uz pod nad medju ce dva dvojica jedan""".split()),
    "sq": frozenset("""e te per nga me dhe i se nje ka mbi pas si qe jane eshte nuk do ta prane afer kunder
                    ndaj drejt gjate tek dy""".split()),
}
_LEXICON_LANG = {"en": "en", "sr": "sr-Latn", "sq": "sq"}


def detect_language(title: str, folded: str | None = None) -> str:
    """The language and script of a headline: ``en``, ``sr-Latn``, ``sr-Cyrl`` or ``sq`` ('' if unclear).

    Cyrillic letters decide Serbian Cyrillic. Otherwise each language scores its
    function words, its event words (:data:`EVENT_LEXICON`) and, for lower-case
    words only (names keep their spelling in every language: "Vučić" in an
    English headline), its letters: č ć š ž đ Serbian, ë ç Albanian. The best
    score wins; a tie or nothing at all is ''.
    """
    if _HAS_CYRILLIC.search(title):
        return "sr-Cyrl"
    return _language(title, folded if folded is not None else fold(title))


@lru_cache(maxsize=4096)
def _language(title: str, folded: str) -> str:
    """:func:`detect_language` for Latin-script text, cached: the store asks once per item, the features again."""
    scores = dict.fromkeys(_LANG_WORDS, 0)
    for raw in _RAW_WORD.findall(title):
        if raw[0].islower():
            if any(c in "čćšžđ" for c in raw):
                scores["sr-Latn"] += 1
            if any(c in "ëç" for c in raw):
                scores["sq"] += 1
    for word in _WORD.findall(folded):
        for lang, vocab in _LANG_WORDS.items():
            if word in vocab:
                scores[lang] += 1
        for lang in _word_languages(word):
            scores[lang] += 1
    best = max(scores.values())
    winners = [lang for lang, score in scores.items() if score == best]
    return winners[0] if best > 0 and len(winners) == 1 else ""


@lru_cache(maxsize=65536)
def _word_languages(word: str) -> frozenset[str]:
    """The languages whose event lexicon has this folded word (as a form or under a stem)."""
    langs = set(_EXACT_LANGS.get(word, ()))
    for stem, stem_langs in _STEM_LANGS.get(word[:2], ()):
        if word.startswith(stem):
            langs |= stem_langs
    return frozenset(langs)


def english_forms(word: str) -> set[str]:
    """A listed English word and its regular inflections (seize → seizes, seized, seizing).

    Only suffixes are added, so a listed "close" never reaches "closely"; the few
    non-words this makes ("shoting") occur in no headline.
    """
    forms = {word, word + "s", word + "ed", word + "ing"}
    if word.endswith("e"):
        forms |= {word + "d", word[:-1] + "ing"}
    if word.endswith(("s", "sh", "ch", "x")):
        forms.add(word + "es")
    return forms


def _compile_lexicon(lexicon: dict[str, dict[str, tuple[str, ...]]]) -> tuple[dict[str, str], list[tuple[str, str]],
                                                                                 dict[str, list[str]]]:
    """Exact words → class, stems → class (longest first), and phrases → classes."""
    exact: dict[str, str] = {}
    stems: list[tuple[str, str]] = []
    phrases: dict[str, list[str]] = {}
    for cls, by_lang in lexicon.items():
        for lang, patterns in by_lang.items():
            for pattern in patterns:
                p = fold(pattern)
                if " " in p:
                    phrases.setdefault(p, []).append(cls)
                elif p.endswith("*"):
                    stems.append((p[:-1], cls))
                else:
                    for form in english_forms(p) if lang == "en" else {p}:
                        exact.setdefault(form, cls)
    stems.sort(key=lambda s: -len(s[0]))
    return exact, stems, phrases


_EXACT, _STEMS, _PHRASES = _compile_lexicon(EVENT_LEXICON)
_PHRASES_BY_FIRST: dict[str, list[tuple[tuple[str, ...], list[str]]]] = {}
for _phrase, _classes in _PHRASES.items():
    _PHRASES_BY_FIRST.setdefault(_phrase.split()[0], []).append((tuple(_phrase.split()), _classes))
_STEM_BY_FIRST: dict[str, list[tuple[str, str]]] = {}
for _stem, _cls in _STEMS:
    _STEM_BY_FIRST.setdefault(_stem[:2], []).append((_stem, _cls))
_OPPOSITE: dict[str, str] = {a: b for a, b in OPPOSITES} | {b: a for a, b in OPPOSITES}
_EXACT_LANGS: dict[str, set[str]] = {}
_STEM_LANGS: dict[str, list[tuple[str, set[str]]]] = {}
for _by_lang in EVENT_LEXICON.values():
    for _lang, _patterns in _by_lang.items():
        for _pattern in _patterns:
            _p = fold(_pattern)
            if " " in _p:
                continue
            if _p.endswith("*"):
                _STEM_LANGS.setdefault(_p[:2], []).append((_p[:-1], {_LEXICON_LANG[_lang]}))
            else:
                _EXACT_LANGS.setdefault(_p, set()).add(_LEXICON_LANG[_lang])


@lru_cache(maxsize=65536)
def _word_class(word: str) -> str | None:
    """The event class of one folded word: its exact form, else the longest stem it starts with."""
    cls = _EXACT.get(word)
    if cls is None:
        for stem, stem_cls in _STEM_BY_FIRST.get(word[:2], ()):
            if word.startswith(stem):
                return stem_cls
    return cls


def event_classes(folded_words: Sequence[str]) -> tuple[frozenset[str], bool]:
    """Event classes named by a folded headline's words, and whether the headline is a statement.

    It is a statement when a speech verb opens it ("Vučić says…", "Kurti tha…") or a
    statement word comes before any other event word ("Kurti condemns attack…", "EU
    urges calm after clashes…"); "Escobar meets Kurti, urges de-escalation" reports
    a meeting. Phrases ("denied entry", "steps down") are matched first and their
    words are then not read alone ("denied" would otherwise be a statement).
    """
    found: list[tuple[int, str]] = []
    said = False
    words = list(folded_words)
    if len(words) > 1:
        for i, word in enumerate(folded_words):
            for parts, classes in _PHRASES_BY_FIRST.get(word, ()):
                n = len(parts)
                if tuple(folded_words[i:i + n]) == parts:
                    found += [(i, cls) for cls in classes]
                    for j in range(i, i + n):
                        words[j] = ""
    for i, word in enumerate(words):
        if not word:
            continue
        cls = _word_class(word)
        if cls is not None:
            found.append((i, cls))
        if i < SAY_REACH and word in SAY_WORDS:
            said = True
    classes = {cls for _, cls in found}
    if said:
        classes.add("statement")
    statement = said or bool(found) and min(found)[1] == "statement"
    return frozenset(classes), statement


PLACE_PREPOSITIONS: frozenset[str] = frozenset(
    "in at near to from outside inside u kod na iz ka blizu pored ispred prema ne afer prane te tek nga drejt".split())
"""Words after which a capitalised word is a place ("at Rudare", "kod Rudara", "në Rudare"), folded."""
_NOT_PLACES: tuple[str, ...] = ("koso", "srbi", "serb", "euro", "evro", "alba", "shqi", "nort", "sout", "sever",
                                 "jug", "veri")
"""Capitalised words after a preposition that are not the place of the event (in Kosovo, u Srbiji, to Serbia)."""
_CAP_WORD = re.compile(r"[^\W\d_]+")


def unknown_places(title: str, spans: Sequence[tuple[int, int]]) -> frozenset[str]:
    """Capitalised words right after a place preposition that no keyword covers: places the config does not
    know ("at Rudare crossing", "у Рудару"), as folded 5-letter stems, so "Rudare"/"Rudaru"/"Рудару" agree.

    A headline in Title Case says nothing this way and gives none; a word followed by a known name is
    part of it ("in North Mitrovica", "u Kosovskoj Mitrovici").
    """
    words = list(_CAP_WORD.finditer(title))
    if not words or sum(w.group()[0].isupper() for w in words) > 0.6 * len(words):
        return frozenset()
    found = set()
    for prev, word, nxt in zip(words, words[1:], [*words[2:], None], strict=False):
        text = word.group()
        if not text[0].isupper() or text.isupper() or fold(prev.group()) not in PLACE_PREPOSITIONS:
            continue
        if any(a <= word.start() < b for a, b in spans):
            continue
        if nxt is not None and any(a <= nxt.start() < b for a, b in spans):
            continue
        stem = fold(text)[:STEM]
        if not stem.startswith(_NOT_PLACES):
            found.add(stem)
    return frozenset(found)


NEW_MARKERS: frozenset[str] = frozenset(
    "new another fresh second again renewed nova novi novu nove novog novoj jos ponovni ponovna ponovo opet "
    "re ri tjeter serish perseri".split())
"""Words saying an event happened *again*: hours later, "new roadblock near Brnjak" is not the first one."""


# ---------------------------------------------------------------------------
# Features of one item
# ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoryFeatures:
    """What the clusterer knows about one item: stored with the story, compared with later items."""

    title: str
    published: float
    """POSIX seconds."""
    entities: dict[str, str]
    """Canonical term → kind."""
    events: frozenset[str]
    stems: frozenset[str]
    language: str = ""
    speaker: bool = False
    """A statement headline ("Kurti: …", "Kurti condemns …"): it reports what an actor said."""
    feed: str = ""
    again: bool = False
    """The headline says the event is a new one or a repeat ("new roadblock", "nova barikada")."""
    elsewhere: frozenset[str] = frozenset()
    """Places no keyword names ("at Rudare", "u Rudaru"), as folded 5-letter stems (:func:`unknown_places`)."""

    def to_json(self) -> str:
        return json.dumps({"t": self.title, "p": self.published, "e": self.entities, "v": sorted(self.events),
                           "s": sorted(self.stems), "l": self.language, "k": self.speaker, "f": self.feed,
                           "a": self.again, "u": sorted(self.elsewhere)},
                          ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> StoryFeatures:
        d = json.loads(text)
        return cls(d["t"], d["p"], d["e"], frozenset(d["v"]), frozenset(d["s"]), d.get("l", ""), d.get("k", False),
                   d.get("f", ""), d.get("a", False), frozenset(d.get("u", ())))

    def specific(self) -> set[str]:
        """Entities that can be evidence (not broad regions)."""
        return {t for t, k in self.entities.items() if k != "region"}


@dataclass(slots=True)
class Verdict:
    """The comparison of a new item with one earlier item, and why."""

    same: bool
    reasons: list[str] = field(default_factory=list)
    score: float = 0.0
    vetoed: bool = False
    """A veto (not just too little evidence) said no: the story cannot take the item whatever its other items say."""

    def why(self) -> str:
        return "; ".join(self.reasons)


_COLON_SPEAKER = re.compile(r"^\s*([^:]{1,40}):\s+\S")
_LINK_WORDS: frozenset[str] = frozenset("and with sa i u na dhe me ne vs".split())
"""Words that make a headline's head before a colon a label ("Vučić sa Eskobarom: …"), not a speaker."""


class Clusterer:
    """Builds :class:`StoryFeatures` for items and compares them. One per config; no mutable state."""

    def __init__(self, keywords: Sequence[Keyword] = (), *, window: float = 12 * 3600, close_gap: float = 6 * 3600,
                 similar: float = 0.6, gazetteer: bool = True) -> None:
        from .config import Keyword as _Keyword
        from .match import Matcher

        self.window = window
        self.close_gap = close_gap
        self.similar = similar
        shipped = shipped_kinds() if any(k.kind is None for k in keywords) else {}
        self.kinds: dict[str, str] = {k.term: k.kind or shipped.get(k.term.casefold(), DEFAULT_KIND)
                                      for k in keywords}
        extra = []
        if gazetteer:
            configured = {fold(s) for k in keywords for s in k.spellings}
            for term, kind, aliases in GAZETTEER:
                if fold(term) in configured:
                    continue
                self.kinds.setdefault(term, kind)
                extra.append(_Keyword(term, aliases, "low", "word", False))
        self._gazetteer: Matcher | None = Matcher(extra) if extra else None
        self._keywords: Matcher | None = None
        if keywords:
            self._keywords = Matcher(keywords)

    # -- features ------------------------------------------------------------
    def features(self, title: str, hits: Iterable[Hit] | None = None, *, published: datetime | float = 0.0,
                 folded: str | None = None, feed: str = "", fallback_terms: Iterable[str] = ()) -> StoryFeatures:
        """Features of one headline. ``hits`` are the matcher's hits (only those inside the title are used);
        without them the clusterer runs its own matcher over the configured keywords, and without
        configured keywords it takes ``fallback_terms`` (the alert's keywords) as the names."""
        if folded is None:
            folded = fold(title)
        n = len(title)
        if hits is None and self._keywords is not None:
            hits = self._keywords.find(title)
        spans: list[tuple[int, int]] | None = None
        if hits is not None:
            title_hits = [h for h in hits if h.start < n]
            terms = [h.keyword for h in title_hits]
            spans = [(h.start, h.end) for h in title_hits]
        else:
            terms = list(fallback_terms)
        if self._gazetteer is not None:
            found = self._gazetteer.find(title)
            terms += [h.keyword for h in found]
            if spans is not None:
                spans += [(h.start, h.end) for h in found]
        entities = {t: self.kinds.get(t, DEFAULT_KIND) for t in terms}
        elsewhere = unknown_places(title, spans) if spans is not None else frozenset()
        words = _WORD.findall(folded)
        events, speaker = event_classes(words)
        colon = _COLON_SPEAKER.match(title)
        if colon:
            head = colon.group(1)
            # "Kurti: …" quotes Kurti; "Vučić sa Eskobarom: razgovor o …" is a label for a meeting.
            head_words = _WORD.findall(fold(head))
            if len(head_words) <= 3 and not set(head_words) & _LINK_WORDS and any(
                    self.kinds.get(h.keyword, DEFAULT_KIND) == "actor" for h in self._entity_hits(head)):
                events = events | {"statement"}
                speaker = True
        stems = frozenset(w if w.isdigit() else w[:STEM] for w in words
                          if w.isdigit() or len(w) > 2 and w not in _STOPWORDS)
        stamp = published.timestamp() if isinstance(published, datetime) else float(published)
        again = any(w in NEW_MARKERS for w in words)
        return StoryFeatures(title, stamp, entities, events, stems, detect_language(title, folded), speaker, feed,
                             again, elsewhere)

    def _entity_hits(self, text: str) -> list[Hit]:
        out: list[Hit] = []
        if self._keywords is not None:
            out += self._keywords.find(text)
        if self._gazetteer is not None:
            out += self._gazetteer.find(text)
        return out

    # -- comparing -----------------------------------------------------------
    def veto(self, new: StoryFeatures, old: StoryFeatures) -> str | None:
        """Why these two cannot be one story, or None."""
        gap = abs(new.published - old.published)
        if gap > self.window:
            return f"{_hours(gap)} apart (more than {_hours(self.window)})"
        if new.feed and new.feed == old.feed:
            return f"both from {new.feed} (an outlet does not report one event twice under two headlines)"
        numbers_new = {s for s in new.stems if s.isdigit()}
        numbers_old = {s for s in old.stems if s.isdigit()}
        if numbers_new and numbers_old and numbers_new != numbers_old:
            return f"different numbers: {_join(numbers_new)} vs {_join(numbers_old)}"
        if gap > self.close_gap / 2 and (new.again or old.again):
            return f"{_hours(gap)} apart and one headline reports a new or repeated event"
        for cls in new.events - old.events:
            opp = _OPPOSITE.get(cls)
            if opp and opp in old.events and opp not in new.events:
                return f"opposite events: {cls} vs {opp}"
        real_new = new.events - {"statement"}
        real_old = old.events - {"statement"}
        if new.events and old.events and not (new.events & old.events):
            return f"different events: {_join(new.events)} vs {_join(old.events)}"
        strong_new, strong_old = new.events - WEAK_EVENTS, old.events - WEAK_EVENTS
        if strong_new and strong_old and not (strong_new & strong_old):
            return f"different events: {_join(strong_new)} vs {_join(strong_old)}"
        fam_new = {FAMILY.get(c, c) for c in strong_new}
        fam_old = {FAMILY.get(c, c) for c in strong_old}
        if fam_new - fam_old and fam_old - fam_new:
            extra_new = {c for c in strong_new if FAMILY.get(c, c) not in fam_old}
            extra_old = {c for c in strong_old if FAMILY.get(c, c) not in fam_new}
            return f"different events: {_join(extra_new)} vs {_join(extra_old)}"
        if new.speaker != old.speaker:
            plain = old if new.speaker else new
            if plain.events - WEAK_EVENTS:
                return "a statement about an event is not the event"
        for kind in ("actor", "place"):
            a = {t for t, k in new.entities.items() if k == kind}
            b = {t for t, k in old.entities.items() if k == kind}
            if a - b and b - a:
                return f"different {kind}s: {_join(a - b)} vs {_join(b - a)}"
        anchors_new = {t for t, k in new.entities.items() if k in ("actor", "place")}
        anchors_old = {t for t, k in old.entities.items() if k in ("actor", "place")}
        if len(anchors_new & anchors_old) == 1 and anchors_new - anchors_old and anchors_old - anchors_new:
            return (f"one name in common ({_join(anchors_new & anchors_old)}) and each names another: "
                    f"{_join(anchors_new - anchors_old)} vs {_join(anchors_old - anchors_new)}")
        places_new = {t for t, k in new.entities.items() if k == "place"} | new.elsewhere
        places_old = {t for t, k in old.entities.items() if k == "place"} | old.elsewhere
        if (new.elsewhere or old.elsewhere) and places_new - places_old and places_old - places_new:
            return f"different places: {_join(places_new - places_old)} vs {_join(places_old - places_new)}"
        if new.speaker != old.speaker:
            talker, other = (new, old) if new.speaker else (old, new)
            extra = {t for t, k in talker.entities.items() if k == "actor"} - set(other.entities)
            if extra and (real_new or real_old):
                return f"a statement by {_join(extra)} reacting to the event is not the event"
        return None

    def compare(self, new: StoryFeatures, old: StoryFeatures) -> Verdict:
        """Same story or not, with the reasons in words (for the event log and ``explain_pair``)."""
        veto = self.veto(new, old)
        if veto is not None:
            return Verdict(False, [f"not the same story: {veto}"], 0.0, vetoed=True)
        shared = new.specific() & old.specific()
        anchors = {t for t in shared if new.entities.get(t) in ("actor", "place")}
        if not anchors:
            what = f"only {_join(shared)} in common" if shared else "no name or place in common"
            return Verdict(False, [f"not the same story: {what}"], 0.0)
        sim = similarity(new.stems, old.stems)
        gap = abs(new.published - old.published)
        events = new.events & old.events
        strong = events - WEAK_EVENTS
        reasons = [f"both name {_join(shared)}"]
        if events:
            reasons.append(f"both report {_join(events)}")
        reasons += [f"{_minutes(gap)} apart", f"title similarity {sim:.2f}"]
        score = len(shared) + 2 * len(events) + 3 * sim - gap / self.window
        similar = sim >= self.similar
        if gap > self.close_gap and not (len(shared) >= 2 and similar):
            return Verdict(False, [f"not the same story: over {_hours(self.close_gap)} apart without two names "
                                   f"and similar titles", *reasons], score)
        if strong - MULTI_PARTY:
            return Verdict(True, reasons, score)
        if strong:  # a meeting: both parties must be the same, not just one of them
            if len(shared) >= 2 or similar:
                return Verdict(True, reasons, score)
            return Verdict(False, [f"not the same story: a meeting with one party in common ({_join(shared)})",
                                   *reasons], score)
        if events:  # statements or patrols only: the same speaker says many things in a day
            if len(shared) >= 2 or similar:
                return Verdict(True, reasons, score)
            return Verdict(False, [f"not the same story: only {_join(events)} by {_join(shared)} in common",
                                   *reasons], score)
        if (not new.events or not old.events) and similar:
            reasons.append("a rewording of the same headline")
            return Verdict(True, reasons, score)
        if (not new.events or not old.events) and len(anchors) >= 3:
            reasons.append("three names or places in common, and one says nothing of what happened")
            return Verdict(True, reasons, score)
        return Verdict(False, ["not the same story: nothing said about what happened in common", *reasons], score)

    def match_story(self, new: StoryFeatures, members: Sequence[StoryFeatures]) -> Verdict:
        """Against a story's items: no veto with any, evidence with at least one (the best explains it)."""
        best: Verdict | None = None
        best_member: StoryFeatures | None = None
        for old in members:
            verdict = self.compare(new, old)
            if verdict.vetoed:
                reason = verdict.reasons[0].removeprefix("not the same story: ")
                return Verdict(False, [f"not the same story as {old.title!r}: {reason}"], 0.0, vetoed=True)
            if verdict.same and (best is None or verdict.score > best.score):
                best, best_member = verdict, old
        if best is None or best_member is None:
            return Verdict(False, ["no item of the story gives enough evidence"], 0.0)
        where = f" ({best_member.feed})" if best_member.feed else ""
        return Verdict(True, [f"same story as {best_member.title!r}{where}", *best.reasons], best.score)


@lru_cache(maxsize=1)
def shipped_kinds() -> dict[str, str]:
    """The kinds the shipped feeds.toml gives its keywords (casefolded term → kind).

    A config written before keywords had a kind (or one copied from an older
    template) still names KFOR, Jarinje and Vučić; for a term the shipped config
    also has, its kind is better than the conservative default.
    """
    import tomllib
    from importlib.resources import files

    try:
        data = tomllib.loads(files("crisiswatch").joinpath("default_feeds.toml").read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return {}
    return {str(k["term"]).casefold(): str(k["kind"]) for k in data.get("keywords", [])
            if isinstance(k, dict) and k.get("kind") in ENTITY_KINDS and "term" in k}


def similarity(a: frozenset[str], b: frozenset[str]) -> float:
    """Dice coefficient of two stem sets (0 when either is empty)."""
    if not a or not b:
        return 0.0
    return 2 * len(a & b) / (len(a) + len(b))


def _join(items: Iterable[str]) -> str:
    return ", ".join(sorted(items))


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:.0f} h" if seconds >= 3600 else f"{seconds / 60:.0f} min"


def _minutes(seconds: float) -> str:
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def explain_pair(clusterer: Clusterer, title_a: str, title_b: str, *, gap_minutes: float = 0.0) -> str:
    """Human-readable features of two headlines and the verdict, for debugging the policy."""
    a = clusterer.features(title_a, published=0.0)
    b = clusterer.features(title_b, published=gap_minutes * 60)
    lines = []
    for label, f in (("A", a), ("B", b)):
        ents = ", ".join(f"{t} ({k})" for t, k in sorted(f.entities.items())) or "-"
        lines.append(f"{label}: {f.title}")
        lines.append(f"   language {f.language or '?'}; entities {ents}; events {_join(f.events) or '-'}"
                     f"{'; statement' if f.speaker else ''}")
    verdict = clusterer.compare(b, a)
    lines.append(("SAME STORY: " if verdict.same else "DIFFERENT: ") + verdict.why())
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m crisiswatch.cluster [--config feeds.toml] [--gap MIN] "title A" "title B"``."""
    import argparse
    from pathlib import Path

    from .config import load_config
    from .locations import default_config_path

    parser = argparse.ArgumentParser(prog="python -m crisiswatch.cluster", description=main.__doc__)
    parser.add_argument("--config", help="feeds.toml whose keywords name the entities (default: yours)")
    parser.add_argument("--gap", type=float, default=0.0, help="minutes between the two headlines")
    parser.add_argument("titles", nargs=2)
    args = parser.parse_args(argv)
    path = Path(args.config) if args.config else default_config_path()
    try:
        cfg = load_config(path)
    except Exception as exc:  # a debug tool: say what went wrong, no traceback
        print(f"{path}: {exc}")
        return 2
    print(explain_pair(Clusterer(cfg.keywords), *args.titles, gap_minutes=args.gap))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
