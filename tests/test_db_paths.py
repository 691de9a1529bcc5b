"""Database paths reach SQLite intact (#, %, ? are part of a name), and read-only databases and folders can
still be exported and checked. Real SQLite files; a really read-only folder (a read-only bind mount in a
private mount namespace when we are root, chmod otherwise)."""

from __future__ import annotations

import os
import shlex
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from crisiswatch.cli import main
from crisiswatch.store import Store

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def make_db(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with Store.open(path) as store:
        store.add_event("poll_finished", detail="polled 3 feeds")
    return path


@pytest.mark.parametrize("name", ["c#w.db", "c%3Fw.db", "c?w.db", "100%.db", "we#ird %20?dir/c#w?.db"])
def test_odd_characters_in_the_path_are_part_of_the_name(tmp_path: Path, name: str, capsys) -> None:
    db = make_db(tmp_path / name)
    before = sorted(p.name for p in tmp_path.rglob("*"))
    assert main(["--db", str(db), "export", "events", "--format", "jsonl"]) == 0
    assert '"detail": "polled 3 feeds"' in capsys.readouterr().out
    assert main(["--db", str(db), "--config", os.devnull, "check"]) == 0
    assert "1 events" in capsys.readouterr().out
    # Nothing was created beside it under a name cut at the # or ?.
    assert sorted(p.name for p in tmp_path.rglob("*") if not p.name.endswith(("-wal", "-shm"))) == \
        [n for n in before if not n.endswith(("-wal", "-shm"))]


def test_a_read_only_database_file_can_be_exported(tmp_path: Path, capsys) -> None:
    db = make_db(tmp_path / "cw.db")
    db.chmod(0o444)
    assert main(["--db", str(db), "export", "events"]) == 0
    assert "polled 3 feeds" in capsys.readouterr().out


def test_not_a_crisiswatch_database_is_one_clear_line(tmp_path: Path, capsys) -> None:
    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    assert main(["--db", str(other), "export", "events"]) == 1
    err = capsys.readouterr().err
    assert "not a crisiswatch database" in err and "Traceback" not in err


def _read_only_runner(folder: Path) -> list[str] | None:
    """A command prefix that runs what follows with ``folder`` really read-only, or None if we cannot."""
    if os.geteuid() != 0:
        return []  # chmod is enough for an ordinary user
    unshare = shutil.which("unshare")
    if unshare is None:
        return None
    probe = subprocess.run([unshare, "-m", "sh", "-c", f"mount --bind {shlex.quote(str(folder))} "
                            f"{shlex.quote(str(folder))} && mount -o remount,bind,ro {shlex.quote(str(folder))}"],
                           capture_output=True, timeout=30, check=False)
    if probe.returncode != 0:
        return None
    q = shlex.quote(str(folder))
    return [unshare, "-m", "sh", "-c", f'mount --bind {q} {q} && mount -o remount,bind,ro {q} && exec "$@"', "sh"]


@pytest.mark.parametrize("side_files", [False, True], ids=["no-side-files", "stale-wal-and-shm"])
def test_a_database_in_a_read_only_folder_can_be_exported_and_checked(tmp_path: Path, side_files: bool) -> None:
    folder = tmp_path / "backup"
    db = make_db(folder / "cw.db")
    if side_files:
        keep = Store.open(db)  # a reader left open keeps -wal and -shm beside the database
        keep.table_counts()
        assert db.with_name("cw.db-wal").exists() and db.with_name("cw.db-shm").exists()
    prefix = _read_only_runner(folder)
    if prefix is None:
        # Root ignores a folder's mode, so only a read-only bind mount makes the folder read-only for root,
        # and that needs a mount namespace this machine does not grant. As an ordinary user (every CI
        # runner we know of) chmod does it and this test runs in full.
        pytest.skip("running as root without permission to mount: no way to make a folder read-only")
    if not prefix:
        folder.chmod(0o555)
    try:
        base = [*prefix, sys.executable, "-m", "crisiswatch.cli", "--db", str(db)]
        export = subprocess.run([*base, "export", "events"], capture_output=True, text=True, env=ENV, timeout=60)
        assert export.returncode == 0, export.stderr
        assert "polled 3 feeds" in export.stdout and export.stderr == ""
        check = subprocess.run([*base, "--config", os.devnull, "check"], capture_output=True, text=True, env=ENV,
                               timeout=60)
        assert check.returncode == 0, check.stderr
        assert "1 events" in check.stdout
        # The read-only folder was really read-only: nothing new appeared in it.
        touch = subprocess.run([*prefix, "touch", str(folder / "probe")], capture_output=True, timeout=30)
        assert touch.returncode != 0
    finally:
        if side_files:
            keep.close()
        folder.chmod(0o755)


LOCKER = """\
import fcntl, os, sqlite3, sys, time
db = sys.argv[1]
conn = sqlite3.connect(db, isolation_level=None)
conn.execute("PRAGMA journal_mode = WAL")  # as every crisiswatch database is
lock = os.open(db + ".lock", os.O_RDWR | os.O_CREAT, 0o644)
fcntl.flock(lock, fcntl.LOCK_EX)          # crisiswatch's writers' turn…
conn.execute("BEGIN IMMEDIATE")            # …and SQLite's write lock
print("locked", flush=True)
sys.stdin.readline()                       # until the test says so
conn.execute("COMMIT")
"""


def test_an_up_to_date_database_opens_without_waiting_for_a_writer(tmp_path: Path) -> None:
    import time

    db = make_db(tmp_path / "cw.db")
    locker = subprocess.Popen([sys.executable, "-c", LOCKER, str(db)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert locker.stdout is not None and locker.stdout.readline().strip() == "locked"
        started = time.monotonic()
        waits: list[str] = []
        with Store.open(db, on_wait=waits.append) as store:
            assert store.table_counts()["events"] == 1
        assert time.monotonic() - started < 5 and waits == []
    finally:
        locker.communicate("go\n", timeout=30)


def test_a_migration_that_must_wait_says_who_holds_the_lock(tmp_path: Path) -> None:
    import threading

    db = make_db(tmp_path / "cw.db")
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA user_version = 0")  # as if the schema were older: opening must migrate (a write)
    conn.commit()
    conn.close()
    locker = subprocess.Popen([sys.executable, "-c", LOCKER, str(db)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    waits: list[str] = []
    opened = threading.Event()

    def open_it() -> None:
        try:
            Store.open(db, on_wait=waits.append).close()
        except Exception as exc:  # the migration replays CREATE TABLE on our fake-old schema; not the point
            waits.append(f"then: {exc}")
        opened.set()

    try:
        assert locker.stdout is not None and locker.stdout.readline().strip() == "locked"
        thread = threading.Thread(target=open_it, daemon=True)
        thread.start()
        deadline = __import__("time").monotonic() + 30
        while not waits and __import__("time").monotonic() < deadline:
            opened.wait(0.05)
        assert waits and waits[0].startswith(f"database {db} locked by ")
        if sys.platform.startswith("linux"):
            assert f"(pid {locker.pid})" in waits[0], waits[0]
        assert waits[0].endswith("waiting…")
        assert not opened.is_set()  # still waiting while the lock is held
    finally:
        locker.communicate("go\n", timeout=30)
    assert opened.wait(60)


@pytest.mark.parametrize("command", [["export", "events"], ["report"], ["report", "--format", "html"], ["check"]])
@pytest.mark.parametrize("kind", ["empty-file", "other-program", "dev-null"])
def test_a_file_without_the_crisiswatch_schema_is_one_clear_line_for_every_reader(
        tmp_path: Path, capsys, command: list[str], kind: str) -> None:
    """`touch x.db; crisiswatch --db x.db report` printed a traceback (no such table: feeds), export a CSV
    header before its error: a database without our schema is refused when it is opened, for every reader."""
    if kind == "dev-null":
        db = Path(os.devnull)
    else:
        db = tmp_path / "x.db"
        db.write_bytes(b"")
        if kind == "other-program":
            conn = sqlite3.connect(db)
            conn.execute("CREATE TABLE feeds (x)")
            conn.commit()
            conn.close()
    assert main(["--db", str(db), "--config", os.devnull, *command]) == 1
    out, err = capsys.readouterr()
    assert out == "" or command == ["check"]  # check names the config it validated first
    assert err.count("\n") == 1 and "not a crisiswatch database" in err and str(db) in err


def test_a_directory_as_the_database_is_named_as_such(tmp_path: Path, capsys) -> None:
    """`--db /tmp` is a mistake to name, not a "disk I/O error"."""
    assert main(["--db", str(tmp_path), "export", "events"]) != 0
    err = capsys.readouterr().err
    assert "is a directory" in err and "Traceback" not in err
    with pytest.raises(Exception, match="is a directory"):  # the writers' way in (poll, run)
        Store.open(tmp_path)


def test_poll_does_not_move_into_another_programs_database(tmp_path: Path) -> None:
    """A SQLite file of another program is refused before any table or WAL mode is added to it."""
    other = tmp_path / "notes.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE notes (body TEXT)")
    conn.execute("INSERT INTO notes VALUES ('keep me')")
    conn.commit()
    conn.close()
    before = other.read_bytes()
    with pytest.raises(Exception, match="not a crisiswatch database"):
        Store.open(other)
    assert other.read_bytes() == before
    conn = sqlite3.connect(other)
    assert [r[0] for r in conn.execute("SELECT name FROM sqlite_master")] == ["notes"]
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal"
    conn.close()


@pytest.mark.parametrize("how", ["config", "--db"])
def test_a_database_under_a_file_is_refused_by_check_before_any_poll(tmp_path: Path, capsys, how: str) -> None:
    """`database = "/dev/null/x.db"` can never be created: check says so (file, line, key, fix; exit 2),
    and poll names the reason instead of the OS's "File exists"."""
    blocker = tmp_path / "plain-file"
    blocker.write_text("not a folder", encoding="utf-8")
    impossible = blocker / "sub" / "x.db"
    config = tmp_path / "feeds.toml"
    database = f'database = "{impossible}"\n' if how == "config" else ""
    config.write_text(f'[settings]\n{database}[[feeds]]\nname = "a"\nurl = "http://127.0.0.1:9/f"\n'
                      '[[keywords]]\nterm = "KFOR"\n', encoding="utf-8")
    args = ["--config", str(config)] + (["--db", str(impossible)] if how == "--db" else [])
    assert main([*args, "check"]) == 2
    err = capsys.readouterr().err
    assert f"{blocker} is not a folder" in err and "fix:" in err and "Traceback" not in err
    if how == "config":
        assert f"{config}:2: settings.database:" in err
    assert main([*args, "poll", "--once"]) != 0
    err = capsys.readouterr().err
    assert f"{blocker} is not a folder" in err and "File exists" not in err
    assert not impossible.parent.exists()
