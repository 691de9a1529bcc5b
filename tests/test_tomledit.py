"""feeds.toml edits keep every byte outside the change, and never write a file that does not load."""

from __future__ import annotations

import os
import stat
import tomllib
from pathlib import Path

import pytest

from crisiswatch import tomledit
from crisiswatch.config import load_config, parse_config

COMMENTED = """\
# crisiswatch — feeds for the Serbia–Kosovo crisis desk
# Edit freely; `crisiswatch check` validates.

[settings]
poll_interval = "5m"        # default for feeds without their own interval
timeout = "20s"

# ─── Regional, English ───────────────────────────

# BIRN's regional service, strongest on the north
[[feeds]]
name = "Balkan Insight"
url = "https://balkaninsight.com/feed/"
tags = ["regional", "english"]   # inline comment stays

# RFE/RL Balkan Service
[[feeds]]
name   =   "RFE/RL Balkans"     # odd spacing is the user's business
url = 'https://www.rferl.org/api/zrqiteuuir'
interval = "10m"

# ─── Keywords ───────────────────────────────────

[[keywords]]
term = "KFOR"
severity = "high"

# The president; Cyrillic and Albanian spellings
[[keywords]]
term = "Vučić"
aliases = ["Вучић", "Vuçiç"]

[[keywords]]
term = "Jarinje"
aliases = [
    "Јариње",   # Cyrillic
    "Jarinjë",
]

[[rules]]
name = "KFOR at Jarinje"
all = ["KFOR", "Jarinje"]
severity = "critical"
"""


def test_add_feed_inserts_one_block_and_leaves_everything_else_byte_for_byte() -> None:
    new = tomledit.add_feed(COMMENTED, name="Kosovo Online", url="https://www.kosovo-online.com/rss",
                            interval="15m", tags=["serbian"])
    block = (
        "\n"
        "[[feeds]]\n"
        'name = "Kosovo Online"\n'
        'url = "https://www.kosovo-online.com/rss"\n'
        'interval = "15m"\n'
        'tags = ["serbian"]\n'
    )
    anchor = "interval = \"10m\"\n"
    at = COMMENTED.index(anchor) + len(anchor)
    assert new == COMMENTED[:at] + block + COMMENTED[at:]
    cfg = parse_config(new)
    assert [f.name for f in cfg.feeds] == ["Balkan Insight", "RFE/RL Balkans", "Kosovo Online"]
    assert cfg.feeds[2].interval == 900 and cfg.feeds[2].tags == ("serbian",)


def test_remove_feed_takes_its_own_comment_and_nothing_else() -> None:
    new = tomledit.remove_feed(COMMENTED, "balkan insight")
    removed = (
        "# BIRN's regional service, strongest on the north\n"
        "[[feeds]]\n"
        'name = "Balkan Insight"\n'
        'url = "https://balkaninsight.com/feed/"\n'
        'tags = ["regional", "english"]   # inline comment stays\n'
        "\n"
    )
    assert removed in COMMENTED
    assert new == COMMENTED.replace(removed, "", 1)
    assert [f.name for f in parse_config(new).feeds] == ["RFE/RL Balkans"]


def test_remove_last_feed_keeps_the_section_comment_of_the_next_table() -> None:
    new = tomledit.remove_feed(COMMENTED, "RFE/RL Balkans")
    removed = (
        "# RFE/RL Balkan Service\n"
        "[[feeds]]\n"
        'name   =   "RFE/RL Balkans"     # odd spacing is the user\'s business\n'
        "url = 'https://www.rferl.org/api/zrqiteuuir'\n"
        'interval = "10m"\n'
        "\n"
    )
    assert new == COMMENTED.replace(removed, "", 1)
    assert "# ─── Keywords ─" in new


def test_add_keyword_after_the_last_keyword_with_multiline_array() -> None:
    new = tomledit.add_keyword(COMMENTED, term="Zvečan", aliases=["Звечан", "Zveçan"], severity="medium")
    block = '\n[[keywords]]\nterm = "Zvečan"\naliases = ["Звечан", "Zveçan"]\nseverity = "medium"\n'
    anchor = '    "Jarinjë",\n]\n'
    at = COMMENTED.index(anchor) + len(anchor)
    assert new == COMMENTED[:at] + block + COMMENTED[at:]
    assert parse_config(new).keywords[-1].aliases == ("Звечан", "Zveçan")


def test_remove_keyword_in_the_middle() -> None:
    new = tomledit.remove_keyword(COMMENTED, "vučić")
    removed = (
        "# The president; Cyrillic and Albanian spellings\n"
        "[[keywords]]\n"
        'term = "Vučić"\n'
        'aliases = ["Вучић", "Vuçiç"]\n'
        "\n"
    )
    assert new == COMMENTED.replace(removed, "", 1)


def test_hostile_values_are_escaped_and_round_trip() -> None:
    name = 'Evil "name" \\ with\ttab\nnewline # not a comment ]]'
    new = tomledit.add_feed(COMMENTED, name=name, url="https://example.org/a?b=1&c='2'")
    cfg = parse_config(new)
    assert cfg.feeds[-1].name.strip() == name.strip()
    assert cfg.feeds[-1].url == "https://example.org/a?b=1&c='2'"


def test_header_inside_multiline_string_is_not_a_table() -> None:
    text = (
        '[settings]\nuser_agent = """\n[[feeds]]\nname = "fake"\n"""\n\n'
        '[[feeds]]\nname = "real"\nurl = "https://a.example/"\n'
    )
    new = tomledit.remove_feed(text, "real")
    assert tomllib.loads(new)["settings"]["user_agent"] == '[[feeds]]\nname = "fake"\n'
    assert "feeds" not in tomllib.loads(new)
    added = tomledit.add_feed(text, name="b", url="https://b.example/")
    assert [f["name"] for f in tomllib.loads(added)["feeds"]] == ["real", "b"]


def test_first_feed_in_a_file_without_feeds_goes_at_the_end() -> None:
    text = "[settings]\nbell = false   # quiet\n"
    new = tomledit.add_feed(text, name="A", url="https://a.example/")
    assert new == text + '\n[[feeds]]\nname = "A"\nurl = "https://a.example/"\n'
    text = "[settings]\nbell = false"  # no final newline
    assert tomledit.add_feed(text, name="A", url="https://a.example/").startswith(text + "\n\n[[feeds]]\n")


def test_inline_feeds_array_is_refused_rather_than_broken() -> None:
    text = 'feeds = [{name = "a", url = "https://a.example/"}]\n'
    with pytest.raises(tomledit.EditError):
        tomledit.add_feed(text, name="b", url="https://b.example/")


def test_unknown_name_suggests_the_close_one() -> None:
    with pytest.raises(tomledit.EditError, match="did you mean 'Balkan Insight'"):
        tomledit.remove_feed(COMMENTED, "Balkan Insigt")


def test_edit_file_refuses_a_result_that_would_not_load(tmp_path: Path) -> None:
    path = tmp_path / "feeds.toml"
    path.write_text(COMMENTED, encoding="utf-8")
    with pytest.raises(tomledit.EditError, match="unknown keyword 'Jarinje'"):
        tomledit.edit_file(path, lambda t: tomledit.remove_keyword(t, "Jarinje"))  # still used by a rule
    with pytest.raises(tomledit.EditError, match="not an http"):
        tomledit.edit_file(path, lambda t: tomledit.add_feed(t, name="x", url="ftp://x.example/"))
    assert path.read_text(encoding="utf-8") == COMMENTED
    assert [p.name for p in tmp_path.iterdir()] == ["feeds.toml"]  # no temp file left behind


def test_edit_file_is_atomic_keeps_mode_crlf_and_bom(tmp_path: Path) -> None:
    path = tmp_path / "feeds.toml"
    original = COMMENTED.replace("\n", "\r\n").encode("utf-8")
    path.write_bytes(b"\xef\xbb\xbf" + original)
    os.chmod(path, 0o600)
    inode_before = path.stat().st_ino
    tomledit.edit_file(path, lambda t: tomledit.add_feed(t, name="N1", url="https://n1.example/"))
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    assert b"\n" not in data.replace(b"\r\n", b"")  # every line ending still CRLF
    assert data.replace(b'\r\n[[feeds]]\r\nname = "N1"\r\nurl = "https://n1.example/"\r\n', b"", 1) == (
        b"\xef\xbb\xbf" + original
    )
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.stat().st_ino != inode_before  # replaced, not rewritten in place
    assert load_config(path).feeds[-1].name == "N1"


def test_edit_file_creates_a_missing_config(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "feeds.toml"
    tomledit.edit_file(path, lambda t: tomledit.add_feed(t, name="A", url="https://a.example/"))
    assert path.read_text(encoding="utf-8") == '[[feeds]]\nname = "A"\nurl = "https://a.example/"\n'


def test_edit_file_follows_a_symlink(tmp_path: Path) -> None:
    real = tmp_path / "real.toml"
    real.write_text(COMMENTED, encoding="utf-8")
    link = tmp_path / "feeds.toml"
    link.symlink_to(real)
    tomledit.edit_file(link, lambda t: tomledit.remove_feed(t, "RFE/RL Balkans"))
    assert link.is_symlink()
    assert "RFE/RL" not in real.read_text(encoding="utf-8")
    assert [f.name for f in load_config(link).feeds] == ["Balkan Insight"]
