"""The one loader for feeds.toml.

Every error is a :class:`ConfigError` whose message names the file, the line
where we can find it, the key path (``feeds[3].url``) and what to write instead,
because the people editing this file are analysts, not Python programmers.
"""

from __future__ import annotations

import difflib
import math
import re
import tomllib
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .errors import ConfigError
from .models import SEVERITIES
from .termsafe import url_problem
from .units import parse_duration, parse_size

MATCH_MODES = ("word", "exact", "prefix")
KEYWORD_KINDS = ("actor", "place", "topic", "region")
"""What a keyword names, for story clustering (see ``crisiswatch/cluster.py``)."""
RULE_SEVERITIES = (*SEVERITIES, "mute")


@dataclass(frozen=True, slots=True)
class Settings:
    poll_interval: float = 300.0
    timeout: float = 20.0
    max_feed_bytes: int = 10_000_000
    database: str | None = None
    max_connections: int = 32
    per_host_connections: int = 4
    user_agent: str = "crisiswatch/0.1 (+https://github.com/crisiswatch/crisiswatch)"
    bell: bool = True
    notify_command: tuple[str, ...] = ()
    notify_min_severity: str = "high"
    webhook_url: str | None = None
    """An http(s) JSON receiver: an alias for the Apprise URL ``json(s)://`` on the same address."""
    notify_urls: tuple[str, ...] = ()
    """Apprise URLs (``json://``, ``ntfy://``, ``tgram://``, ``mailto://``…) told about every alert worth it."""
    surge_feeds: int = 3
    """A story carried by this many distinct feeds within ``surge_window`` is a surge."""
    surge_window: float = 3600.0
    surge_factor: float = 4.0
    """A keyword's mentions in the last hour above factor × its hourly baseline is a surge…"""
    surge_min_mentions: int = 8
    """…but only when it has at least this many mentions in that hour (quiet days stay quiet)."""
    group_window: float = 172800.0
    """How far back an incoming story is grouped with an existing alert (48h)."""
    timezone: str | None = None
    """IANA zone (Europe/Belgrade) for local times in reports; None: UTC only."""


@dataclass(frozen=True, slots=True)
class Feed:
    name: str
    url: str
    interval: float | None = None
    tags: tuple[str, ...] = ()
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class Keyword:
    term: str
    aliases: tuple[str, ...] = ()
    severity: str = "medium"
    match: str = "word"
    alert: bool = True
    """False makes a context-only keyword: usable in rules, never alerts on its own."""
    kind: str | None = None
    """actor | place | topic | region: how story clustering weighs the name (``cluster.ENTITY_KINDS``)."""

    @property
    def spellings(self) -> tuple[str, ...]:
        return (self.term, *self.aliases)


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    all: tuple[str, ...] = ()
    any: tuple[str, ...] = ()
    none: tuple[str, ...] = ()
    severity: str = "high"
    """A severity, or "mute" to suppress the alert."""


@dataclass(frozen=True, slots=True)
class Config:
    path: Path | None
    settings: Settings = field(default_factory=Settings)
    feeds: tuple[Feed, ...] = ()
    keywords: tuple[Keyword, ...] = ()
    rules: tuple[Rule, ...] = ()

    def interval_for(self, feed: Feed) -> float:
        return feed.interval if feed.interval is not None else self.settings.poll_interval

    def database_path(self) -> Path | None:
        """``settings.database`` resolved relative to the config file, if set."""
        if not self.settings.database:
            return None
        db = Path(self.settings.database).expanduser()
        if not db.is_absolute() and self.path is not None:
            db = self.path.parent / db
        return db


MAX_TIMEOUT = 3600.0
"""``settings.timeout`` bounds one fetch: at most an hour."""
MAX_COUNT = 10_000
"""Largest whole-number setting (connections, surge counts): beyond it only memory or sockets run out."""


def http_url_problem(url: str) -> str | None:
    """Why ``url`` cannot be fetched as a feed (None when it can).

    ``urlsplit`` raises on some malformed URLs (``http://[::1``) and accepts
    others that no HTTP client can send (no host, a port of ``99999``, spaces
    or control characters), so each is checked here, where the message can say
    which key to fix, instead of failing at every poll.
    """
    if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in url):
        return f"{url!r} contains a space or a control character"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port that is no number or beyond 65535
        host = parts.hostname
    except ValueError as exc:
        return f"{url!r} is not a valid URL ({exc})"
    if parts.scheme.lower() not in ("http", "https"):
        return f"{url!r} is not an http(s) URL"
    if not host:
        return f"{url!r} has no host name"
    if "[" in parts.netloc and ":" not in host:
        return f"{url!r} has a bracketed host that is not an IPv6 address"
    return None


class _Reader:
    """Validates the parsed TOML and turns problems into located ConfigErrors."""

    def __init__(self, source: str, path: Path | None) -> None:
        self.source = source
        self.path = path
        self.label = str(path) if path else "<config>"

    # -- locating ----------------------------------------------------------
    def line_of(self, keypath: str) -> int | None:
        """Best-effort line number for a key path such as ``feeds[3].url``."""
        lines = self.source.splitlines()
        parts = re.findall(r"([A-Za-z_][\w-]*)(?:\[(\d+)\])?", keypath)
        start = 0
        for i, (name, index) in enumerate(parts):
            last = i == len(parts) - 1
            if index:
                header = re.compile(rf"^\s*\[\[\s*{re.escape(name)}\s*\]\]")
                seen = -1
                for n in range(start, len(lines)):
                    if header.match(lines[n]):
                        seen += 1
                        if seen == int(index):
                            start = n
                            break
                else:
                    return None
                if last:
                    return start + 1
                continue
            table = re.compile(rf"^\s*\[\s*{re.escape(name)}\s*\]")
            key = re.compile(rf"^\s*\"?{re.escape(name)}\"?\s*=")
            for n in range(start, len(lines)):
                if key.match(lines[n]) or (not last and table.match(lines[n])):
                    start = n
                    break
                if n > start and lines[n].lstrip().startswith("[") and i > 0:
                    return start + 1
            else:
                return None
            if last:
                return start + 1
        return None

    def fail(self, keypath: str, problem: str, fix: str) -> ConfigError:
        line = self.line_of(keypath) if keypath else None
        where = f"{self.label}:{line}" if line else self.label
        key = f" {keypath}:" if keypath else ""
        return ConfigError(f"{where}:{key} {problem}\n  fix: {fix}")

    def refuse_controls(self, url: str, path: str, item: int | None = None) -> None:
        """A URL holding a control, bidi or line-break character is refused, never repaired or printed."""
        problem = url_problem(url)
        if problem:
            where = "" if item is None else f"item {item}: "
            raise self.fail(path, f"{where}the URL {problem}; refused",
                            "retype the URL by hand: an address never contains such characters")

    # -- typed getters -----------------------------------------------------
    def check_keys(self, table: dict[str, Any], allowed: tuple[str, ...], prefix: str) -> None:
        for key in table:
            if key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1)
                hint = f"did you mean {close[0]!r}?" if close else f"allowed keys: {', '.join(allowed)}"
                raise self.fail(f"{prefix}{key}" if prefix else key, f"unknown key {key!r}", hint)

    def string(self, table: dict[str, Any], key: str, path: str, *, required: bool = False) -> str | None:
        if key not in table:
            if required:
                raise self.fail(path.rsplit(".", 1)[0], f"missing {key!r}", f'add {key} = "…"')
            return None
        value = table[key]
        if not isinstance(value, str):
            raise self.fail(path, f"must be a string, not {type(value).__name__}", f'write {key} = "…" in quotes')
        return value

    def strings(self, table: dict[str, Any], key: str, path: str) -> tuple[str, ...]:
        value = table.get(key, [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(path, "must be a list of strings", f'write {key} = ["…", "…"]')
        return tuple(v.strip() for v in value if v.strip())

    def convert(self, table: dict[str, Any], key: str, path: str, fn: Any, example: str) -> Any:
        try:
            return fn(table[key])
        except (ValueError, TypeError, OverflowError) as exc:
            raise self.fail(path, f"{exc}", f"write {key} = {example}") from None

    # -- sections ------------------------------------------------------------
    def settings(self, raw: Any) -> Settings:
        if not isinstance(raw, dict):
            raise self.fail("settings", "must be a table", "write [settings] on its own line")
        fields = tuple(Settings.__dataclass_fields__)
        self.check_keys(raw, fields, "settings.")
        values: dict[str, Any] = {}
        for key in ("poll_interval", "surge_window", "group_window"):
            if key in raw:
                values[key] = self.convert(raw, key, f"settings.{key}", parse_duration, '"5m"')
        if "timeout" in raw:
            # One fetch; an hour is already far past any server worth waiting for (a year said nothing useful).
            values["timeout"] = self.convert(raw, "timeout", "settings.timeout",
                                             partial(parse_duration, maximum=MAX_TIMEOUT), '"20s"')
        if "max_feed_bytes" in raw:
            values["max_feed_bytes"] = self.convert(raw, "max_feed_bytes", "settings.max_feed_bytes", parse_size, '"10MB"')
        for key in ("database", "user_agent", "webhook_url"):
            if key in raw:
                values[key] = self.string(raw, key, f"settings.{key}")
        if values.get("webhook_url"):
            self.refuse_controls(values["webhook_url"], "settings.webhook_url")
            if http_url_problem(values["webhook_url"]):
                raise self.fail("settings.webhook_url", "must be an http(s) URL", 'write webhook_url = "https://…"')
        if "notify_urls" in raw:
            urls = raw["notify_urls"]
            if isinstance(urls, str):
                urls = [urls]
            if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
                raise self.fail("settings.notify_urls", "must be a list of Apprise URLs",
                                'write notify_urls = ["ntfy://ntfy.example.org/kosovo", "json://hooks.example.org/cw"]')
            for i, url in enumerate(urls):
                self.refuse_controls(url, "settings.notify_urls", i + 1)
                if not re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://\S", url.strip()):
                    raise self.fail("settings.notify_urls", f"item {i + 1} is not an Apprise URL (scheme://…)",
                                    'write e.g. "ntfy://ntfy.example.org/kosovo"; see the Apprise wiki for services')
            values["notify_urls"] = tuple(u.strip() for u in urls if u.strip())
        for key in ("max_connections", "per_host_connections", "surge_feeds", "surge_min_mentions"):
            if key in raw:
                value = raw[key]
                if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_COUNT:
                    raise self.fail(f"settings.{key}", f"must be a whole number from 1 to {MAX_COUNT:,}",
                                    f"write {key} = 4")
                values[key] = value
        if "surge_factor" in raw:
            value = raw["surge_factor"]
            if (not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value)
                    or not 1 < value <= 1000):
                raise self.fail("settings.surge_factor", "must be a number above 1 (at most 1000)",
                                "write surge_factor = 4.0")
            values["surge_factor"] = float(value)
        if "bell" in raw:
            if not isinstance(raw["bell"], bool):
                raise self.fail("settings.bell", "must be true or false", "write bell = true")
            values["bell"] = raw["bell"]
        if "notify_command" in raw:
            cmd = raw["notify_command"]
            if not isinstance(cmd, list) or not cmd or not all(isinstance(c, str) for c in cmd):
                raise self.fail(
                    "settings.notify_command",
                    "must be a non-empty list of strings (an argv, never run through a shell)",
                    'write notify_command = ["notify-send", "crisiswatch", "{title}"]',
                )
            values["notify_command"] = tuple(cmd)
        if "notify_min_severity" in raw:
            values["notify_min_severity"] = self.severity(raw, "notify_min_severity", "settings.notify_min_severity")
        if "timezone" in raw:
            values["timezone"] = self.timezone(raw["timezone"])
        return Settings(**values)

    def timezone(self, value: Any) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        fix = 'write timezone = "Europe/Belgrade" (an IANA time zone name) or "UTC"'
        if not isinstance(value, str) or not value.strip():
            raise self.fail("settings.timezone", "must be a time zone name", fix)
        try:
            ZoneInfo(value.strip())
        except (ZoneInfoNotFoundError, ValueError):
            raise self.fail("settings.timezone", f"{value!r} is not a known time zone", fix) from None
        return value.strip()

    def severity(self, table: dict[str, Any], key: str, path: str, allowed: tuple[str, ...] = SEVERITIES) -> str:
        value = table[key]
        if not isinstance(value, str) or value.strip().lower() not in allowed:
            raise self.fail(path, f"{value!r} is not a severity", f"use one of: {' | '.join(allowed)}")
        return value.strip().lower()

    def feeds(self, raw: Any) -> tuple[Feed, ...]:
        if not isinstance(raw, list):
            raise self.fail("feeds", "must be an array of tables", "write each feed under its own [[feeds]] header")
        feeds: list[Feed] = []
        names: dict[str, int] = {}
        allowed = ("name", "url", "interval", "tags", "enabled")
        for i, table in enumerate(raw):
            p = f"feeds[{i}]"
            if not isinstance(table, dict):
                raise self.fail(p, "must be a table", "write each feed under its own [[feeds]] header")
            self.check_keys(table, allowed, f"{p}.")
            url = (self.string(table, "url", f"{p}.url", required=True) or "").strip()
            self.refuse_controls(url, f"{p}.url")
            problem = http_url_problem(url)
            if problem:
                raise self.fail(f"{p}.url", problem, 'write url = "https://example.org/feed.xml"')
            # The default name is the host alone: never the userinfo of https://user:pass@host/.
            name = (self.string(table, "name", f"{p}.name") or "").strip() or (urlsplit(url).hostname or url)
            key = name.casefold()
            if key in names:
                raise self.fail(
                    f"{p}.name",
                    f"duplicate feed name {name!r} (also feeds[{names[key]}])",
                    "give every feed a different name",
                )
            names[key] = i
            interval = None
            if "interval" in table:
                interval = self.convert(table, "interval", f"{p}.interval", parse_duration, '"10m"')
            enabled = table.get("enabled", True)
            if not isinstance(enabled, bool):
                raise self.fail(f"{p}.enabled", "must be true or false", "write enabled = false")
            feeds.append(Feed(name, url, interval, self.strings(table, "tags", f"{p}.tags"), enabled))
        return tuple(feeds)

    def keywords(self, raw: Any) -> tuple[Keyword, ...]:
        if not isinstance(raw, list):
            raise self.fail("keywords", "must be an array of tables", "write each keyword under its own [[keywords]] header")
        out: list[Keyword] = []
        terms: dict[str, int] = {}
        allowed = ("term", "aliases", "severity", "match", "alert", "kind")
        for i, table in enumerate(raw):
            p = f"keywords[{i}]"
            if not isinstance(table, dict):
                raise self.fail(p, "must be a table", "write each keyword under its own [[keywords]] header")
            self.check_keys(table, allowed, f"{p}.")
            term = (self.string(table, "term", f"{p}.term", required=True) or "").strip()
            if not term:
                raise self.fail(f"{p}.term", "the term is empty", 'write term = "Vučić"')
            if term.casefold() in terms:
                raise self.fail(
                    f"{p}.term", f"duplicate keyword {term!r} (also keywords[{terms[term.casefold()]}])",
                    "merge the two entries and list other spellings under aliases",
                )
            terms[term.casefold()] = i
            severity = self.severity(table, "severity", f"{p}.severity") if "severity" in table else "medium"
            match = "word"
            if "match" in table:
                match = self.severity(table, "match", f"{p}.match", MATCH_MODES)
            alert = table.get("alert", True)
            if not isinstance(alert, bool):
                raise self.fail(f"{p}.alert", "must be true or false", "write alert = false for a context-only word")
            kind = None
            if "kind" in table:
                kind = table["kind"]
                if not isinstance(kind, str) or kind.strip().lower() not in KEYWORD_KINDS:
                    raise self.fail(f"{p}.kind", f"{kind!r} is not a kind of name",
                                    f"use one of: {' | '.join(KEYWORD_KINDS)}")
                kind = kind.strip().lower()
            out.append(Keyword(term, self.strings(table, "aliases", f"{p}.aliases"), severity, match, alert, kind))
        return tuple(out)

    def rules(self, raw: Any, keywords: tuple[Keyword, ...]) -> tuple[Rule, ...]:
        if not isinstance(raw, list):
            raise self.fail("rules", "must be an array of tables", "write each rule under its own [[rules]] header")
        known = {k.term.casefold(): k.term for k in keywords}
        out: list[Rule] = []
        allowed = ("name", "all", "any", "none", "severity")
        for i, table in enumerate(raw):
            p = f"rules[{i}]"
            if not isinstance(table, dict):
                raise self.fail(p, "must be a table", "write each rule under its own [[rules]] header")
            self.check_keys(table, allowed, f"{p}.")
            name = (self.string(table, "name", f"{p}.name", required=True) or "").strip()
            if not name:
                raise self.fail(f"{p}.name", "the name is empty", 'write name = "KFOR at a roadblock"')
            lists: dict[str, tuple[str, ...]] = {}
            for key in ("all", "any", "none"):
                terms = []
                for term in self.strings(table, key, f"{p}.{key}"):
                    if term.casefold() not in known:
                        close = difflib.get_close_matches(term, list(known.values()), n=1)
                        hint = f"did you mean {close[0]!r}?" if close else "add it as a [[keywords]] entry first"
                        raise self.fail(f"{p}.{key}", f"unknown keyword {term!r}", hint)
                    terms.append(known[term.casefold()])
                lists[key] = tuple(terms)
            if not lists["all"] and not lists["any"]:
                raise self.fail(p, f"rule {name!r} has no condition", 'give it all = ["…"] or any = ["…"]')
            if "severity" not in table:
                raise self.fail(p, f"rule {name!r} has no severity", f"add severity = one of {' | '.join(RULE_SEVERITIES)}")
            severity = self.severity(table, "severity", f"{p}.severity", RULE_SEVERITIES)
            out.append(Rule(name, lists["all"], lists["any"], lists["none"], severity))
        return tuple(out)


def parse_config(source: str, path: Path | None = None) -> Config:
    reader = _Reader(source, path)
    try:
        data = tomllib.loads(source)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"{reader.label}: not valid TOML: {exc}\n"
            "  fix: check quotes, commas and brackets on that line (strings need \"double quotes\")"
        ) from None
    reader.check_keys(data, ("settings", "feeds", "keywords", "rules"), "")
    settings = reader.settings(data.get("settings", {}))
    feeds = reader.feeds(data.get("feeds", []))
    keywords = reader.keywords(data.get("keywords", []))
    rules = reader.rules(data.get("rules", []), keywords)
    return Config(path, settings, feeds, keywords, rules)


def located_error(path: Path | None, keypath: str, problem: str, fix: str) -> ConfigError:
    """A ConfigError at ``keypath``'s line, for a value that loaded but proved unusable later.

    ``check`` finds some problems only by looking at the machine (a database path
    under a file); the message still names the file, line and key, like the loader's.
    """
    try:
        source = path.read_text(encoding="utf-8-sig") if path is not None else ""
    except (OSError, UnicodeDecodeError):
        source = ""
    return _Reader(source, path).fail(keypath, problem, fix)


def load_config(path: Path) -> Config:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: no such config file\n  fix: pass --config PATH, or create it (the repository's feeds.toml is a template)"
        ) from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}\n  fix: check the path and its permissions") from None
    try:
        source = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(f"{path}:{line}: not UTF-8 text\n  fix: save the file as UTF-8") from None
    return parse_config(source, path.resolve())
