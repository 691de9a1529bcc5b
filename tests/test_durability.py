"""kill -9 at random moments, and two processes on one database.

These run the real ``crisiswatch poll --once`` as subprocesses against a
loopback server and compare the database with a clean, never-killed run.
"""

from __future__ import annotations

import os
import random
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from feedgen import rss

pytestmark = pytest.mark.slow  # real processes, killed and restarted: ~30 s together

FEEDS = 30
ITEMS = 40
WORDS = ["KFOR patrol", "Ibar bridge", "weather", "markets", "roadblock", "football", "culture", "traffic"]


def _feed_body(n: int) -> bytes:
    return rss(f"Feed {n}", [(f"f{n}-i{i}", f"{WORDS[(n + i) % len(WORDS)]} report {n}-{i} from desk {n * 97 + i}")
                             for i in range(ITEMS)])


class _Handler(BaseHTTPRequestHandler):
    bodies: dict[str, bytes] = {}

    def do_GET(self) -> None:
        body = self.bodies.get(self.path)
        if body is None:
            self.send_error(404)
            return
        etag = f'"{hash(body) & 0xFFFFFF:x}"'
        if self.headers.get("If-None-Match") == etag:
            self.send_response(304)
            self.send_header("ETag", etag)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml")
        self.send_header("ETag", etag)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    _Handler.bodies = {f"/f{n}": _feed_body(n) for n in range(FEEDS)}
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture(scope="module")
def config(server: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("durability") / "feeds.toml"
    feeds = "".join(f'[[feeds]]\nname = "Feed {n}"\nurl = "{server}/f{n}"\n' for n in range(FEEDS))
    path.write_text('[settings]\ntimeout = "60s"\n' + feeds +
                    '[[keywords]]\nterm = "KFOR"\nseverity = "high"\n'
                    '[[keywords]]\nterm = "roadblock"\n[[keywords]]\nterm = "Ibar"\n', encoding="utf-8")
    return path


def _cmd(config: Path, db: Path) -> list[str]:
    return [sys.executable, "-m", "crisiswatch.cli", "--config", str(config), "--db", str(db), "poll", "--once"]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}


def _snapshot(db: Path) -> dict[str, object]:
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return {
            "items": conn.execute("select count(*) from items").fetchone()[0],
            "alerts": conn.execute("select count(*) from alerts").fetchone()[0],
            "alert_new": conn.execute("select count(*) from events where kind = 'alert_new'").fetchone()[0],
            "alerted_items": conn.execute("select count(*) from items where alert_id is not null").fetchone()[0],
            "keys": sorted(r[0] for r in conn.execute("select key from items")),
        }
    finally:
        conn.close()


def _intact(db: Path) -> None:
    """integrity_check is ok, and the schema is all there or not there at all (it is one transaction)."""
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    finally:
        conn.close()
    ours = {"feeds", "items", "alerts", "events"}
    assert ours <= tables or not (ours & tables), sorted(tables)
    if ours <= tables:
        _snapshot(db)


@pytest.fixture(scope="module")
def reference(config: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """The database of one clean, never-killed ``poll --once``: what every other run must end up equal to."""
    db = tmp_path_factory.mktemp("reference") / "reference.db"
    subprocess.run(_cmd(config, db), env=_env(), check=True, capture_output=True, timeout=120)
    expected = _snapshot(db)
    assert expected["items"] == FEEDS * ITEMS and expected["alerts"] > 0
    return expected


def _count(db: Path, sql: str) -> int | None:
    """A count read from a running poll's database, read-only (never creates the file); None if not readable yet."""
    if not db.exists():
        return None
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
        try:
            return conn.execute(sql).fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error:  # no schema yet, or the file is still being created
        return None


def _wait_until(proc: subprocess.Popen[bytes], condition: Callable[[], bool], timeout: float = 60) -> bool:
    """Poll ``condition`` every few ms while ``proc`` runs; whether it held before the process ended."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        if proc.poll() is not None:
            return condition()
        time.sleep(0.003)
    raise AssertionError("the poll neither reached the awaited state nor ended")


_STARTED = "select count(*) from events where kind = 'poll_started'"
_FINISHED = "select count(*) from events where kind = 'poll_finished'"
_ITEMS = "select count(*) from items"


def test_kill_9_never_corrupts_and_next_poll_completes(config: Path, reference: dict[str, object],
                                                       tmp_path: Path) -> None:
    """kill -9 in each phase in which a poll writes, each on the database the previous kill left.

    Rather than many kills at random instants (most of which land before the process has even
    opened the database), each kill waits for the phase it is meant for and lands a seeded random
    few milliseconds into it: creating the schema, the poll just started (feeds synced, fetches
    and the parse workers starting), items being stored (0-5, 5-30 and 30-80 ms after a commit of
    that process, so inside the commits that follow), and after the poll finished (closing the
    pool and the database). Every kill must leave an intact database, every run after one must
    get on with the poll, and the next poll must complete to exactly what a never-killed run stores.
    """
    db = tmp_path / "killed.db"
    rng = random.Random(1234)

    def schema() -> Callable[[], bool]:
        return db.exists

    def new_row(sql: str) -> Callable[[], Callable[[], bool]]:
        def make() -> Callable[[], bool]:
            before = _count(db, sql) or 0
            return lambda: (_count(db, sql) or 0) > before
        return make

    # (phase, the condition that says this process is in it, the seeded random delay after that (s))
    phases: list[tuple[str, Callable[[], Callable[[], bool]], tuple[float, float]]] = [
        ("creating the schema", schema, (0.0, 0.05)),
        ("poll started", new_row(_STARTED), (0.0, 0.3)),
        # The store commits a feed or a batch of feeds at a time; "a new item" means a commit of this
        # process, and the delays after it spread the kills over the commits that follow.
        *((f"storing items (+{int(lo * 1000)}-{int(hi * 1000)} ms)", new_row(_ITEMS), (lo, hi))
          for lo, hi in ((0.0, 0.005), (0.005, 0.03), (0.03, 0.08))),
        ("poll finished", new_row(_FINISHED), (0.0, 0.01)),
    ]
    reached = []
    for name, make_condition, (lo, hi) in phases:
        condition = make_condition()  # read the counts before this process starts
        proc = subprocess.Popen(_cmd(config, db), env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            if _wait_until(proc, condition):
                reached.append(name)
                time.sleep(rng.uniform(lo, hi))
        finally:
            proc.kill()
            proc.wait(timeout=30)
        assert db.exists(), name
        _intact(db)  # after every kill, even one inside the schema's own transaction
    # Every phase was reached: each run after a kill resumed, and the one before last polled to the end.
    assert reached == [name for name, _, _ in phases]
    subprocess.run(_cmd(config, db), env=_env(), check=True, capture_output=True, timeout=120)
    assert _snapshot(db) == reference


def test_two_processes_on_one_database_cooperate(config: Path, reference: dict[str, object],
                                                 tmp_path: Path) -> None:
    db = tmp_path / "shared.db"
    procs = [subprocess.Popen(_cmd(config, db), env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
             for _ in range(2)]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
    result = _snapshot(db)
    assert result == reference
    assert result["alert_new"] == result["alerts"]  # nobody double-alerted


def test_poll_forever_stops_cleanly_on_sigterm(server: str, tmp_path: Path) -> None:
    import signal

    config = tmp_path / "feeds.toml"
    config.write_text(f'[settings]\npoll_interval = "1s"\n[[feeds]]\nname = "one"\nurl = "{server}/f1"\n'
                      '[[keywords]]\nterm = "KFOR"\n', encoding="utf-8")
    db = tmp_path / "cw.db"
    cmd = [sys.executable, "-m", "crisiswatch.cli", "--config", str(config), "--db", str(db), "poll"]
    proc = subprocess.Popen(cmd, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        time.sleep(0.02)
        if db.exists():
            conn = sqlite3.connect(db)
            try:
                cycles = conn.execute("select count(*) from events where kind = 'poll_finished'").fetchone()[0]
            except sqlite3.OperationalError:
                cycles = 0
            conn.close()
            if cycles >= 2:
                break
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    lines = err.strip().splitlines()
    assert sum(line.startswith("polled 1 feeds") for line in lines) >= 2
    assert lines[-1] == "crisiswatch: stopped"
    assert _snapshot(db)["items"] == ITEMS


def test_kill_9_leaves_no_helper_processes_behind(config: Path, tmp_path: Path) -> None:
    """Parse workers, the forkserver and the resource tracker all go when crisiswatch is killed."""
    import psutil

    proc = subprocess.Popen(_cmd(config, tmp_path / "cw.db"), env=_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    parent = psutil.Process(proc.pid)
    helpers: list[psutil.Process] = []
    names: dict[int, str] = {}

    def cmdline(p: psutil.Process) -> str:
        try:
            return " ".join(p.cmdline())
        except psutil.Error:  # gone already (a worker's short-lived child, say)
            return ""

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and proc.poll() is None:
        helpers = parent.children(recursive=True)
        names = {p.pid: cmdline(p)[:120] for p in helpers}
        if any("spawn_main" in name or "forkserver" in name for name in names.values()) and len(helpers) >= 3:
            break
        time.sleep(0.05)
    assert proc.poll() is None and len(helpers) >= 3, "the poll finished before its process pool was seen"
    # Named before the kill: the helpers now exit within milliseconds of it, too soon to be asked after.
    proc.kill()
    proc.wait(timeout=10)

    def running() -> list[psutil.Process]:
        # Exited is enough: an orphan stays a zombie until init reaps it, on init's own schedule
        # (seconds, here), which says nothing about crisiswatch.
        alive = []
        for p in helpers:
            try:
                if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                    alive.append(p)
            except psutil.NoSuchProcess:
                pass
        return alive

    deadline = time.monotonic() + 10
    while (alive := running()) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert alive == [], [names[p.pid] for p in alive]


_OWNER = """
import multiprocessing, os, sys
from crisiswatch.worker import OwnerLine, _exit_with_owner
line = OwnerLine()
worker = multiprocessing.get_context(sys.argv[1]).Process(target=_exit_with_owner,
                                                          args=(os.getpid(), line.reader, 3600.0))
worker.start()
print(worker.pid, flush=True)
sys.stdin.read()
"""


@pytest.mark.parametrize("context", ["fork", "forkserver"])
def test_a_worker_learns_of_its_owners_kill_9_at_once(context: str) -> None:
    """The owner line's EOF, not the pid check (an hour apart here), ends a worker of a killed owner.

    Under fork the worker is a child of the owner and inherited everything it
    had open: it only sees EOF if the write end was closed in it after the fork.
    """
    import psutil

    owner = subprocess.Popen([sys.executable, "-c", _OWNER, context], env=_env(), stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    try:
        worker = psutil.Process(int(owner.stdout.readline()))  # type: ignore[union-attr]
        time.sleep(0.05)  # the worker is inside its wait (were it not, it would find the EOF on arrival)
        assert worker.is_running() and worker.status() != psutil.STATUS_ZOMBIE
        owner.kill()
        owner.wait(timeout=10)
        with pytest.raises(psutil.NoSuchProcess):
            deadline = time.monotonic() + 10  # far above the ms it takes; far below the hour of the pid check
            while time.monotonic() < deadline:
                if worker.status() == psutil.STATUS_ZOMBIE:  # exited, waiting for init to reap it
                    raise psutil.NoSuchProcess(worker.pid)
                time.sleep(0.01)
    finally:
        owner.kill()
        owner.wait()
