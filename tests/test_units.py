"""Durations and sizes: one parser and one formatter each, and absurd values refused with a located message."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from crisiswatch.config import load_config
from crisiswatch.errors import ConfigError
from crisiswatch.units import format_duration, format_size, parse_duration, parse_size


@pytest.mark.parametrize(("seconds", "text"), [
    (20, "20s"), (0.5, "0.5s"), (60, "60s"), (120, "120s"), (299, "299s"),
    (300, "5m"), (600, "10m"), (3600, "1h"), (5400, "90m"), (86400, "1d"), (172800, "2d"), (301, "301s"),
])
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@pytest.mark.parametrize("text", ["20s", "0.5s", "120s", "5m", "90m", "1h", "2d"])
def test_a_formatted_duration_reads_back_as_itself(text: str) -> None:
    assert format_duration(parse_duration(text)) == text


@pytest.mark.parametrize(("n", "text"), [(10_000_000, "10 MB"), (2_500_000, "2.5 MB"), (500_000, "500 KB"),
                                          (12, "12 bytes"), (3 * 1000**3, "3 GB")])
def test_format_size(n: int, text: str) -> None:
    assert format_size(n) == text


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan, 0, -5, "0s", 10**12, "400d", True])
def test_absurd_durations_are_refused(value: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(value)


@pytest.mark.parametrize("value", [math.inf, math.nan, 0, -1, 10**13, "2000GB", True])
def test_absurd_sizes_are_refused(value: object) -> None:
    with pytest.raises(ValueError):
        parse_size(value)


@pytest.mark.parametrize(("line", "key"), [
    ("poll_interval = inf", "settings.poll_interval"),
    ("timeout = nan", "settings.timeout"),
    ("group_window = 1e300", "settings.group_window"),
    ("max_feed_bytes = inf", "settings.max_feed_bytes"),
    ("max_feed_bytes = 1e300", "settings.max_feed_bytes"),
])
def test_absurd_values_in_the_config_name_the_key(tmp_path: Path, line: str, key: str) -> None:
    path = tmp_path / "feeds.toml"
    path.write_text(f"[settings]\n{line}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    assert key in str(exc.value) and str(path) in str(exc.value)


def test_since_values_share_one_parser_and_may_reach_back_past_a_year() -> None:
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo

    from crisiswatch.export import parse_since
    from crisiswatch.models import parse_when
    from crisiswatch.report.period import PeriodError
    from crisiswatch.report.period import parse_when as report_when

    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    assert parse_when("500d", now=now) == now - timedelta(days=500)  # --since is no config interval
    assert parse_since("2026-11-20T08:00+01:00", now=now) == "2026-11-20T07:00:00Z"
    assert report_when("2026-11-30", now=now, zone=ZoneInfo("Europe/Belgrade")) == datetime(
        2026, 11, 29, 23, 0, tzinfo=UTC)  # a date without offset is midnight on the report's clock
    with pytest.raises(PeriodError, match="further back than any date"):
        report_when("99999999d", now=now, zone=None)
    with pytest.raises(ValueError, match="--since '99999999d': that is further back than any date"):
        parse_since("99999999d", now=now)  # said as such, not "use a duration like 24h or 7d"
    with pytest.raises(ValueError, match="use a date like"):
        parse_since("last tuesday", now=now)
