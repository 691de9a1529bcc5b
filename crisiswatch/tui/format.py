"""Turning stored rows into ``rich.text.Text``: ages, labels, keyword highlights.

Feed text is hostile, so nothing here builds markup strings: every value goes
into ``Text(...)`` verbatim and styles are applied by span offsets.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, tzinfo
from functools import lru_cache
from typing import Any

from rich.style import Style
from rich.text import Text

from ..config import Config
from ..models import from_iso
from ..termsafe import one_line

SEVERITY_LABELS: dict[str, str] = {"critical": "CRIT", "high": "HIGH", "medium": "MED", "low": "LOW"}
"""Severity is always spelled out, so it reads without colour (NO_COLOR, monochrome terminals)."""
STATE_LABELS: dict[str, str] = {"new": "", "pinned": "PIN", "dismissed": "dis"}
"""A seen, untouched alert needs no state word; unseen is the ● in the first column."""
UNSEEN_MARK = "●"
"""Marks an alert nobody has looked at yet (opened, pinned, dismissed or moved onto)."""


@lru_cache(maxsize=8192)
def parse_stamp(stamp: str | None) -> datetime | None:
    """Stored ``YYYY-MM-DDTHH:MM:SSZ`` → aware datetime; cached, as every visible row asks each repaint."""
    return from_iso(stamp)


def age(stamp: str | None, now: datetime) -> str:
    """``45s``, ``3m``, ``2h``, ``4d`` — how long ago an ISO timestamp was."""
    when = parse_stamp(stamp)
    if when is None:
        return "—"
    seconds = max(0, int((now - when).total_seconds()))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86400:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"


def until(stamp: str | None, now: datetime) -> str:
    """``in 4m``, ``in 2h``, ``due`` — how long until an ISO timestamp."""
    when = parse_stamp(stamp)
    if when is None:
        return "—"
    seconds = int((when - now).total_seconds())
    if seconds <= 0:
        return "due"
    if seconds < 60:
        return f"in {seconds}s"
    if seconds < 3600:
        return f"in {seconds // 60}m"
    if seconds < 86400:
        return f"in {seconds // 3600}h"
    return f"in {seconds // 86400}d"


def local_time(stamp: str | None, tz: tzinfo | None, fmt: str = "%H:%M:%S") -> str:
    when = parse_stamp(stamp)
    if when is None:
        return "—"
    return when.astimezone(tz).strftime(fmt)


def first_feed(names: Sequence[str], count: int = 1) -> str:
    """``["RTS", "N1", "KoSSev"]`` → ``"RTS +2"``: the column shows the first outlet and how many more."""
    if not names:
        return ""
    more = max(len(names), count) - 1
    first = one_line(names[0])  # a feed name from the config: one inert line
    return f"{first} +{more}" if more else first


class Highlighter:
    """Keyword hits in titles and summaries, from the one Matcher, cached by text.

    ``match.py`` is imported lazily so the dashboard still starts (without
    highlights) should the matcher fail to build for a config.
    """

    def __init__(self, config: Config, cache_size: int = 4096) -> None:
        self._find: Callable[[str], Iterable[Any]] | None = None
        self._matcher: Any = None
        self._broken = False
        self._config = config
        self._cache: OrderedDict[str, tuple[tuple[int, int], ...]] = OrderedDict()
        self._size = cache_size

    def _finder(self) -> Callable[[str], Iterable[Any]] | None:
        if self._find is None and not self._broken:
            try:
                from ..match import Matcher

                self._matcher = Matcher.from_config(self._config)
                self._find = self._matcher.find
            except Exception:  # no highlights is better than no dashboard
                self._broken = True
        return self._find

    def matcher(self) -> Any:
        """The one Matcher (for reading search queries), or None if it could not be built."""
        self._finder()
        return self._matcher

    def spans(self, text: str) -> tuple[tuple[int, int], ...]:
        cached = self._cache.get(text)
        if cached is not None:
            self._cache.move_to_end(text)
            return cached
        find = self._finder()
        spans: tuple[tuple[int, int], ...] = ()
        if find is not None and text:
            try:
                spans = tuple((h.start, h.end) for h in find(text))
            except Exception:
                spans = ()
        self._cache[text] = spans
        if len(self._cache) > self._size:
            self._cache.popitem(last=False)
        return spans

    def text(self, value: str | None, style: Style | str = "") -> Text:
        """``value`` as inert Text with every keyword hit stylized."""
        out = Text(value or "", no_wrap=True, end="")
        if value and style:
            for start, end in self.spans(value):
                out.stylize(style, start, end)
        return out
