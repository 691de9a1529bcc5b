"""Notifier: the real command gets the right argv, a real loopback receiver gets the JSON,
failures end up as events in a real SQLite file."""

from __future__ import annotations

import json
import sqlite3
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from crisiswatch.config import Feed, Settings
from crisiswatch.models import Assessment, FetchResult, ParsedFeed, ParsedItem, utcnow
from crisiswatch.notify import Notifier, build_argv, payload
from crisiswatch.store import Store

HOSTILE = "KFOR at Jarinje $(rm -rf ~); `touch pwned` | {link} && echo \"x\" 'y' > /tmp/z"
FAST = (0.01, 0.02)
"""Three attempts, milliseconds apart: the policy is the same, the suite stays fast."""

RECORDER = """\
import json, sys
with open(sys.argv[1], "a", encoding="utf-8") as fh:
    fh.write(json.dumps(sys.argv[2:]) + "\\n")
"""


def make_alerts(db: Path, specs: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """Real alerts written through the store, so the dicts have the shape the poller passes."""
    store = Store.open(db)
    try:
        fid = store.sync_feeds([Feed("Balkan Insight", "https://example.org/rss")])["Balkan Insight"]
        now = utcnow()
        items = tuple(
            ParsedItem(key=f"k{i}", title=title, link=f"https://example.org/story/{i}?a=1&b=2", guid=None,
                       summary="", author=None, published=now)
            for i, (title, _) in enumerate(specs)
        )
        assessments = [Assessment(hits=(), keywords=("Jarinje", "KFOR"), severity=sev) for _, sev in specs]
        outcome = store.record_result(fid, FetchResult(url="https://example.org/rss", status=200, body=b"x"),
                                      ParsedFeed("Balkan Insight", items), assessments, settings=Settings(),
                                      next_poll=now, now=now)
        return outcome.new_alerts
    finally:
        store.close()


def events(db: Path, kind: str) -> list[sqlite3.Row]:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute("SELECT * FROM events WHERE kind = ? ORDER BY id", (kind,)).fetchall()
    finally:
        conn.close()


class Receiver:
    """A loopback webhook receiver answering each POST with the next status in ``statuses``."""

    def __init__(self, statuses: list[int] | None = None, delay: float = 0.0) -> None:
        self.bodies: list[bytes] = []
        self.headers: list[dict[str, str]] = []
        self.statuses = statuses or []
        self.delay = delay
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver.lock:
                    receiver.bodies.append(body)
                    receiver.headers.append(dict(self.headers))
                    status = receiver.statuses.pop(0) if receiver.statuses else 204
                if receiver.delay:
                    time.sleep(receiver.delay)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "crisiswatch.db"


@pytest.fixture
def recorder(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    script = tmp_path / "record_argv.py"
    script.write_text(RECORDER, encoding="utf-8")
    yield script, tmp_path / "argv.jsonl"


def read_calls(out: Path) -> list[list[str]]:
    if not out.exists():
        return []
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


def test_command_receives_substituted_argv_without_a_shell(db: Path, recorder: tuple[Path, Path],
                                                           tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    script, out = recorder
    [alert] = make_alerts(db, [(HOSTILE, "critical")])
    template = (sys.executable, str(script), str(out), "crisiswatch", "{title}", "--feed={feed}", "{link}",
                "[{severity}] {keywords}", "{unknown} {TITLE}")
    notifier = Notifier(Settings(notify_command=template, notify_min_severity="high"), db)
    notifier.submit(alert)
    notifier.close(timeout=10)

    assert read_calls(out) == [[
        "crisiswatch",
        HOSTILE,  # literal, in one element: no shell, and its "{link}" is not expanded a second time
        "--feed=Balkan Insight",
        "https://example.org/story/0?a=1&b=2",
        "[critical] Jarinje, KFOR",
        "{unknown} {TITLE}",
    ]]
    assert not (tmp_path / "pwned").exists()
    assert events(db, "notify_failed") == []


def test_only_alerts_at_or_above_min_severity_are_delivered(db: Path, recorder: tuple[Path, Path]) -> None:
    script, out = recorder
    alerts = make_alerts(db, [("low one", "low"), ("medium one", "medium"), ("high one", "high"),
                              ("critical one", "critical")])
    notifier = Notifier(Settings(notify_command=(sys.executable, str(script), str(out), "{title}"),
                                 notify_min_severity="high"), db)
    for alert in alerts:
        notifier.submit(alert)
    notifier.close(timeout=10)
    assert read_calls(out) == [["high one"], ["critical one"]]


def test_failing_command_is_logged_as_event(db: Path, tmp_path: Path) -> None:
    [alert] = make_alerts(db, [("KFOR closes the crossing", "high")])
    failing = tmp_path / "fail.py"
    failing.write_text("import sys\nsys.stderr.write('no display\\n')\nsys.exit(3)\n", encoding="utf-8")
    notifier = Notifier(Settings(notify_command=(sys.executable, str(failing), "{title}")), db)
    notifier.submit(alert)
    notifier.close(timeout=10)
    [event] = events(db, "notify_failed")
    assert "exit code 3" in event["detail"] and "no display" in event["detail"]
    assert event["alert_id"] == alert["id"]
    assert event["title"] == "KFOR closes the crossing"


def test_missing_command_is_logged(db: Path) -> None:
    [alert] = make_alerts(db, [("KFOR closes the crossing", "high")])
    notifier = Notifier(Settings(notify_command=("/nonexistent/notify-send", "{title}")), db)
    notifier.submit(alert)
    notifier.close(timeout=10)
    [event] = events(db, "notify_failed")
    assert "command not found" in event["detail"]


def test_hanging_command_is_killed_after_timeout(db: Path, tmp_path: Path) -> None:
    [alert] = make_alerts(db, [("KFOR closes the crossing", "high")])
    notifier = Notifier(Settings(notify_command=(sys.executable, "-c", "import time; time.sleep(30)")), db,
                        command_timeout=0.5)
    started = time.monotonic()
    notifier.submit(alert)
    notifier.close(timeout=10)
    assert time.monotonic() - started < 8
    [event] = events(db, "notify_failed")
    assert "timed out after 0.5s" in event["detail"]


def test_webhook_gets_one_post_per_alert_with_the_alert_json(db: Path) -> None:
    alerts = make_alerts(db, [("KFOR at Jarinje", "high"), ("Vučić on Banjska", "critical"),
                              ("quiet", "low")])
    with Receiver() as receiver:
        notifier = Notifier(Settings(webhook_url=receiver.url), db, retry_delays=FAST)
        for alert in alerts:
            notifier.submit(alert)
        notifier.close(timeout=10)
    bodies = [json.loads(b) for b in receiver.bodies]
    assert len(bodies) == 2
    first, second = bodies
    assert first == {
        "id": alerts[0]["id"],
        "time": alerts[0]["created"],
        "published": alerts[0]["published"],
        "severity": "high",
        "keywords": ["Jarinje", "KFOR"],
        "rules": [],
        "feed": "Balkan Insight",
        "title": "KFOR at Jarinje",
        "link": "https://example.org/story/0?a=1&b=2",
        "state": "new",
        "text": "[HIGH] KFOR at Jarinje (Balkan Insight; Jarinje, KFOR) https://example.org/story/0?a=1&b=2",
    }
    assert second["title"] == "Vučić on Banjska" and second["severity"] == "critical"
    assert receiver.headers[0]["Content-Type"].startswith("application/json")
    assert events(db, "webhook_failed") == []


def test_failing_webhook_is_retried_then_logged(db: Path) -> None:
    [alert] = make_alerts(db, [("KFOR at Jarinje", "high")])
    with Receiver(statuses=[500, 500, 500, 500]) as receiver:
        notifier = Notifier(Settings(webhook_url=receiver.url), db, retry_delays=FAST)
        notifier.submit(alert)
        notifier.close(timeout=10)
    assert len(receiver.bodies) == 3
    assert len({b for b in receiver.bodies}) == 1  # the same body every attempt
    [event] = events(db, "webhook_failed")
    assert "HTTP 500 after 3 attempts" in event["detail"]
    assert event["alert_id"] == alert["id"]


def test_webhook_recovers_on_retry(db: Path) -> None:
    [alert] = make_alerts(db, [("KFOR at Jarinje", "high")])
    with Receiver(statuses=[503, 200]) as receiver:
        notifier = Notifier(Settings(webhook_url=receiver.url), db, retry_delays=FAST)
        notifier.submit(alert)
        notifier.close(timeout=10)
    assert len(receiver.bodies) == 2
    assert events(db, "webhook_failed") == []


def test_client_error_is_not_retried(db: Path) -> None:
    [alert] = make_alerts(db, [("KFOR at Jarinje", "high")])
    with Receiver(statuses=[404]) as receiver:
        notifier = Notifier(Settings(webhook_url=receiver.url), db, retry_delays=FAST)
        notifier.submit(alert)
        notifier.close(timeout=10)
    assert len(receiver.bodies) == 1
    [event] = events(db, "webhook_failed")
    assert "HTTP 404 (not retried) after 1 attempt" in event["detail"]


def test_unreachable_webhook_is_logged(db: Path) -> None:
    [alert] = make_alerts(db, [("KFOR at Jarinje", "high")])
    with Receiver() as receiver:
        url = receiver.url
    notifier = Notifier(Settings(webhook_url=url), db, retry_delays=FAST)
    notifier.submit(alert)
    notifier.close(timeout=10)
    [event] = events(db, "webhook_failed")
    assert "connection refused after 3 attempts" in event["detail"]


def test_submit_never_blocks_on_a_slow_receiver(db: Path, recorder: tuple[Path, Path]) -> None:
    alerts = make_alerts(db, [(f"story {i}", "high") for i in range(5)])
    script, out = recorder
    with Receiver(delay=0.1) as receiver:
        notifier = Notifier(Settings(webhook_url=receiver.url,
                                     notify_command=(sys.executable, str(script), str(out), "{title}")),
                            db, retry_delays=FAST)
        started = time.monotonic()
        for alert in alerts:
            notifier.submit(alert)
        assert time.monotonic() - started < 0.1
        notifier.close(timeout=10)
    assert len(receiver.bodies) == 5
    # The desktop channel is not held up behind the slow webhook.
    assert len(read_calls(out)) == 5


def test_close_gives_up_on_backoff_at_the_deadline(db: Path) -> None:
    [alert] = make_alerts(db, [("KFOR at Jarinje", "high")])
    with Receiver(statuses=[500] * 10) as receiver:
        notifier = Notifier(Settings(webhook_url=receiver.url), db, retry_delays=(30.0, 30.0))
        notifier.submit(alert)
        deadline = time.monotonic() + 5
        while not receiver.bodies:  # the first attempt has reached the receiver: the retry backs off for 30 s
            assert time.monotonic() < deadline, "the webhook was never attempted"
            time.sleep(0.01)
        started = time.monotonic()
        notifier.close(timeout=0.3)
        assert time.monotonic() - started < 3
    [event] = events(db, "webhook_failed")
    assert "gave up at shutdown" in event["detail"]


def test_nothing_configured_is_inert(db: Path) -> None:
    notifier = Notifier(Settings(), db)
    assert not notifier.active
    notifier.submit({"id": 1, "severity": "critical", "title": "x"})
    notifier.close()
    assert not db.exists()


def test_handmade_dict_with_list_keywords_and_unknown_ids() -> None:
    alert = {"id": 999, "time": "2026-11-26T00:00:00Z", "published": None, "severity": "high",
             "keywords": ["KFOR", "Ibar"], "feed": "RFE", "title": "t", "link": None, "state": "new"}
    assert payload(alert)["keywords"] == ["KFOR", "Ibar"]
    assert build_argv(["{keywords}", "{link}", "a\x00b"], alert) == ["KFOR, Ibar", "", "ab"]


def test_event_kept_when_alert_id_is_unknown(db: Path) -> None:
    make_alerts(db, [("seed", "high")])  # creates the schema
    notifier = Notifier(Settings(notify_command=("/nonexistent/cmd",)), db)
    notifier.submit({"id": 12345, "feed_id": 777, "severity": "critical", "keywords": ["KFOR"], "feed": "X",
                     "title": "ghost", "link": None})
    notifier.close(timeout=10)
    [event] = events(db, "notify_failed")
    assert event["title"] == "ghost" and event["alert_id"] is None
