"""The event log: the stable event kinds and how an event is written."""

from __future__ import annotations

from datetime import datetime

from ..models import iso, utcnow
from ..redact import redact_text
from .connection import Connection

EVENT_KINDS: dict[str, str] = {
    "poll_started": "a poll cycle began (detail: how many feeds are due)",
    "poll_finished": "a poll cycle ended (detail: the summary line)",
    "alert_new": "an item named a keyword and raised a new alert",
    "alert_grouped": "another outlet carried a story that already has an alert",
    "surge": "a story or keyword is breaking: several outlets within the window, or mentions far above baseline",
    "fetch_error": "a feed could not be fetched or parsed (detail: status, timeout, size cap, parse error…)",
    "feed_gone": "the server answered 410 Gone; the feed is not polled again until re-enabled",
    "feed_moved": "a permanent redirect (301/308) changed the feed's stored URL",
    "feed_recovered": "a feed that was failing fetched successfully again",
    "feed_reenabled": "the user re-enabled a feed that was gone",
    "alert_pinned": "the user pinned an alert",
    "alert_unpinned": "the user unpinned an alert",
    "alert_dismissed": "the user dismissed an alert",
    "alert_restored": "the user restored a dismissed alert",
    "export": "the user exported data (detail: what and where)",
    "notify_failed": "a notification (the notify command or a notify_urls service) failed (detail: where, why)",
    "notify_dropped": "notifications were dropped because the queue was full (detail: how many, which channel)",
    "notify_abandoned": "notifications still queued at shutdown were not delivered (detail: how many)",
    "webhook_failed": "the webhook_url could not be delivered after retries (detail: why)",
    "caught_up": "the user marked every alert seen (C in the dashboard; detail: how many)",
}
"""The stable event kinds, documented in the README."""


class Events(Connection):
    """Writing to the ``events`` table, inside a caller's transaction or in one of its own."""

    def _event(self, kind: str, *, now: datetime | None = None, feed_id: int | None = None,
               feed: str | None = None, alert_id: int | None = None, item_id: int | None = None,
               title: str | None = None, link: str | None = None, keywords: str | None = None,
               detail: str = "") -> int:
        if feed is None and feed_id is not None:
            row = self.conn.execute("SELECT name FROM feeds WHERE id = ?", (feed_id,)).fetchone()
            feed = row[0] if row else None
        # The one place events are written: a URL's password or token in a detail (a redirect
        # target, an error message naming the URL) never reaches the log, the TUI or an export.
        detail = redact_text(detail)
        cur = self.conn.execute(
            "INSERT INTO events (time, kind, feed_id, feed, alert_id, item_id, title, link, keywords, detail) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (iso(now or utcnow()), kind, feed_id, feed, alert_id, item_id, title, link, keywords, detail),
        )
        return int(cur.lastrowid or 0)

    def add_event(self, kind: str, *, detail: str = "", feed_id: int | None = None, alert_id: int | None = None,
                  title: str | None = None, link: str | None = None, keywords: str | None = None,
                  now: datetime | None = None) -> int:
        """Record an event in its own transaction (committed when this returns)."""
        if alert_id is not None and (title is None or keywords is None):
            row = self._one("SELECT title, link, keywords FROM alerts WHERE id = ?", (alert_id,))
            if row:
                title = title if title is not None else row["title"]
                link = link if link is not None else row["link"]
                keywords = keywords if keywords is not None else row["keywords"]
        with self.write():
            return self._event(kind, now=now, feed_id=feed_id, alert_id=alert_id, title=title, link=link,
                               keywords=keywords, detail=detail)


__all__ = ["EVENT_KINDS", "Events"]
