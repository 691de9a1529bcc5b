"""Desktop notifications and webhooks for new alerts, off the poll path.

The poller must never wait for a notification: ``notify-send`` can hang on a
dead D-Bus and a webhook receiver can be down for hours. So :meth:`Notifier.submit`
only puts the alert on a queue; one daemon thread per channel (command,
webhook) delivers, with its own SQLite connection for logging failures as
events (connections are per thread). A slow webhook therefore never delays the
desktop notification either.

Feed titles are hostile text. The command is an argv list run without a shell,
and placeholders are substituted in one pass per argument, so a title such as
``$(rm -rf ~); {link}`` arrives as literal text inside a single argument.
"""

from __future__ import annotations

import json
import logging
import queue
import re
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .config import Settings
from .models import SEVERITIES, severity_rank

log = logging.getLogger(__name__)

PLACEHOLDERS = ("title", "feed", "link", "severity", "keywords")
_PLACEHOLDER = re.compile(r"\{(" + "|".join(PLACEHOLDERS) + r")\}")
QUEUE_SIZE = 1000
"""Beyond this backlog new alerts are dropped (and the drop is logged): memory stays bounded."""


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(";") if v.strip()]
    return [str(v) for v in value]


def payload(alert: dict[str, Any]) -> dict[str, Any]:
    """The webhook's JSON body: a fixed schema, whatever extra columns the store adds.

    Keys: id, time, published, severity, keywords (list), rules (list), feed,
    title, link, state, and ``text`` (one readable line, so Slack/Mattermost
    incoming webhooks show something without a template).
    """
    keywords = _as_list(alert.get("keywords_list", alert.get("keywords")))
    body: dict[str, Any] = {
        "id": alert.get("id"),
        "time": alert.get("time") or alert.get("created"),
        "published": alert.get("published"),
        "severity": alert.get("severity"),
        "keywords": keywords,
        "rules": _as_list(alert.get("rules")),
        "feed": alert.get("feed"),
        "title": alert.get("title") or "",
        "link": alert.get("link"),
        "state": alert.get("state") or "new",
    }
    sev = str(body["severity"] or "").upper()
    kw = ", ".join(keywords)
    body["text"] = f"[{sev}] {body['title']} ({body['feed']}; {kw})" + (f" {body['link']}" if body["link"] else "")
    return body


def build_argv(template: Sequence[str], alert: dict[str, Any]) -> list[str]:
    """Substitute placeholders in each argv element, in a single pass.

    One pass matters: with chained ``str.replace`` a title containing
    ``{link}`` would be expanded again. NUL cannot appear in an argument, so
    it is dropped rather than failing the notification.
    """
    body = payload(alert)
    values = {
        "title": str(body["title"]),
        "feed": str(body["feed"] or ""),
        "link": str(body["link"] or ""),
        "severity": str(body["severity"] or ""),
        "keywords": ", ".join(body["keywords"]),
    }
    return [_PLACEHOLDER.sub(lambda m: values[m.group(1)], arg).replace("\x00", "") for arg in template]


class _Channel:
    """A queue and the daemon thread that drains it."""

    def __init__(self, name: str, deliver: Callable[[dict[str, Any]], None], on_exit: Callable[[], None],
                 abort: threading.Event) -> None:
        self.name = name
        self.deliver = deliver
        self.on_exit = on_exit
        self.abort = abort
        self.queue: queue.Queue[dict[str, Any] | None] = queue.Queue(maxsize=QUEUE_SIZE)
        self.dropped = 0
        self.thread = threading.Thread(target=self._run, name=f"crisiswatch-{name}", daemon=True)
        self.thread.start()

    def put(self, alert: dict[str, Any]) -> None:
        try:
            self.queue.put_nowait(alert)
        except queue.Full:
            self.dropped += 1

    def _run(self) -> None:
        abandoned = 0
        while True:
            try:
                # Once aborted, drain what is left without delivering and stop
                # when empty, even if the shutdown sentinel never fit in the queue.
                alert = self.queue.get(timeout=0.2 if self.abort.is_set() else None)
            except queue.Empty:
                break
            if alert is None:
                break
            if self.abort.is_set():
                abandoned += 1
                continue
            try:
                self.deliver(alert)
            except Exception:  # a bug in one delivery must not kill the channel
                log.exception("%s: delivery failed", self.name)
        if abandoned:
            log.warning("%s: %d alerts not delivered before shutdown", self.name, abandoned)
        self.on_exit()


class Notifier:
    """Delivers alerts at or above ``settings.notify_min_severity`` to the command and the webhook.

    ``retry_delays`` are the waits between webhook attempts (so there are
    ``len(retry_delays) + 1`` attempts); tests pass tiny ones.
    """

    def __init__(
        self,
        settings: Settings,
        db_path: Path,
        *,
        retry_delays: Sequence[float] = (1.0, 2.0, 4.0),
        command_timeout: float = 10.0,
        webhook_timeout: float = 10.0,
    ) -> None:
        self.settings = settings
        self.db_path = db_path
        self.retry_delays = tuple(retry_delays)
        self.command_timeout = command_timeout
        self.webhook_timeout = webhook_timeout
        self.min_rank = severity_rank(settings.notify_min_severity if settings.notify_min_severity in SEVERITIES
                                      else "high")
        self._abort = threading.Event()
        self._local = threading.local()
        self._closed = False
        self._command: _Channel | None = None
        self._webhook: _Channel | None = None
        if settings.notify_command:
            self._command = _Channel("notify", self._run_command, self._thread_exit, self._abort)
        if settings.webhook_url:
            self._webhook = _Channel("webhook", self._post_webhook, self._thread_exit, self._abort)
        self._channels = [c for c in (self._command, self._webhook) if c is not None]

    @property
    def active(self) -> bool:
        """False when nothing is configured, so callers can skip building alert dicts."""
        return bool(self._channels)

    def wants(self, alert: dict[str, Any]) -> bool:
        severity = alert.get("severity")
        return severity in SEVERITIES and severity_rank(severity) >= self.min_rank

    def submit(self, alert: dict[str, Any]) -> None:
        """Queue ``alert`` for delivery and return at once; never raises, never blocks."""
        if self._closed or not self._channels or not self.wants(alert):
            return
        snapshot = dict(alert)
        for channel in self._channels:
            channel.put(snapshot)

    def close(self, timeout: float = 5.0) -> None:
        """Deliver what is queued within ``timeout`` seconds, then give up on the rest.

        Retries waiting on backoff are cut short once the deadline passes; the
        threads are daemons, so an undelivered remainder never holds the process.
        """
        if self._closed:
            return
        self._closed = True
        deadline = time.monotonic() + timeout
        for channel in self._channels:
            try:
                channel.queue.put(None, timeout=max(0.001, deadline - time.monotonic()))
            except queue.Full:
                pass  # the abort below stops the thread instead
        for channel in self._channels:
            channel.thread.join(max(0.0, deadline - time.monotonic()))
        if any(c.thread.is_alive() for c in self._channels):
            self._abort.set()
            for channel in self._channels:
                channel.thread.join(1.0)

    def _thread_exit(self) -> None:
        """Close what this channel's thread opened (its SQLite connection, its HTTP client)."""
        for name in ("store", "client"):
            resource = getattr(self._local, name, None)
            if resource is not None:
                try:
                    resource.close()
                except Exception:  # closing at shutdown is best effort
                    pass

    def __enter__(self) -> Notifier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- failure log ------------------------------------------------------------
    def _event(self, kind: str, alert: dict[str, Any], detail: str, channel: _Channel | None = None) -> None:
        """Record a failure in the events table, from the calling channel's thread."""
        if channel is not None and channel.dropped:
            detail += f"; {channel.dropped} more alerts dropped (queue full)"
            channel.dropped = 0
        log.warning("%s: %s: %s", kind, alert.get("title"), detail)
        try:
            store = getattr(self._local, "store", None)
            if store is None:
                from .store import Store

                store = Store.open(self.db_path)
                self._local.store = store
            body = payload(alert)
            fields = {"detail": detail, "title": body["title"], "link": body["link"],
                      "keywords": "; ".join(body["keywords"])}
            try:
                store.add_event(kind, alert_id=body["id"], feed_id=alert.get("feed_id"), **fields)
            except Exception:
                # The alert (or feed) may be gone from the database, or the
                # caller passed a hand-made dict: keep the event, drop the links.
                store.add_event(kind, **fields)
        except Exception:  # logging a failure must not fail the channel
            log.exception("could not record %s event", kind)

    # -- channels ---------------------------------------------------------------
    def _run_command(self, alert: dict[str, Any]) -> None:
        channel = self._command
        argv = build_argv(self.settings.notify_command, alert)
        name = argv[0] if argv else "?"
        try:
            proc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, timeout=self.command_timeout, check=False)
        except subprocess.TimeoutExpired:
            self._event("notify_failed", alert, f"{name}: timed out after {self.command_timeout:g}s (killed)",
                        channel)
            return
        except FileNotFoundError:
            self._event("notify_failed", alert, f"{name}: command not found", channel)
            return
        except OSError as exc:
            self._event("notify_failed", alert, f"{name}: cannot run: {exc.strerror or exc}", channel)
            return
        if proc.returncode != 0:
            err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
            tail = f": {err[-1][:200]}" if err else ""
            self._event("notify_failed", alert, f"{name}: exit code {proc.returncode}{tail}", channel)

    def _post_webhook(self, alert: dict[str, Any]) -> None:
        import httpx

        channel = self._webhook
        url = self.settings.webhook_url or ""
        body = json.dumps(payload(alert), ensure_ascii=False, default=str).encode("utf-8")
        headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": self.settings.user_agent}
        attempts = len(self.retry_delays) + 1
        reason = "not attempted"
        client = getattr(self._local, "client", None)
        if client is None:
            client = httpx.Client(timeout=self.webhook_timeout, follow_redirects=False)
            self._local.client = client
        for attempt in range(attempts):
            if attempt:
                if self._abort.wait(self.retry_delays[attempt - 1]):
                    reason += " (gave up at shutdown)"
                    attempts = attempt
                    break
            try:
                resp = client.post(url, content=body, headers=headers)
            except httpx.TimeoutException:
                reason = f"timed out after {self.webhook_timeout:g}s"
                continue
            except httpx.ConnectError as exc:
                reason = "connection refused" if "refused" in str(exc).lower() else f"cannot connect: {exc}"
                continue
            except httpx.HTTPError as exc:
                reason = str(exc) or type(exc).__name__
                continue
            if resp.status_code < 300:
                return
            reason = f"HTTP {resp.status_code}"
            if resp.status_code < 500 and resp.status_code not in (408, 429):
                attempts = attempt + 1
                reason += " (not retried)"
                break
        plural = "s" if attempts != 1 else ""
        self._event("webhook_failed", alert, f"{url}: {reason} after {attempts} attempt{plural}", channel)
