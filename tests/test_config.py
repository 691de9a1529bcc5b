"""The config loader: good files load, bad files give one located, actionable message."""

from __future__ import annotations

from pathlib import Path

import pytest

from crisiswatch.cli import main
from crisiswatch.config import ConfigError, load_config, parse_config, parse_duration, parse_size

GOOD = """
[settings]
poll_interval = "5m"
timeout = "20s"
max_feed_bytes = "10MB"
database = "cw.db"

[[feeds]]
name = "Balkan Insight"
url = "https://balkaninsight.com/feed/"
interval = "10m"
tags = ["regional"]

[[feeds]]
url = "https://example.org/rss"

[[keywords]]
term = "Vučić"
aliases = ["Vuçiç"]
severity = "high"

[[keywords]]
term = "football"
alert = false

[[rules]]
name = "only football"
all = ["Vučić", "football"]
severity = "mute"
"""


def test_good_config_loads(tmp_path: Path) -> None:
    path = tmp_path / "feeds.toml"
    path.write_text(GOOD, encoding="utf-8")
    cfg = load_config(path)
    assert cfg.settings.poll_interval == 300
    assert cfg.settings.timeout == 20
    assert cfg.settings.max_feed_bytes == 10_000_000
    assert [f.name for f in cfg.feeds] == ["Balkan Insight", "example.org"]
    assert cfg.interval_for(cfg.feeds[0]) == 600
    assert cfg.interval_for(cfg.feeds[1]) == 300
    assert cfg.keywords[0].aliases == ("Vuçiç",)
    assert cfg.keywords[1].alert is False
    assert cfg.rules[0].severity == "mute"
    assert cfg.database_path() == tmp_path.resolve() / "cw.db"


@pytest.mark.parametrize(("value", "seconds"), [("90s", 90), ("5m", 300), ("1h", 3600), (30, 30), ("2d", 172800)])
def test_durations(value: object, seconds: float) -> None:
    assert parse_duration(value) == seconds


@pytest.mark.parametrize(("value", "size"), [("500KB", 500_000), ("10MB", 10_000_000), ("1MiB", 1 << 20), (42, 42)])
def test_sizes(value: object, size: int) -> None:
    assert parse_size(value) == size


BAD = [
    ("[settings\npoll_interval = 1", ["line 1", "not valid TOML"]),
    ('[settings]\npoll_interval = "soon"\n', [":2:", "settings.poll_interval", '"5m"']),
    ('[settings]\nmax_feed_bytes = "lots"\n', [":2:", "settings.max_feed_bytes", '"10MB"']),
    ('[settings]\npoll_intervall = "5m"\n', [":2:", "unknown key", "did you mean 'poll_interval'"]),
    ('[[feeds]]\nname = "a"\nurl = "https://a.example/"\n[[feeds]]\nname = "b"\nurl = "https://b.example/"\n'
     '[[feeds]]\nname = "c"\nurl = "https://c.example/"\n[[feeds]]\nname = "d"\nurl = "file:///etc/passwd"\n',
     [":12:", "feeds[3].url", "not an http(s) URL", "https://"]),
    ('[[feeds]]\nname = "a"\nurl = "https://a.example/"\n[[feeds]]\nname = "A"\nurl = "https://b.example/"\n',
     ["feeds[1].name", "duplicate feed name", "different name"]),
    ('[[feeds]]\nname = "a"\nurl = 42\n', ["feeds[0].url", "must be a string", "quotes"]),
    ('[[feeds]]\nname = "a"\n', ["feeds[0]", "missing 'url'"]),
    ('[[keywords]]\nterm = "  "\n', ["keywords[0].term", "empty"]),
    ('[[keywords]]\nterm = "KFOR"\nseverity = "urgent"\n', [":3:", "keywords[0].severity", "low | medium | high | critical"]),
    ('[[keywords]]\nterm = "KFOR"\naliases = "K-FOR"\nmatch = "fuzzy"\n', ["keywords[0].match", "word | exact | prefix"]),
    ('[[keywords]]\nterm = "KFOR"\n[[rules]]\nname = "x"\nall = ["KFR"]\nseverity = "high"\n',
     ["rules[0].all", "unknown keyword 'KFR'", "did you mean 'KFOR'"]),
    ('[[keywords]]\nterm = "KFOR"\n[[rules]]\nname = "x"\nseverity = "high"\n', ["rules[0]", "no condition"]),
    ('[feeds]\nurl = "https://a"\n', ["feeds", "array of tables", "[[feeds]]"]),
    ('[surprise]\nx = 1\n', ["unknown key 'surprise'"]),
]


@pytest.mark.parametrize(("text", "expected"), BAD)
def test_bad_config_messages(tmp_path: Path, text: str, expected: list[str]) -> None:
    path = tmp_path / "feeds.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert str(path.resolve()) in message or str(path) in message
    assert "fix:" in message
    for fragment in expected:
        assert fragment in message, (fragment, message)


def test_missing_and_non_utf8_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "nope.toml")
    path = tmp_path / "latin.toml"
    path.write_bytes(b'[[keywords]]\nterm = "Vu\xe8i\xe6"\n')
    with pytest.raises(ConfigError, match=r":2: not UTF-8"):
        load_config(path)


def test_cli_reports_config_errors_without_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "feeds.toml"
    path.write_text('[[feeds]]\nname = "a"\nurl = "gopher://x"\n', encoding="utf-8")
    code = main(["--config", str(path), "check"])
    err = capsys.readouterr().err
    assert code == 2
    assert "feeds[0].url" in err and "Traceback" not in err


def test_cli_check_counts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "feeds.toml"
    path.write_text(GOOD, encoding="utf-8")
    assert main(["--config", str(path), "check"]) == 0
    out = capsys.readouterr().out
    assert str(path.resolve()) in out
    assert "2 feeds" in out and "2 keywords" in out and "1 rules" in out


def test_shipped_feeds_toml_is_valid() -> None:
    shipped = Path(__file__).resolve().parents[1] / "feeds.toml"
    cfg = parse_config(shipped.read_text(encoding="utf-8"), shipped)
    assert len(cfg.feeds) >= 15
    terms = {k.term for k in cfg.keywords}
    assert {"KFOR", "Ibar", "Vučić", "roadblock"} <= terms



def test_first_run_installs_the_shipped_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert main(["check"]) == 0
    captured = capsys.readouterr()
    installed = tmp_path / "cfg" / "crisiswatch" / "feeds.toml"
    assert f"created {installed}" in captured.err
    assert f"database: {tmp_path / 'data' / 'crisiswatch' / 'crisiswatch.db'}" in captured.out
    assert load_config(installed).feeds


# -- impossible values: refused at load, located, exit 2, never a traceback -----------------------------------

IMPOSSIBLE = [
    ('[settings]\npoll_interval = "99999999999999999999d"\n', "settings.poll_interval", ":2:", "at most a year"),
    ("[settings]\npoll_interval = inf\n", "settings.poll_interval", ":2:", "at most a year"),
    ("[settings]\ntimeout = nan\n", "settings.timeout", ":2:", "not nan"),
    ("[settings]\ntimeout = -inf\n", "settings.timeout", ":2:", "more than zero"),
    ("[settings]\ntimeout = 1e400\n", "settings.timeout", ":2:", "at most 1h"),  # one fetch, not a year
    ('[settings]\ntimeout = "2h"\n', "settings.timeout", ":2:", "at most 1h"),
    ('[settings]\ngroup_window = "-5m"\n', "settings.group_window", ":2:", "is not a duration"),
    ("[settings]\nsurge_window = 1e400\n", "settings.surge_window", ":2:", "at most a year"),
    ("[settings]\nsurge_window = 99999999999999999999\n", "settings.surge_window", ":2:", "at most a year"),
    ("[settings]\nsurge_window = 1" + "0" * 400 + "\n", "settings.surge_window", ":2:", "at most a year"),
    ('[settings]\nmax_feed_bytes = "1' + "0" * 400 + 'GB"\n', "settings.max_feed_bytes", ":2:", "less than a terabyte"),
    ("[settings]\nmax_feed_bytes = inf\n", "settings.max_feed_bytes", ":2:", "not inf"),
    ("[settings]\nmax_feed_bytes = nan\n", "settings.max_feed_bytes", ":2:", "not nan"),
    ('[settings]\nmax_feed_bytes = "99999999999999999999GB"\n', "settings.max_feed_bytes", ":2:", "less than a terabyte"),
    ("[settings]\nsurge_factor = nan\n", "settings.surge_factor", ":2:", "above 1"),
    ("[settings]\nsurge_factor = inf\n", "settings.surge_factor", ":2:", "above 1"),
    ("[settings]\nmax_connections = 99999999999999999999\n", "settings.max_connections", ":2:", "from 1 to"),
    ('[[feeds]]\nname = "a"\nurl = "https://a.example/"\ninterval = "99999999999999999999d"\n',
     "feeds[0].interval", ":4:", "at most a year"),
    ('[[feeds]]\nname = "a"\nurl = "https://a.example/"\ninterval = nan\n', "feeds[0].interval", ":4:", "nan"),
    ('[[feeds]]\nname = "a"\nurl = "https://a.example/"\ninterval = -1\n', "feeds[0].interval", ":4:", "more than zero"),
    ('[[feeds]]\nname = "a"\nurl = "http://[::1"\n', "feeds[0].url", ":3:", "not a valid URL"),
    ('[[feeds]]\nname = "a"\nurl = "http://[example.org]/rss"\n', "feeds[0].url", ":3:", "not a valid URL"),
    ('[[feeds]]\nname = "a"\nurl = "https://a.example:99999/rss"\n', "feeds[0].url", ":3:", "not a valid URL"),
    ('[[feeds]]\nname = "a"\nurl = "https://a.example:port/rss"\n', "feeds[0].url", ":3:", "not a valid URL"),
    ('[[feeds]]\nname = "a"\nurl = "https:///rss"\n', "feeds[0].url", ":3:", "no host name"),
    ('[[feeds]]\nname = "a"\nurl = "https://a.example/r ss"\n', "feeds[0].url", ":3:", "space or a control"),
    ('[[feeds]]\nname = "a"\nurl = "https://a.example/\\u001b[31m"\n', "feeds[0].url", ":3:", "control or invisible"),
    ('[settings]\nwebhook_url = "http://[::1"\n', "settings.webhook_url", ":2:", "http(s) URL"),
]


@pytest.mark.parametrize(("text", "key", "line", "problem"), IMPOSSIBLE)
def test_impossible_values_are_located_config_errors(tmp_path: Path, text: str, key: str, line: str,
                                                     problem: str) -> None:
    path = tmp_path / "feeds.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert f"{path.resolve()}{line}" in message, message
    assert key in message and problem in message and "\n  fix: " in message, message


@pytest.mark.parametrize("argv", [["check"], ["check", "--probe"], ["poll", "--once"], ["poll"], ["run"],
                                  ["feeds", "list"], ["feeds", "add", "https://x.example/rss", "--no-discover"]])
@pytest.mark.parametrize("text", [case[0] for case in IMPOSSIBLE if case[1] in (
    "settings.poll_interval", "settings.timeout", "feeds[0].url")][::3])
def test_every_command_that_loads_the_config_refuses_them(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                          argv: list[str], text: str) -> None:
    path = tmp_path / "feeds.toml"
    path.write_text(text, encoding="utf-8")
    code = main(["--config", str(path), "--db", str(tmp_path / "cw.db"), *argv])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("crisiswatch: config error: ") and "fix:" in err and "Traceback" not in err
    assert not (tmp_path / "cw.db").exists()


def test_the_largest_accepted_values_still_poll(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A year and 999 GB are accepted and usable: poll --once schedules them without overflow."""
    path = tmp_path / "feeds.toml"
    path.write_text('[settings]\npoll_interval = "366d"\ntimeout = "1s"\nmax_feed_bytes = "999GB"\n'
                    'group_window = "366d"\nsurge_window = "366d"\n'
                    '[[feeds]]\nname = "nowhere"\nurl = "http://127.0.0.1:9/rss"\ninterval = "366d"\n',
                    encoding="utf-8")
    assert main(["--config", str(path), "--db", str(tmp_path / "cw.db"), "poll", "--once"]) == 0
    assert "1 errors" in capsys.readouterr().err


def test_ipv6_and_idn_urls_are_accepted() -> None:
    cfg = parse_config('[[feeds]]\nname = "v6"\nurl = "http://[::1]:8080/rss"\n'
                       '[[feeds]]\nname = "idn"\nurl = "https://zëri.info/rss/zerat"\n')
    assert [f.url for f in cfg.feeds] == ["http://[::1]:8080/rss", "https://zëri.info/rss/zerat"]
