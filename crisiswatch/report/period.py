"""The report's period and clock: ``--since``/``--until`` values, time zones, chart bins.

A report covers the half-open interval [since, until). A value is a duration back
from now (``24h``, ``7d``), a date (``2026-11-30``: its midnight) or a date and
time (``2026-11-30T08:00``); a date or time without an offset is read in the
report's time zone (``--tz`` or ``settings.timezone``, else UTC), because an
analyst in Belgrade who asks for "the 30th" means the 30th on their own clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from .. import models

DEFAULT_SPAN = timedelta(hours=24)
MAX_BINS = 48
"""At most this many bars per chart or sparkline: longer periods get wider bins."""
_BIN_HOURS = (1, 2, 3, 4, 6, 8, 12, 24)


class PeriodError(ValueError):
    """A --since/--until/--tz value the user must correct (exit 2)."""


def load_zone(name: str | None) -> tzinfo | None:
    """``Europe/Belgrade`` → a tzinfo; None or "UTC" → None (the report is UTC only)."""
    if name is None or not name.strip():
        return None
    name = name.strip()
    if name.upper() in ("UTC", "Z", "ETC/UTC"):
        return None
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise PeriodError(f"unknown time zone {name!r}: use an IANA name like Europe/Belgrade or UTC") from None


def parse_when(value: str, *, now: datetime, zone: tzinfo | None, option: str = "--since") -> datetime:
    """One ``--since``/``--until`` value → an aware UTC datetime."""
    try:
        return models.parse_when(value, now=now, naive=zone or UTC)
    except OverflowError:
        raise PeriodError(f"{option} {value!r}: that is further back than any date (at most a century, 36600d)") from None
    except ValueError:
        raise PeriodError(f"{option} {value!r}: use a duration back from now (24h, 7d), a date (2026-11-30) "
                          "or a date and time (2026-11-30T08:00)") from None


@dataclass(frozen=True, slots=True)
class Period:
    """[since, until) in UTC, the zone for local times, and the chart bins over it."""

    since: datetime
    until: datetime
    zone: tzinfo | None = None

    @classmethod
    def resolve(cls, since: str | None, until: str | None, *, now: datetime, zone: tzinfo | None) -> Period:
        end = parse_when(until, now=now, zone=zone, option="--until") if until else now
        start = parse_when(since, now=now, zone=zone) if since else end - DEFAULT_SPAN
        if start >= end:
            raise PeriodError(f"the period is empty: --since ({_utc(start)}) must be before --until ({_utc(end)})")
        return cls(start.replace(microsecond=0), end.replace(microsecond=0), zone)

    @property
    def hours(self) -> float:
        return (self.until - self.since).total_seconds() / 3600

    @property
    def zone_name(self) -> str | None:
        return str(self.zone) if self.zone is not None else None

    @property
    def bin_hours(self) -> int:
        """The narrowest bin from 1 h up (then whole days) that keeps a chart at most MAX_BINS wide."""
        span = self.hours
        for width in _BIN_HOURS:
            if span / width <= MAX_BINS:
                return width
        days = 1
        while span / (24 * days) > MAX_BINS:
            days += 1
        return 24 * days

    @property
    def bin_start(self) -> datetime:
        """The first bin starts on the UTC hour at or before ``since``."""
        return self.since.replace(minute=0, second=0, microsecond=0)

    @property
    def bins(self) -> int:
        seconds = (self.until - self.bin_start).total_seconds()
        width = self.bin_hours * 3600
        return max(1, int(-(-seconds // width)))

    def bin_of(self, when: datetime) -> int | None:
        """Index of the bin holding ``when``, None outside the chart."""
        index = int((when - self.bin_start).total_seconds() // (self.bin_hours * 3600))
        return index if 0 <= index < self.bins else None

    def bin_times(self) -> list[datetime]:
        return [self.bin_start + timedelta(hours=self.bin_hours * i) for i in range(self.bins)]


def _utc(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%MZ")


__all__ = ["DEFAULT_SPAN", "MAX_BINS", "Period", "PeriodError", "load_zone", "parse_when"]
