"""Notifier: the real command gets the right argv, a real loopback receiver gets the JSON,
failures end up as events in a real SQLite file."""

from __future__ import annotations

import json
import os
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
        self.paths: list[str] = []
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
                    receiver.paths.append(self.path)
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
                        command_timeout=0.2)
    started = time.monotonic()
    notifier.submit(alert)
    notifier.close(timeout=10)
    assert time.monotonic() - started < 8
    [event] = events(db, "notify_failed")
    assert "timed out after 0.2s" in event["detail"]


def test_webhook_gets_one_apprise_json_post_per_alert(db: Path) -> None:
    """webhook_url is an alias for Apprise's json://: one POST per alert at or above the threshold."""
    alerts = make_alerts(db, [("KFOR at Jarinje", "high"), ("Vučić on Banjska", "critical"),
                              ("quiet", "low")])
    with Receiver() as receiver:
        notifier = Notifier(Settings(webhook_url=receiver.url + "?key=a%26b"), db, retry_delays=FAST)
        for alert in alerts:
            notifier.submit(alert)
        notifier.close(timeout=10)
    bodies = [json.loads(b) for b in receiver.bodies]
    assert len(bodies) == 2
    first, second = bodies
    assert first == {
        "version": "1.0",
        "title": "[HIGH] KFOR at Jarinje",
        "message": "Balkan Insight · Jarinje, KFOR\nhttps://example.org/story/0?a=1&b=2",
        "attachments": [],
        "type": "warning",
    }
    assert second["title"] == "[CRITICAL] Vučić on Banjska" and second["type"] == "failure"
    assert receiver.headers[0]["Content-Type"].startswith("application/json")
    assert receiver.paths == ["/hook?key=a%26b"] * 2  # the address's own query survives the alias
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
    with Receiver(delay=0.05) as receiver:  # five deliveries in a row: 0.25 s, well over what submit may take
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
        notifier.close(timeout=0.1)
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


# -- Apprise: notify_urls, a second scheme, deadlines, redaction ------------------------------------------------


class DripReceiver:
    """A loopback receiver that answers a byte every ``interval`` seconds and never finishes."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.stop = threading.Event()
        self.requests = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True  # every byte goes out on its own, never held for an ACK

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.requests += 1
                try:
                    for ch in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 10_000:
                        if receiver.stop.wait(receiver.interval):
                            return
                        self.wfile.write(bytes([ch]))
                        self.wfile.flush()
                except OSError:
                    return

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)

    def __enter__(self) -> DripReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.server.shutdown()
        self.server.server_close()


def test_notify_urls_reach_json_and_ntfy_receivers(db: Path) -> None:
    [alert] = make_alerts(db, [("KFOR at Jarinje", "critical")])
    with Receiver(statuses=[200, 200]) as receiver:  # ntfy wants 200 exactly
        port = receiver.server.server_address[1]
        urls = (f"json://127.0.0.1:{port}/hook", f"ntfy://127.0.0.1:{port}/kosovo")
        notifier = Notifier(Settings(notify_urls=urls), db, retry_delays=FAST)
        notifier.submit(alert)
        notifier.close(timeout=10)
    assert sorted(receiver.paths) == ["/", "/hook"]
    by_path = {path: json.loads(body) for path, body in zip(receiver.paths, receiver.bodies, strict=True)}
    assert by_path["/hook"]["title"] == "[CRITICAL] KFOR at Jarinje"
    assert by_path["/"] == {"topic": "kosovo", "title": "[CRITICAL] KFOR at Jarinje",
                            "message": "Balkan Insight · Jarinje, KFOR\nhttps://example.org/story/0?a=1&b=2"}
    assert events(db, "notify_failed") == []


def test_a_failing_notify_url_is_retried_then_an_event_without_its_secret(db: Path) -> None:
    [alert] = make_alerts(db, [("KFOR at Jarinje", "high")])
    with Receiver(statuses=[503, 503, 503]) as receiver:
        port = receiver.server.server_address[1]
        notifier = Notifier(Settings(notify_urls=(f"json://user:hunter2@127.0.0.1:{port}/T000/B000/SECRETPATH",)),
                            db, retry_delays=FAST)
        notifier.submit(alert)
        notifier.close(timeout=10)
    assert len(receiver.bodies) == 3
    [event] = events(db, "notify_failed")
    assert event["detail"] == f"json://127.0.0.1:{port}/…: HTTP 503 after 3 attempts"
    assert event["alert_id"] == alert["id"]


def test_webhook_failure_never_records_the_webhook_path(db: Path) -> None:
    [alert] = make_alerts(db, [("KFOR at Jarinje", "high")])
    with Receiver(statuses=[500] * 3) as receiver:
        notifier = Notifier(Settings(webhook_url=receiver.url + "/services/T0/B0/XXXXSECRET"), db,
                            retry_delays=FAST)
        notifier.submit(alert)
        notifier.close(timeout=10)
    [event] = events(db, "webhook_failed")
    assert "XXXXSECRET" not in event["detail"] and "/hook" not in event["detail"]
    assert event["detail"].startswith("http://127.0.0.1:") and "/…: HTTP 500 after 3 attempts" in event["detail"]


def test_a_dripping_receiver_is_cut_off_at_the_total_deadline(db: Path) -> None:
    """A byte every 0.05 s defeats every socket read timeout (each is at most the 0.2 s deadline); the
    per-attempt deadline still ends it."""
    [alert] = make_alerts(db, [("KFOR at Jarinje", "high")])
    with DripReceiver(0.05) as receiver:
        notifier = Notifier(Settings(notify_urls=(f"json://127.0.0.1:{receiver.port}/slow",)), db,
                            retry_delays=(0.01,), webhook_timeout=0.2)
        started = time.monotonic()
        notifier.submit(alert)
        deadline = time.monotonic() + 20
        while not events(db, "notify_failed") and time.monotonic() < deadline:
            time.sleep(0.02)
        elapsed = time.monotonic() - started
        notifier.close(timeout=1)
    [event] = events(db, "notify_failed")
    assert "no complete answer within 0.2s after 2 attempts" in event["detail"], event["detail"]
    assert elapsed < 10
    assert receiver.requests == 2


def test_an_unknown_apprise_scheme_is_a_config_error(db: Path) -> None:
    from crisiswatch.errors import ConfigError

    with pytest.raises(ConfigError, match=r"settings.notify_urls\[0\]: Apprise does not understand nosuch://…"):
        Notifier(Settings(notify_urls=("nosuch://secret-token/x",)), db)


def test_webhook_url_alias_maps_to_json_scheme() -> None:
    from crisiswatch.notify import webhook_as_apprise

    assert webhook_as_apprise("https://hooks.example.org/cw?token=a%26b&x=") == \
        "jsons://hooks.example.org/cw?-token=a%26b&-x="
    assert webhook_as_apprise("http://user:pw@127.0.0.1:8080") == "json://user:pw@127.0.0.1:8080/"


def test_queue_overflow_is_one_dropped_event_and_shutdown_abandonment_is_recorded(db: Path,
                                                                                  tmp_path: Path) -> None:
    from crisiswatch.notify import QUEUE_SIZE

    make_alerts(db, [("seed", "high")])
    started_flag = tmp_path / "started"
    hang = f"import pathlib, time; pathlib.Path({str(started_flag)!r}).touch(); time.sleep(60)"
    notifier = Notifier(Settings(notify_command=(sys.executable, "-c", hang)), db, command_timeout=60)

    def alert(n: int) -> dict[str, Any]:
        return {"id": None, "severity": "high", "keywords": ["KFOR"], "feed": "X", "title": f"t{n}", "link": None}

    notifier.submit(alert(0))
    deadline = time.monotonic() + 30
    while not started_flag.exists() and time.monotonic() < deadline:  # the first one is in delivery
        time.sleep(0.02)
    for n in range(1, QUEUE_SIZE + 25):
        notifier.submit(alert(n))
    started = time.monotonic()
    notifier.close(timeout=0.05)  # the queue stays full and the command hangs: nothing can finish in time
    assert time.monotonic() - started < 8
    [dropped] = events(db, "notify_dropped")
    # One in delivery, QUEUE_SIZE waiting; the rest never fit.
    assert dropped["detail"] == f"notify: 24 alerts dropped (queue full, {QUEUE_SIZE} waiting)"
    abandoned = [e["detail"] for e in events(db, "notify_abandoned")]
    assert abandoned == [f"{sys.executable}: killed at shutdown before it finished",
                         f"notify: {QUEUE_SIZE} alerts not delivered before shutdown"], abandoned


NOTIFY_SEND = """\
#!{python}
# A stand-in for notify-send with the same option parser shape (GNU style: options anywhere).
import argparse, json, sys
p = argparse.ArgumentParser(prog="notify-send")
p.add_argument("--version", action="store_true")
p.add_argument("-w", "--wait", action="store_true")
p.add_argument("-a", "--app-name")
p.add_argument("summary")
p.add_argument("body", nargs="?")
args = p.parse_intermixed_args()
if args.version or args.wait:
    print("notify-send 0.8.3")
    sys.exit(0)
with open({out!r}, "a", encoding="utf-8") as fh:
    fh.write(json.dumps([args.app_name, args.summary, args.body]) + "\\n")
"""


def _readme_notify_command() -> list[str]:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    import re
    import tomllib

    lines = [m.group(0) for m in re.finditer(r"(?m)^notify_command\s*=.*$", readme)]
    assert lines, "README shows no notify_command"
    return [tomllib.loads(line.split("#")[0] if "]" in line.split("#")[0] else line)["notify_command"]
            for line in lines]


@pytest.mark.parametrize("title", ["--version", "-w", "--app-name=evil", "-", "--", "-a x"])
def test_a_title_is_never_an_option_of_the_readme_template(db: Path, tmp_path: Path, title: str,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "shown.jsonl"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "notify-send"
    fake.write_text(NOTIFY_SEND.format(python=sys.executable, out=str(out)), encoding="utf-8")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    [alert] = make_alerts(db, [(title, "critical")])
    for template in _readme_notify_command():
        out.unlink(missing_ok=True)
        notifier = Notifier(Settings(notify_command=tuple(template)), db)
        notifier.submit(alert)
        notifier.close(timeout=10)
        [(app, summary, body)] = read_calls(out)
        shown = " ".join(str(v) for v in (summary, body) if v)
        assert title.strip() in shown, (template, shown)
        assert app in (None, "crisiswatch")
    assert events(db, "notify_failed") == []


def test_argv_keeps_the_template_shape() -> None:
    alert = {"id": 1, "severity": "high", "keywords": [], "feed": "", "title": "-w", "link": None}
    argv = build_argv(["notify-send", "{title}", "{link}", "x{title}", "{feed}"], alert)
    assert argv == ["notify-send", " -w", "", "x-w", ""]
