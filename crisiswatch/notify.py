"""Notifications for new alerts: a local command and any service Apprise reaches, off the poll path.

The poller must never wait for a notification: ``notify-send`` can hang on a
dead D-Bus and a receiver can be down for hours. So :meth:`Notifier.submit`
only puts the alert on a queue; one daemon thread per channel (the command,
and each Apprise URL) delivers, with its own SQLite connection for recording
what went wrong as events (connections are per thread). A slow service
therefore never delays the desktop notification, nor another service.

Nothing is lost without a record: a failed delivery is a ``notify_failed``
(``webhook_failed`` for the ``webhook_url`` alias) event, alerts dropped because
a queue was full are one ``notify_dropped`` event with the count, and alerts
still queued at shutdown are one ``notify_abandoned`` event per channel. Every
attempt has a total deadline, enforced by us rather than by socket timeouts, so
a receiver that sends one byte every few seconds cannot hold a channel.

Services are Apprise URLs (``json://``, ``ntfy://``, ``tgram://``, ``mailto://``…,
https://github.com/caronc/apprise/wiki): ``settings.notify_urls``. The old
``webhook_url = "https://…"`` is Apprise's ``jsons://`` on the same address.
URLs are secrets: only :func:`crisiswatch.redact.redact_notify_url` forms
(``json://host/…``) appear in events, messages and logs.

Feed titles are hostile text. The command is an argv list run without a shell,
and placeholders are substituted in one pass per argument, so a title such as
``$(rm -rf ~); {link}`` arrives as literal text inside a single argument; a value
that would start an argument with ``-`` gets a leading space, so no title can
become an option (``--version``, ``-w``) of the command.
"""

from __future__ import annotations

import logging
import queue
import re
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

from .config import Settings
from .errors import ConfigError
from .models import SEVERITIES, severity_rank
from .redact import redact_notify_url, redact_text
from .termsafe import one_line
from .units import format_duration

log = logging.getLogger(__name__)

PLACEHOLDERS = ("title", "feed", "link", "severity", "keywords")
_PLACEHOLDER = re.compile(r"\{(" + "|".join(PLACEHOLDERS) + r")\}")
QUEUE_SIZE = 1000
"""Beyond this backlog new alerts are dropped (and the drop is an event): memory stays bounded."""
MAX_LINGERING = 2
"""Attempts past their deadline whose threads still wait on a receiver; beyond this a channel stops trying."""


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(";") if v.strip()]
    return [str(v) for v in value]


def payload(alert: dict[str, Any]) -> dict[str, Any]:
    """The alert's fields for messages and events: a fixed schema, whatever extra columns the store adds.

    Keys: id, time, published, severity, keywords (list), rules (list), feed,
    title, link, state, and ``text`` (one readable line).
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


_NOTIFY_TYPE = {"critical": "failure", "high": "warning", "medium": "info", "low": "info"}


def message(alert: dict[str, Any]) -> tuple[str, str, str]:
    """(title, body, Apprise notify type) of one alert, the same for every service.

    Title ``[HIGH] <headline>``; body: the outlet and keywords, then the rules
    that raised it and the link, each on its own line.
    """
    body = payload(alert)
    sev = str(body["severity"] or "")
    lines = [f"{body['feed']} · {', '.join(body['keywords'])}"]
    if body["rules"]:
        lines.append("rules: " + ", ".join(body["rules"]))
    if body["link"]:
        lines.append(str(body["link"]))
    return f"[{sev.upper()}] {body['title']}", "\n".join(lines), _NOTIFY_TYPE.get(sev, "info")


def _neutral(value: str) -> str:
    """A value that starts an argv element cannot start with ``-``: it gets a leading space."""
    return " " + value if value.startswith("-") else value


def build_argv(template: Sequence[str], alert: dict[str, Any]) -> list[str]:
    """Substitute placeholders in each argv element, in a single pass; the argv keeps the template's shape.

    One pass matters: with chained ``str.replace`` a title containing
    ``{link}`` would be expanded again. Each template element stays exactly one
    argument (an empty value gives an empty argument, never a missing one). A
    value at the start of an element that begins with ``-`` gets a leading
    space, so a title like ``--version`` or ``-w`` is text, never an option,
    whatever the command's parser (GNU getopt even reads options after
    operands). NUL cannot appear in an argument, so it is dropped rather than
    failing the notification.
    """
    body = payload(alert)
    values = {
        "title": str(body["title"]),
        "feed": str(body["feed"] or ""),
        "link": str(body["link"] or ""),
        "severity": str(body["severity"] or ""),
        "keywords": ", ".join(body["keywords"]),
    }

    def substitute(m: re.Match[str]) -> str:
        value = values[m.group(1)].replace("\x00", "")
        return _neutral(value) if m.start() == 0 else value

    return [_PLACEHOLDER.sub(substitute, arg).replace("\x00", "") for arg in template]


def configured(settings: Settings) -> bool:
    """Whether any channel is configured (cheap: Apprise is not imported)."""
    return bool(settings.notify_command or settings.webhook_url or settings.notify_urls)


# -- Apprise targets ---------------------------------------------------------------------------------------------


def webhook_as_apprise(url: str) -> str:
    """``webhook_url`` (an http(s) JSON POST) as the Apprise URL that does the same: ``json(s)://``.

    The address's own query parameters stay query parameters (Apprise's ``-name=value``).
    """
    parts = urlsplit(url.strip())
    scheme = "jsons" if parts.scheme.lower() == "https" else "json"
    query = "&".join(f"-{quote(k, safe='')}={quote(v, safe='')}"
                     for k, v in parse_qsl(parts.query, keep_blank_values=True))
    return f"{scheme}://{parts.netloc}{parts.path or '/'}" + (f"?{query}" if query else "")


@dataclass(frozen=True, slots=True)
class Target:
    """One Apprise URL to deliver to."""

    url: str
    """The Apprise URL: a secret, never shown."""
    shown: str
    """What messages and events call it: ``json://127.0.0.1:8080/…``."""
    failure_kind: str
    """``notify_failed``, or ``webhook_failed`` for the ``webhook_url`` alias."""
    name: str
    """The channel's name: ``webhook``, or ``notify_urls[2]``."""


def targets(settings: Settings) -> list[Target]:
    """Every configured Apprise target; a URL Apprise does not understand is a :class:`ConfigError`."""
    found: list[Target] = []
    if settings.webhook_url:
        url = webhook_as_apprise(settings.webhook_url)
        found.append(Target(url, redact_notify_url(settings.webhook_url), "webhook_failed", "webhook"))
    for i, url in enumerate(settings.notify_urls):
        found.append(Target(url, redact_notify_url(url), "notify_failed", f"notify_urls[{i}]"))
    if found:
        for target in found:
            if _instantiate(target.url) is None:
                raise ConfigError(
                    f"settings.{target.name}: Apprise does not understand {target.shown}\n"
                    "  fix: write a URL from https://github.com/caronc/apprise/wiki, e.g. "
                    "\"json://host/path\", \"ntfy://host/topic\" or \"mailto://user:password@example.org\"")
    return found


def _instantiate(url: str) -> Any:
    import apprise

    _install_log_capture()
    return apprise.Apprise.instantiate(url, suppress_exceptions=True)


class _ThreadLog(logging.Handler):
    """Apprise's log records, kept per delivering thread (they explain a failure), never printed.

    Apprise logs to the ``apprise`` logger; unconfigured, Python would print its
    warnings — with hosts in them — to stderr, over the TUI.
    """

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: dict[int, list[str]] = {}
        self._records_lock = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        with self._records_lock:
            lines = self.records.get(record.thread or 0)
        if lines is not None and len(lines) < 50:
            try:
                lines.append(record.getMessage())
            except Exception:  # a malformed record must not fail the delivery
                pass

    def start(self) -> list[str]:
        lines: list[str] = []
        with self._records_lock:
            self.records[threading.get_ident()] = lines
        return lines

    def stop(self) -> None:
        with self._records_lock:
            self.records.pop(threading.get_ident(), None)


_CAPTURE: _ThreadLog | None = None
_CAPTURE_LOCK = threading.Lock()


def _install_log_capture() -> _ThreadLog:
    global _CAPTURE
    with _CAPTURE_LOCK:
        if _CAPTURE is None:
            _CAPTURE = _ThreadLog()
            logger = logging.getLogger("apprise")
            logger.addHandler(_CAPTURE)
            logger.setLevel(logging.DEBUG)
            logger.propagate = False
        return _CAPTURE


_STATUS = re.compile(r"error=(\d{3})\b")


def _reason(lines: list[str]) -> tuple[str, bool]:
    """(why an attempt failed, whether retrying may help) from Apprise's log lines."""
    text = "\n".join(lines)
    m = _STATUS.search(text)
    if m:
        code = int(m.group(1))
        if 400 <= code < 500 and code not in (408, 429):
            return f"HTTP {code} (not retried)", False
        return f"HTTP {code}", True
    low = text.lower()
    if "refused" in low:
        return "connection refused", True
    if "timed out" in low or "timeout" in low:
        return "timed out", True
    if "name or service not known" in low or "nodename nor servname" in low or "resolve" in low:
        return "cannot resolve the host", True
    if "ssl" in low or "certificate" in low:
        return "TLS error", True
    if "connection" in low or "socket" in low:
        return "cannot connect", True
    last = next((ln for ln in reversed(lines) if ln.strip()), "")
    return (one_line(redact_text(last))[:160] or "the service reported a failure"), True


# -- channels ----------------------------------------------------------------------------------------------------


class _Channel:
    """A queue and the daemon thread that drains it."""

    def __init__(self, name: str, deliver: Callable[[_Channel, dict[str, Any]], None],
                 on_exit: Callable[[_Channel, int], None], abort: threading.Event) -> None:
        self.name = name
        self.deliver = deliver
        self.on_exit = on_exit
        self.abort = abort
        self.queue: queue.Queue[dict[str, Any] | None] = queue.Queue(maxsize=QUEUE_SIZE)
        self.lock = threading.Lock()
        self.dropped = 0
        self.lingering = 0
        """Attempt threads abandoned at their deadline that have not finished yet."""
        self.thread = threading.Thread(target=self._run, name=f"crisiswatch-{name}", daemon=True)
        self.thread.start()

    def put(self, alert: dict[str, Any]) -> None:
        try:
            self.queue.put_nowait(alert)
        except queue.Full:
            with self.lock:
                self.dropped += 1

    def take_dropped(self) -> int:
        with self.lock:
            dropped, self.dropped = self.dropped, 0
        return dropped

    def _run(self) -> None:
        abandoned = 0
        while True:
            try:
                # Once aborted, drain what is left without delivering and stop when
                # empty, even if the shutdown sentinel never fit in the queue (close
                # sets the abort only after trying to put it: nothing more is coming).
                alert = self.queue.get_nowait() if self.abort.is_set() else self.queue.get()
            except queue.Empty:
                break
            if alert is None:
                break
            if self.abort.is_set():
                abandoned += 1
                continue
            try:
                self.deliver(self, alert)
            except Exception:  # a bug in one delivery must not kill the channel
                log.exception("%s: delivery failed", self.name)
        self.on_exit(self, abandoned)


class Notifier:
    """Delivers alerts at or above ``settings.notify_min_severity`` to the command and every Apprise URL.

    ``retry_delays`` are the waits between Apprise attempts (so there are
    ``len(retry_delays) + 1`` attempts); ``webhook_timeout`` is each attempt's
    total deadline; tests pass tiny ones.
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
        self._channels: list[_Channel] = []
        self._targets: dict[str, Target] = {}
        found = targets(settings)  # before any thread starts: a bad URL is a config error
        if settings.notify_command:
            self._channels.append(_Channel("notify", self._run_command, self._thread_exit, self._abort))
        for target in found:
            self._targets[target.name] = target
            self._channels.append(_Channel(target.name, self._send_apprise, self._thread_exit, self._abort))

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
        """Deliver what is queued within ``timeout`` seconds, then give up on the rest (recorded as events).

        Retries waiting on backoff and attempts in flight are cut short once the
        deadline passes; each channel records how many alerts it abandoned.
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
                channel.thread.join(2.0)

    def _thread_exit(self, channel: _Channel, abandoned: int) -> None:
        """Record what this channel could not deliver, then close what its thread opened."""
        dropped = channel.take_dropped()
        if dropped:
            self._record("notify_dropped", None, f"{channel.name}: {dropped} alerts dropped (queue full, "
                         f"{QUEUE_SIZE} waiting)")
        if abandoned:
            self._record("notify_abandoned", None,
                         f"{channel.name}: {abandoned} alerts not delivered before shutdown")
        store = getattr(self._local, "store", None)
        if store is not None:
            try:
                store.close()
            except Exception:  # closing at shutdown is best effort
                pass

    def __enter__(self) -> Notifier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- events -----------------------------------------------------------------------------------------------------
    def _record(self, kind: str, alert: dict[str, Any] | None, detail: str) -> None:
        """Write one event from the calling channel's thread (its own connection). Never raises."""
        detail = one_line(redact_text(detail))
        log.debug("%s: %s", kind, detail)
        try:
            store = getattr(self._local, "store", None)
            if store is None:
                from .store import Store

                store = Store.open(self.db_path)
                self._local.store = store
            if alert is None:
                store.add_event(kind, detail=detail)
                return
            from .store.lists import join

            body = payload(alert)
            fields = {"detail": detail, "title": body["title"], "link": body["link"],
                      "keywords": join(body["keywords"])}
            try:
                store.add_event(kind, alert_id=body["id"], feed_id=alert.get("feed_id"), **fields)
            except Exception:
                # The alert (or feed) may be gone from the database, or the
                # caller passed a hand-made dict: keep the event, drop the links.
                store.add_event(kind, **fields)
        except Exception:  # recording a failure must not fail the channel
            log.exception("could not record %s event", kind)

    def _after(self, channel: _Channel) -> None:
        dropped = channel.take_dropped()
        if dropped:
            self._record("notify_dropped", None, f"{channel.name}: {dropped} alerts dropped (queue full, "
                         f"{QUEUE_SIZE} waiting)")

    # -- the command ------------------------------------------------------------------------------------------------
    def _run_command(self, channel: _Channel, alert: dict[str, Any]) -> None:
        try:
            self._run_command_once(channel, alert)
        finally:
            self._after(channel)

    def _run_command_once(self, channel: _Channel, alert: dict[str, Any]) -> None:
        argv = build_argv(self.settings.notify_command, alert)
        name = one_line(argv[0] if argv else "?")
        try:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE, start_new_session=True)
        except FileNotFoundError:
            self._record("notify_failed", alert, f"{name}: command not found")
            return
        except OSError as exc:
            self._record("notify_failed", alert, f"{name}: cannot run: {exc.strerror or exc}")
            return
        deadline = time.monotonic() + self.command_timeout
        stderr = b""
        try:
            while True:
                try:
                    _, stderr = proc.communicate(timeout=min(0.05, max(0.01, deadline - time.monotonic())))
                    break
                except subprocess.TimeoutExpired:
                    if self._abort.is_set():
                        proc.kill()
                        proc.communicate()
                        self._record("notify_abandoned", alert, f"{name}: killed at shutdown before it finished")
                        return
                    if time.monotonic() >= deadline:
                        proc.kill()
                        proc.communicate()
                        self._record("notify_failed", alert,
                                     f"{name}: timed out after {format_duration(self.command_timeout)} (killed)")
                        return
        finally:
            if proc.poll() is None:
                proc.kill()
        if proc.returncode != 0:
            err = (stderr or b"").decode("utf-8", "replace").strip().splitlines()
            tail = f": {err[-1][:200]}" if err else ""
            self._record("notify_failed", alert, f"{name}: exit code {proc.returncode}{tail}")

    # -- Apprise ----------------------------------------------------------------------------------------------------
    def _send_apprise(self, channel: _Channel, alert: dict[str, Any]) -> None:
        try:
            self._send_apprise_once(channel, alert)
        finally:
            self._after(channel)

    def _send_apprise_once(self, channel: _Channel, alert: dict[str, Any]) -> None:
        target = self._targets[channel.name]
        title, body, notify_type = message(alert)
        attempts = len(self.retry_delays) + 1
        reason = "not attempted"
        for attempt in range(attempts):
            if attempt and self._abort.wait(self.retry_delays[attempt - 1]):
                reason += " (gave up at shutdown)"
                attempts = attempt
                break
            ok, reason, retry = self._attempt(channel, target, title, body, notify_type)
            if ok:
                return
            if not retry:
                attempts = attempt + 1
                break
        plural = "s" if attempts != 1 else ""
        self._record(target.failure_kind, alert, f"{target.shown}: {reason} after {attempts} attempt{plural}")

    def _attempt(self, channel: _Channel, target: Target, title: str, body: str,
                 notify_type: str) -> tuple[bool, str, bool]:
        """One delivery in a helper thread, waited for at most ``webhook_timeout`` seconds in total.

        Socket timeouts bound each read, not the whole answer: a receiver that
        sends a byte every few seconds would hold a plain ``notify()`` forever.
        Past the deadline the helper thread is left to finish on its own (a
        daemon, counted in ``channel.lingering``), and the channel moves on.
        """
        with channel.lock:
            if channel.lingering >= MAX_LINGERING:
                return False, f"the service still holds {channel.lingering} earlier deliveries open", True
        done = threading.Event()
        result: dict[str, Any] = {}
        timeout = self.webhook_timeout

        def run() -> None:
            capture = _install_log_capture()
            lines = capture.start()
            try:
                plugin = _instantiate(target.url)
                if plugin is None:
                    result["reason"] = "Apprise does not understand this URL"
                    return
                for attr, param in (("socket_connect_timeout", "cto="), ("socket_read_timeout", "rto=")):
                    # A URL's own ?cto=/?rto= wins; otherwise no single read may outlast the deadline.
                    if param not in target.url:
                        setattr(plugin, attr, min(float(getattr(plugin, attr, timeout) or timeout), timeout))
                result["ok"] = bool(plugin.notify(body=body, title=title, notify_type=notify_type))
            except Exception as exc:  # a plugin bug is a failed delivery, not a dead channel
                lines.append(f"{type(exc).__name__}: {exc}")
            finally:
                capture.stop()
                result["lines"] = lines
                done.set()
                with channel.lock:
                    if result.get("late"):
                        channel.lingering -= 1

        threading.Thread(target=run, name=f"crisiswatch-{channel.name}-send", daemon=True).start()
        deadline = time.monotonic() + timeout
        while not done.wait(min(0.1, max(0.0, deadline - time.monotonic()))):
            if self._abort.is_set() or time.monotonic() >= deadline:
                with channel.lock:
                    if not done.is_set():
                        result["late"] = True
                        channel.lingering += 1
                if done.is_set():
                    break
                if self._abort.is_set():
                    return False, "no answer yet (gave up at shutdown)", False
                return False, f"no complete answer within {format_duration(timeout)}", True
        if result.get("ok"):
            return True, "", False
        if "reason" in result:
            return False, str(result["reason"]), False
        reason, retry = _reason(result.get("lines", []))
        return False, reason, retry


__all__ = ["PLACEHOLDERS", "QUEUE_SIZE", "Notifier", "Target", "build_argv", "configured", "message", "payload",
           "targets",
           "webhook_as_apprise"]
