"""The dashboard at the edges: its export writes through FIFOs and symlinks like the CLI, and a database
locked by another process is announced ("locked by …, waiting"), not a blank screen."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import tui_data
from pilotkit import QUICK, make_app, notifications, wait_for
from test_db_paths import LOCKER

from crisiswatch.tui.app import CrisiswatchApp

SIZE = (120, 40)


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tui_data.Built:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("CRISISWATCH_BROWSER", "0")
    return tui_data.build(tmp_path / "t.db")


async def test_export_writes_through_a_fifo_and_a_symlink(data: tui_data.Built, tmp_path: Path) -> None:
    app = make_app(data)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    real = tmp_path / "real.csv"
    real.write_text("old")
    real.chmod(0o640)
    link = tmp_path / "link.csv"
    link.symlink_to(real)
    async with app.run_test(size=SIZE) as pilot:
        app.export_events(str(fifo))
        await wait_for(pilot, lambda: app.export_count == 1, timeout=20)
        app.export_events(str(link))
        await wait_for(pilot, lambda: app.export_count == 2, timeout=20)
    reader.join(10)
    assert received and received[0].startswith(b"time,kind,feed")
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert link.is_symlink() and real.read_text(encoding="utf-8").startswith("time,kind,feed")
    assert stat.S_IMODE(real.stat().st_mode) == 0o640


async def test_a_locked_database_is_announced_then_the_dashboard_loads(data: tui_data.Built,
                                                                       tmp_path: Path) -> None:
    db = tmp_path / "new.db"
    locker = subprocess.Popen([sys.executable, "-c", LOCKER, str(db)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert locker.stdout is not None and locker.stdout.readline().strip() == "locked"
        app = CrisiswatchApp(data.config, db, poll=False, clock=lambda: tui_data.NOW, pace=QUICK)
        notes = notifications(app)
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: any("locked by" in message for _, message in notes), timeout=20)
            [(title, message)] = [(t, m) for t, m in notes if "locked by" in m]
            assert title == "Database" and message.endswith("waiting…")
            if sys.platform.startswith("linux"):
                assert f"(pid {locker.pid})" in message
            locker.communicate("go\n", timeout=30)
            # Once the other process lets go, the schema is created and the dashboard reads it.
            await wait_for(pilot, lambda: app._marker is not None, timeout=30)
    finally:
        if locker.poll() is None:
            locker.communicate("go\n", timeout=30)


async def test_sigterm_quits_the_dashboard_like_q(data: tui_data.Built) -> None:
    """systemd's stop or a plain `kill`: the app exits in order (screen restored), not by the default action."""
    import signal

    app = make_app(data)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        os.kill(os.getpid(), signal.SIGTERM)  # a real signal to this very process
        await wait_for(pilot, lambda: app.return_code is not None, timeout=10)
        assert app.return_code == 0


async def test_a_poller_that_cannot_open_the_database_says_polling_stopped(data: tui_data.Built,
                                                                          tmp_path: Path) -> None:
    """A file that is not a crisiswatch database: the poller cannot start, and says so instead of
    leaving a dashboard that looks live but never polls."""
    import sqlite3

    db = tmp_path / "other.db"
    with sqlite3.connect(db) as other:
        other.execute("CREATE TABLE notes (body TEXT)")
    other.close()
    app = CrisiswatchApp(data.config, db, poll=True, clock=lambda: tui_data.NOW, pace=QUICK)
    notes = notifications(app)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: any(title == "Polling stopped" for title, _ in notes), timeout=20)
        [message] = [m for t, m in notes if t == "Polling stopped"]
        assert "not a crisiswatch database" in message and str(db) in message


_PRESTART = """
import time
import psutil
from crisiswatch.tui.app import _prestart_process_helpers
_prestart_process_helpers()
deadline = time.monotonic() + 30
while time.monotonic() < deadline:  # a child forked but not yet exec'd still shows this script's command line
    lines = [" ".join(child.cmdline()) for child in psutil.Process().children()]
    if any("forkserver import main" in line for line in lines):
        break
    time.sleep(0.01)
print("\\n".join(lines))
"""


def test_the_forkserver_the_dashboard_starts_early_preloads_the_parser() -> None:
    """The dashboard starts the forkserver before Textual takes stderr; the preload is fixed then.

    It used to start with multiprocessing's default preload (``__main__``, the CLI
    script), so every parse worker imported feedparser and the matcher again
    after forking, on every poll.
    """
    result = subprocess.run([sys.executable, "-c", _PRESTART], capture_output=True, text=True, timeout=60,
                            check=True)
    [server] = [line for line in result.stdout.splitlines() if "forkserver import main" in line]
    assert "'crisiswatch.parse'" in server and "'crisiswatch.match'" in server
    assert "'__main__'" not in server
