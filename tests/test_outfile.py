"""`-o` paths: regular files replaced atomically with their mode kept; FIFOs, devices, /dev/stdout written
through; symlinks followed and kept; directories, missing directories and full disks refused clearly.

Everything runs against real files, real FIFOs and real devices in tmp dirs, through the real CLI.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from crisiswatch.cli import main
from crisiswatch.outfile import OutputError, open_output, write_output
from crisiswatch.store import Store

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "cw.db"
    with Store.open(path) as store:
        store.add_event("poll_finished", detail="polled 3 feeds")
        store.add_event("fetch_error", detail="line one\nline two\tand a tab")
    return path


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    path = tmp_path / "feeds.toml"
    path.write_text('[[feeds]]\nname = "Example"\nurl = "https://user:secret@example.org/rss?api_key=k1"\n',
                    encoding="utf-8")
    return path


def export_events(db: Path, target: str | Path) -> int:
    return main(["--db", str(db), "export", "events", "-o", str(target)])


def feeds_export(cfg: Path, target: str | Path) -> int:
    return main(["--config", str(cfg), "feeds", "export", "-o", str(target)])


def _commands(db: Path, cfg: Path) -> dict[str, tuple[Callable[[Path | str], int], str]]:
    return {"export": (lambda t: export_events(db, t), "time,kind,feed"),
            "feeds export": (lambda t: feeds_export(cfg, t), "<?xml")}


@pytest.fixture(params=["export", "feeds export"])
def command(request: pytest.FixtureRequest, db: Path, cfg: Path) -> tuple[Callable[[Path | str], int], str]:
    return _commands(db, cfg)[request.param]


def test_existing_file_keeps_its_mode_and_is_replaced_whole(tmp_path: Path, command, capsys) -> None:
    run, head = command
    target = tmp_path / "out.txt"
    target.write_text("old content that is longer than what replaces it " * 200)
    target.chmod(0o640)
    assert run(target) == 0
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert target.read_text(encoding="utf-8").lstrip().startswith(head)
    assert "old content" not in target.read_text(encoding="utf-8")
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_new_file_gets_the_umask_mode_not_0600(tmp_path: Path, command) -> None:
    run, head = command
    old = os.umask(0o022)
    try:
        assert run(tmp_path / "new.out") == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "new.out").stat().st_mode) == 0o644


def test_symlink_is_followed_and_stays_a_link(tmp_path: Path, command, capsys) -> None:
    run, head = command
    real_dir = tmp_path / "real"
    real_dir.mkdir()
    real = real_dir / "target.txt"
    real.write_text("old")
    real.chmod(0o604)
    link = tmp_path / "link.txt"
    link.symlink_to(real)
    assert run(link) == 0
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_text(encoding="utf-8").lstrip().startswith(head)
    assert stat.S_IMODE(real.stat().st_mode) == 0o604
    assert str(real) in capsys.readouterr().err  # the message names the file really written


def test_dangling_symlink_creates_its_target(tmp_path: Path, command) -> None:
    run, head = command
    link = tmp_path / "link.txt"
    link.symlink_to(tmp_path / "made.txt")
    assert run(link) == 0
    assert link.is_symlink()
    assert (tmp_path / "made.txt").read_text(encoding="utf-8").lstrip().startswith(head)


def test_fifo_is_written_through_and_stays_a_fifo(tmp_path: Path, command) -> None:
    run, head = command
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    assert run(fifo) == 0
    reader.join(30)
    assert not reader.is_alive()
    assert received[0].decode("utf-8").lstrip().startswith(head)
    assert stat.S_ISFIFO(fifo.stat().st_mode)


def test_dev_null_stays_a_device(command) -> None:
    run, _ = command
    assert run("/dev/null") == 0
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_dev_full_says_disk_full_and_never_exported(command, capsys) -> None:
    run, _ = command
    assert run("/dev/full") == 1
    err = capsys.readouterr().err
    assert "/dev/full" in err and "disk full" in err
    assert "exported" not in err and "wrote" not in err and "Traceback" not in err
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)


def test_a_directory_is_refused_clearly(tmp_path: Path, command, capsys) -> None:
    run, _ = command
    assert run(tmp_path) == 1
    err = capsys.readouterr().err
    assert "is a directory" in err and "Traceback" not in err
    assert tmp_path.is_dir()


def test_a_missing_directory_is_refused_and_nothing_created(tmp_path: Path, command, capsys) -> None:
    run, _ = command
    assert run(tmp_path / "nope" / "out.csv") == 1
    assert "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "nope").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_an_unwritable_directory_is_refused(tmp_path: Path, command, capsys) -> None:
    run, _ = command
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    try:
        assert run(locked / "out.csv") == 1
        assert "permission denied" in capsys.readouterr().err
    finally:
        locked.chmod(0o700)


def test_unwritable_target_is_refused_even_for_root(command, capsys) -> None:
    """/proc/version is a regular file nobody may write or replace: a clear error, not a traceback."""
    run, _ = command
    assert run("/proc/version") == 1
    err = capsys.readouterr().err
    assert "cannot write /proc/version" in err and "Traceback" not in err


def test_a_file_in_a_directory_that_refuses_new_files_is_rewritten_in_place(tmp_path: Path) -> None:
    """No temp file possible next to it (the directory is full of our name, or read-only): write in place."""
    target = tmp_path / "out.txt"
    target.write_text("old")
    target.chmod(0o620)
    import crisiswatch.outfile as outfile

    def refuse(directory: str, name: str) -> tuple[int, str]:
        raise PermissionError(13, "Permission denied", directory)

    original = outfile._new_file_in
    outfile._new_file_in = refuse
    try:
        write_output(target, "new text")
    finally:
        outfile._new_file_in = original
    assert target.read_text() == "new text" and stat.S_IMODE(target.stat().st_mode) == 0o620


def test_a_failed_write_leaves_the_old_file_and_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    target.write_text("precious")
    with pytest.raises(RuntimeError), open_output(target) as out:
        out.write("half")
        raise RuntimeError("the export failed midway")
    assert target.read_text() == "precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


def _cli(*args: str, stdout: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "crisiswatch.cli", *args], stdout=stdout,
                          stderr=subprocess.PIPE, text=True, env=ENV, timeout=60, check=False)


def test_stdout_redirected_to_dev_full_says_disk_full(db: Path, cfg: Path) -> None:
    with open("/dev/full", "w") as full:
        for args in (["--db", str(db), "export", "events"], ["--config", str(cfg), "feeds", "export"]):
            proc = _cli(*args, stdout=full)
            assert proc.returncode == 1, proc.stderr
            assert proc.stderr.strip() == "crisiswatch: cannot write stdout: disk full", proc.stderr


def test_dash_o_dev_stdout_appends_where_the_shell_pointed(db: Path, tmp_path: Path) -> None:
    log = tmp_path / "log.txt"
    log.write_text("kept line\n")
    inode = log.stat().st_ino
    with open(log, "a") as out:
        proc = _cli("--db", str(db), "export", "events", "-o", "/dev/stdout", stdout=out)
    assert proc.returncode == 0, proc.stderr
    text = log.read_text(encoding="utf-8")
    assert text.startswith("kept line\ntime,kind,feed") and log.stat().st_ino == inode


def test_csv_cells_have_no_line_breaks_or_tabs(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "events.csv"
    assert export_events(db, out) == 0
    data = out.read_bytes()
    body = data.replace(b"\r\n", b"")  # csv's own row ends
    assert b"\n" not in body and b"\t" not in body and b"\r" not in body
    assert b"line one line two and a tab" in data


def test_csv_cells_stay_formula_safe_after_cleaning(tmp_path: Path) -> None:
    path = tmp_path / "cw.db"
    with Store.open(path) as store:
        for detail in ("=1+1", "\t=cmd|' /C calc'!A0", "\r+SUM(A1)", "\x1b[31m-2+3", "@SUM(1)", "\u202e=1"):
            store.add_event("fetch_error", detail=detail)
    out = tmp_path / "e.csv"
    assert export_events(path, out) == 0
    import csv

    cells = [row[6] for row in csv.reader(out.open(encoding="utf-8", newline=""))][1:]
    assert len(cells) == 6
    for cell in cells:
        assert cell.lstrip()[:1] not in "=+-@" or cell.startswith("'"), cell
        assert cell.isprintable(), repr(cell)


def test_output_error_is_a_plain_message() -> None:
    with pytest.raises(OutputError, match="cannot write /dev/full: disk full"):
        write_output("/dev/full", b"x" * 10)
