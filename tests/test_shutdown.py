"""Ctrl-C and SIGTERM end `poll` promptly, quietly and completely: no traceback from the main process or its
parse workers, nothing left running, nothing committed lost. The signal goes to the whole process group,
as a terminal's Ctrl-C and systemd's stop do."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def _wait_for(condition, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def config(fault_server, tmp_path: Path) -> Path:
    cfg = tmp_path / "feeds.toml"
    feeds = "".join(f'[[feeds]]\nname = "f{i}"\nurl = "{fault_server.url(f"/big?mb=1&i={i}")}"\n' for i in range(24))
    cfg.write_text(feeds + '[[keywords]]\nterm = "Kosovo"\n', encoding="utf-8")
    return cfg


@pytest.mark.parametrize(("sig", "once", "code"), [
    (signal.SIGINT, False, 0), (signal.SIGTERM, False, 0), (signal.SIGINT, True, 130), (signal.SIGTERM, True, 0),
], ids=["int-forever", "term-forever", "int-once", "term-once"])
def test_a_signal_to_the_process_group_stops_poll_without_a_traceback(config: Path, tmp_path: Path,
                                                                      sig: signal.Signals, once: bool,
                                                                      code: int) -> None:
    db = tmp_path / "cw.db"
    args = [sys.executable, "-m", "crisiswatch.cli", "--config", str(config), "--db", str(db), "poll"]
    proc = subprocess.Popen([*args, *(["--once"] if once else [])], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=ENV, start_new_session=True)
    try:
        main = psutil.Process(proc.pid)
        # Mid-poll: the parse workers are up (the forkserver and its children) and feeds are being stored.
        assert _wait_for(lambda: len(main.children(recursive=True)) >= 2), "the parse workers never started"
        family = [main, *main.children(recursive=True)]
        os.killpg(proc.pid, sig)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    assert "Traceback" not in err and "KeyboardInterrupt" not in err and "Error" not in err, err
    assert proc.returncode == code, err
    assert "crisiswatch: stopped" in err
    # Every process of ours is gone (workers and forkserver too), soon after the main one.
    assert _wait_for(lambda: not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in family), 15)
    # What was stored is consistent, and no feed was recorded as a parser crash.
    conn = sqlite3.connect(db)
    crashes = conn.execute("SELECT count(*) FROM events WHERE detail LIKE '%parser process crashed%'").fetchone()[0]
    assert crashes == 0
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
