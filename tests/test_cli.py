"""The command table and the global options, through ``cli.main`` on real files."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from feedgen import rss
from pytest_httpserver import HTTPServer

from crisiswatch import cli
from crisiswatch.cli import COMMANDS, build_parser, main
from crisiswatch.store import Store

CONFIG = """
[[feeds]]
name = "Loopback"
url = "http://127.0.0.1:9/rss"

[[keywords]]
term = "KFOR"
"""


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    """A config and a database holding one event that names where it came from."""
    cfg = tmp_path / "feeds.toml"
    cfg.write_text(CONFIG, encoding="utf-8")
    db = tmp_path / "chosen.db"
    with Store.open(db) as store:
        store.add_event("export", detail="written to chosen.db")
    return cfg, db


def _exported(capsys: pytest.CaptureFixture[str]) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(capsys.readouterr().out)))


@pytest.mark.parametrize("argv", [
    ["--config", "{cfg}", "--db", "{db}", "export", "events"],
    ["export", "events", "--config", "{cfg}", "--db", "{db}"],
    ["--config", "{cfg}", "export", "events", "--db", "{db}"],
    ["export", "--db", "{db}", "events", "--config", "{cfg}"],
])
def test_global_options_are_accepted_before_or_after_the_command(
        files: tuple[Path, Path], argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    cfg, db = files
    assert main([a.format(cfg=cfg, db=db) for a in argv]) == 0
    rows = _exported(capsys)
    assert [r["detail"] for r in rows] == ["written to chosen.db"]


def test_an_option_after_the_command_does_not_erase_one_before_it(files: tuple[Path, Path]) -> None:
    cfg, db = files
    args = build_parser().parse_args(["--db", str(db), "export", "events", "--config", str(cfg)])
    assert (args.db, args.config) == (str(db), str(cfg))
    args = build_parser().parse_args(["export", "events"])
    assert (args.db, args.config) == (None, None)


def test_after_the_command_wins_when_given_twice(files: tuple[Path, Path], tmp_path: Path) -> None:
    cfg, db = files
    args = build_parser().parse_args(["--db", str(tmp_path / "other.db"), "export", "events", "--db", str(db)])
    assert args.db == str(db)


def test_nested_subcommands_take_the_global_options(files: tuple[Path, Path],
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    cfg, _ = files
    assert main(["feeds", "list", "--config", str(cfg)]) == 0
    assert "Loopback" in capsys.readouterr().out
    assert main(["keywords", "list", "--config", str(cfg)]) == 0
    assert "KFOR" in capsys.readouterr().out


def test_a_missing_database_after_the_command_is_a_clear_error(tmp_path: Path, files: tuple[Path, Path],
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    cfg, _ = files
    missing = tmp_path / "nowhere.db"
    assert main(["export", "events", "--config", str(cfg), "--db", str(missing)]) == 1
    err = capsys.readouterr().err
    assert str(missing) in err and "Traceback" not in err


def test_the_command_table_is_what_help_lists() -> None:
    parser = build_parser()
    listed = [a for a in parser._actions if a.dest == "command"][0].choices
    names = [m.__name__.rsplit(".", 1)[1] for m in COMMANDS]
    assert list(listed) == names
    help_text = parser.format_help()
    for name in names:
        assert name in help_text


def test_every_subcommand_documents_the_global_options() -> None:
    parser = build_parser()
    for sub in cli._subparsers(parser):
        help_text = sub.format_help()
        assert "--config PATH" in help_text and "--db PATH" in help_text, sub.prog


HEAVY = ("textual", "rich", "apprise", "charset_normalizer", "pygments", "click", "sqlite_utils", "feedparser")
"""What the headless commands never need in their own process: the TUI stack, notification
plugins, sqlite-utils (and click through it), and the parser (the parse workers import it)."""

_RUN_COMMANDS = """
import sys
from crisiswatch.cli import main

for argv in (["poll", "--once"], ["check"], ["export", "events"], ["match"]):
    code = main([*sys.argv[1:], *argv])
    assert code == 0, (argv, code)
print(" ".join(sorted({name.split(".")[0] for name in sys.modules})))
"""


def test_headless_commands_start_without_heavy_modules(httpserver: HTTPServer, tmp_path: Path) -> None:
    """``poll --once`` (from cron), ``check``, ``export`` and ``match`` import neither the TUI nor the parser.

    One process runs them in turn: imports only accumulate, so none of them imported what the
    process still lacks at the end.
    """
    httpserver.expect_request("/rss").respond_with_data(rss("Loopback", [("k1", "KFOR patrol")]),
                                                        content_type="application/rss+xml")
    cfg = tmp_path / "feeds.toml"
    cfg.write_text(f'[[feeds]]\nname = "Loopback"\nurl = "{httpserver.url_for("/rss")}"\n'
                   '[[keywords]]\nterm = "KFOR"\n', encoding="utf-8")
    proc = subprocess.run([sys.executable, "-c", _RUN_COMMANDS, "--config", str(cfg), "--db", str(tmp_path / "cw.db")],
                          input="KFOR at the bridge\n", capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.strip().splitlines()
    assert '"KFOR"' in out[-2] and "1 new items" in proc.stderr  # match answered; the poll stored the item
    loaded = set(out[-1].split())
    assert "crisiswatch" in loaded and "httpx" in loaded
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))
