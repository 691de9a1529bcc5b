"""Durations and sizes, parsed and formatted in one place.

The config, the CLI (``--interval``, ``--since``), the fetcher's messages, the
event log and ``feeds list`` all read and write the same spellings: ``90s``,
``5m``, ``1h``, ``2d`` for durations; ``500KB``, ``10MB``, ``1MiB`` for sizes.
Values that cannot be meant (zero, negative, infinite, NaN, beyond a year or a
terabyte) are refused here, so no caller has to guard a timer or a ``timedelta``
against them. Only the standard library is imported.
"""

from __future__ import annotations

import math
import re

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$", re.IGNORECASE)
_DURATION_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(b|kb|kib|mb|mib|gb|gib)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {"b": 1, "kb": 1000, "kib": 1024, "mb": 1000**2, "mib": 1024**2, "gb": 1000**3, "gib": 1024**3}

MAX_DURATION = 366 * 86400.0
"""No interval, timeout or window of crisiswatch is meant to be longer than a year."""
MAX_LOOKBACK = 100 * 366 * 86400.0
"""``--since 500d`` looks further back than any interval is long; a century is still a date."""
MAX_SIZE = 1000**4
"""No size cap is meant to be a terabyte or more."""


def parse_duration(value: object, *, maximum: float = MAX_DURATION) -> float:
    """``90s``, ``5m``, ``1h``, ``2d`` or a bare number of seconds → seconds (more than 0, at most ``maximum``)."""
    if isinstance(value, bool):
        raise ValueError("expected a duration")
    try:
        if isinstance(value, int | float):
            seconds = float(value)  # a TOML integer has no size limit: 10**400 overflows here
        else:
            m = _DURATION.match(str(value))
            if not m:
                raise ValueError(f"{value!r} is not a duration")
            seconds = float(m.group(1)) * _DURATION_UNITS[(m.group(2) or "s").lower()]
    except OverflowError:
        seconds = math.inf
    if math.isnan(seconds):
        raise ValueError("must be a number of seconds, not nan")
    if seconds <= 0:
        raise ValueError("must be more than zero")
    if seconds > maximum:
        raise ValueError("must be at most a year (366d)" if maximum == MAX_DURATION
                         else f"must be at most {format_duration(maximum)}")
    return seconds


def parse_size(value: object) -> int:
    """``500KB``, ``10MB`` or a bare number of bytes → bytes (more than 0, less than a terabyte)."""
    if isinstance(value, bool):
        raise ValueError("expected a size")
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"must be a number of bytes, not {value}")
        size = int(value)
    else:
        m = _SIZE.match(str(value))
        if not m:
            raise ValueError(f"{value!r} is not a size")
        number = float(m.group(1)) * _SIZE_UNITS[(m.group(2) or "b").lower()]
        if not math.isfinite(number):  # "1" followed by 400 zeros, then "GB"
            raise ValueError("must be less than a terabyte (1000GB)")
        size = int(number)
    if size <= 0:
        raise ValueError("must be more than zero")
    if size >= MAX_SIZE:
        raise ValueError("must be less than a terabyte (1000GB)")
    return size


def format_duration(seconds: float) -> str:
    """Seconds → the spelling the config uses: ``20s``, ``0.5s``, ``120s``, ``5m``, ``1h``, ``2d``.

    Short waits read best in seconds (a 20 s timeout, a 120 s Retry-After);
    from five minutes on, the largest unit that divides the value exactly
    (``3600`` → ``1h``, ``5400`` → ``90m``), else seconds.
    """
    if seconds >= 300:
        for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
            if seconds % size == 0:
                return f"{int(seconds // size)}{unit}"
    return f"{seconds:.0f}s" if seconds == int(seconds) else f"{seconds:g}s"


def format_size(n: int) -> str:
    """10_000_000 → "10 MB" (decimal units, as the config file writes them)."""
    for unit, factor in (("GB", 1000**3), ("MB", 1000**2), ("KB", 1000)):
        if n >= factor:
            value = n / factor
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{n} bytes"


__all__ = ["MAX_DURATION", "MAX_LOOKBACK", "MAX_SIZE", "format_duration", "format_size", "parse_duration", "parse_size"]
