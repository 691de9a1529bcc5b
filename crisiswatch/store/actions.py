"""The user's actions: pin, unpin, dismiss, restore, seen / catch up, re-enable a gone feed, the remembered theme."""

from __future__ import annotations

from datetime import datetime

from ..models import iso, utcnow
from .events import Events
from .queries import Queries
from .schema import ALERT_STATES


class Actions(Queries, Events):
    """State changes the user asks for, each in its own transaction with the event that records it."""

    def set_alert_state(self, alert_id: int, state: str, *, now: datetime | None = None) -> str | None:
        """Change an alert's state and log the matching event; returns the previous state."""
        if state not in ALERT_STATES:
            raise ValueError(f"unknown alert state {state!r}")
        now = now or utcnow()
        with self.write() as conn:
            row = conn.execute("SELECT state, title, link, keywords FROM alerts WHERE id = ?", (alert_id,)).fetchone()
            if row is None:
                return None
            before = row["state"]
            if before == state:
                return before
            conn.execute("UPDATE alerts SET state = ?, state_changed = ?, seen_at = coalesce(seen_at, ?) WHERE id = ?",
                         (state, iso(now), iso(now), alert_id))
            kind = {
                ("pinned", "new"): "alert_unpinned",
                ("dismissed", "new"): "alert_restored",
                ("dismissed", "pinned"): "alert_restored",
            }.get((before, state), f"alert_{state}")
            self._event(kind, now=now, alert_id=alert_id, title=row["title"], link=row["link"],
                        keywords=row["keywords"], detail=f"{before} -> {state}")
        return before

    def toggle_pin(self, alert_id: int) -> str | None:
        row = self._one("SELECT state FROM alerts WHERE id = ?", (alert_id,))
        if row is None:
            return None
        target = "new" if row["state"] == "pinned" else "pinned"
        self.set_alert_state(alert_id, target)
        return target

    def dismiss(self, alert_id: int) -> None:
        self.set_alert_state(alert_id, "dismissed")

    def restore_last_dismissed(self) -> int | None:
        """Undo the most recent dismissal; repeated calls walk further back."""
        row = self._one(
            "SELECT a.id FROM events e JOIN alerts a ON a.id = e.alert_id WHERE e.kind = 'alert_dismissed' "
            "AND a.state = 'dismissed' ORDER BY e.id DESC LIMIT 1")
        if row is None:
            return None
        self.set_alert_state(row["id"], "new")
        return int(row["id"])

    # -- seen state ---------------------------------------------------------
    # An alert is *seen* once the user opened, pinned or dismissed it or moved the cursor
    # onto it; ``seen_at`` stays NULL until then, so what arrived while nobody looked stays
    # unseen. Seeing one alert is not an event (it happens on every key press); catching
    # up on all of them is (``caught_up``).
    def mark_seen(self, alert_id: int, *, now: datetime | None = None) -> bool:
        """Mark one alert seen; False when it was already seen (or does not exist)."""
        with self.write() as conn:
            cur = conn.execute("UPDATE alerts SET seen_at = ? WHERE id = ? AND seen_at IS NULL",
                               (iso(now or utcnow()), alert_id))
            return cur.rowcount == 1

    def catch_up(self, *, now: datetime | None = None) -> int:
        """Mark every alert seen; logs one ``caught_up`` event (none when nothing was unseen)."""
        now = now or utcnow()
        with self.write() as conn:
            count = conn.execute("UPDATE alerts SET seen_at = ? WHERE seen_at IS NULL", (iso(now),)).rowcount
            if count:
                self._event("caught_up", now=now, detail=f"{count} alert{'s' if count != 1 else ''} marked seen")
        return int(count)

    def ui_state(self, key: str) -> str | None:
        """A remembered dashboard setting (the theme), or None."""
        row = self.conn.execute("SELECT value FROM ui_state WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_ui_state(self, key: str, value: str) -> None:
        with self.write() as conn:
            conn.execute("INSERT INTO ui_state (key, value) VALUES (?, ?) "
                         "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, value))

    def reenable_feed(self, name: str) -> bool:
        """Clear 'gone' and backoff so the feed is polled at the next cycle.

        A Retry-After the server sent stays: that is the server's explicit
        wish, and it ends on its own (at most a day).
        """
        with self.write() as conn:
            row = conn.execute("SELECT id FROM feeds WHERE name = ?", (name,)).fetchone()
            if row is None:
                return False
            conn.execute("UPDATE feeds SET gone = 0, failures = 0, next_poll = NULL WHERE id = ?", (row["id"],))
            conn.execute("UPDATE feeds SET hold_until = NULL, hold_kind = NULL, hold_reason = NULL "
                         "WHERE id = ? AND coalesce(hold_kind, '') != 'retry-after'", (row["id"],))
            self._event("feed_reenabled", feed_id=row["id"], detail="re-enabled by the user")
        return True


__all__ = ["Actions"]
