"""``crisiswatch match`` as a user runs it: a real subprocess, stdin in, JSON lines out."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

CONFIG = """
[[keywords]]
term = "KFOR"
aliases = ["Kosovo Force"]
severity = "high"

[[keywords]]
term = "Vučić"

[[keywords]]
term = "Mitrovica"
aliases = ["Mitrovicë"]
severity = "low"

[[keywords]]
term = "EU"
match = "exact"
"""


def _run(args: list[str], stdin: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8", "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "cfg")}
    return subprocess.run(
        [sys.executable, "-m", "crisiswatch.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        timeout=60,
    )


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "feeds.toml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


def test_one_json_line_per_input_line_in_order(config: Path, tmp_path: Path) -> None:
    lines = [
        "Patrola KFOR-a u Mitrovici",
        "",
        "nothing to see here",
        "Вучић и КФОР",
        "<b>Kosovo Force</b> &amp; EU-a",
    ]
    proc = _run(["--config", str(config), "match"], "\n".join(lines) + "\n", tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.splitlines()
    assert len(out) == len(lines)
    rows = [json.loads(line) for line in out]
    assert [r["text"] for r in rows] == lines
    for row in rows:
        for hit in row["hits"]:
            assert set(hit) == {"keyword", "matched", "start", "end", "severity"}
            assert row["text"][hit["start"] : hit["end"]] == hit["matched"]
    assert rows[0]["hits"] == [
        {"keyword": "KFOR", "matched": "KFOR-a", "start": 8, "end": 14, "severity": "high"},
        {"keyword": "Mitrovica", "matched": "Mitrovici", "start": 17, "end": 26, "severity": "low"},
    ]
    assert rows[1]["hits"] == [] and rows[2]["hits"] == []
    assert [h["keyword"] for h in rows[3]["hits"]] == ["Vučić", "KFOR"]
    assert [(h["keyword"], h["matched"]) for h in rows[4]["hits"]] == [("KFOR", "Kosovo Force"), ("EU", "EU")]


def test_explain_adds_an_explain_object(config: Path, tmp_path: Path) -> None:
    proc = _run(["--config", str(config), "match", "--explain"], "Protesta në Mitrovicës\n", tmp_path)
    assert proc.returncode == 0, proc.stderr
    (row,) = [json.loads(line) for line in proc.stdout.splitlines()]
    (hit,) = row["hits"]
    assert hit["keyword"] == "Mitrovica"
    explain = hit["explain"]
    assert explain["alias"] == "Mitrovicë"
    assert explain["normalised"] == "mitrovices"
    assert explain["ending"] == "s"
    assert explain["mode"] == "word"
    assert "rule" in explain


def test_streams_line_by_line_in_a_pipe(config: Path, tmp_path: Path) -> None:
    """A line's answer arrives before the next line is written (flush per line)."""
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "crisiswatch.cli", "--config", str(config), "match"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        env=env,
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        for text in ("KFOR first", "then Vučić"):
            proc.stdin.write(text + "\n")
            proc.stdin.flush()
            row = json.loads(proc.stdout.readline())
            assert row["text"] == text
            assert len(row["hits"]) == 1
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)
        proc.stdout.close()
        if proc.stderr:
            proc.stderr.close()
    assert proc.returncode == 0


def test_closed_downstream_is_not_an_error(config: Path, tmp_path: Path) -> None:
    """``crisiswatch match < big | head -1``: exit 0, no traceback."""
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    source = tmp_path / "big.txt"
    source.write_text("Patrola KFOR-a kod Vučića\n" * 200_000, encoding="utf-8")
    with source.open("rb") as stdin:
        proc = subprocess.Popen(
            [sys.executable, "-m", "crisiswatch.cli", "--config", str(config), "match"],
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        assert proc.stdout is not None and proc.stderr is not None
        first = proc.stdout.readline()
        proc.stdout.close()
        err = proc.stderr.read().decode("utf-8", "replace")
        proc.wait(timeout=60)
        proc.stderr.close()
    assert json.loads(first)["hits"]
    assert "Traceback" not in err, err
    assert proc.returncode == 0


def test_last_line_without_newline_and_crlf(config: Path, tmp_path: Path) -> None:
    proc = _run(["--config", str(config), "match"], "KFOR\r\nVučić", tmp_path)
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["text"] for r in rows] == ["KFOR", "Vučić"]
    assert all(len(r["hits"]) == 1 for r in rows)


def test_bad_config_exits_2_without_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[[keywords]]\nterm = "KFOR"\nseverity = "urgent"\n', encoding="utf-8")
    proc = _run(["--config", str(bad), "match"], "KFOR\n", tmp_path)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "severity" in proc.stderr


def test_help_has_examples(tmp_path: Path) -> None:
    proc = _run(["match", "--help"], "", tmp_path)
    assert proc.returncode == 0
    assert "examples:" in proc.stdout
    assert "--explain" in proc.stdout


def test_module_imports_only_the_stdlib_at_import_time() -> None:
    """The CLI imports every command module for --help; match's own imports must stay light."""
    import crisiswatch.commands.match as command

    tree = ast.parse(Path(command.__file__).read_text(encoding="utf-8"))
    top_level: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.Import):
            top_level += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            top_level.append(node.module or "")
        elif isinstance(node, ast.ImportFrom) and node.level > 0:
            pytest.fail(f"relative import at module level: {ast.unparse(node)}")
    for name in top_level:
        assert name.split(".")[0] in sys.stdlib_module_names, name


def test_explain_pretty_prints_for_people(config: Path, tmp_path: Path) -> None:
    """--pretty (the default for --explain on a terminal) indents the object instead of one long line."""
    proc = _run(["--config", str(config), "match", "--explain", "--pretty"], "Protesta në Mitrovicës\n", tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) > 10 and max(len(line) for line in lines) < 120
    row = json.loads(proc.stdout)
    assert row["hits"][0]["explain"]["alias"] == "Mitrovicë"
