"""How quickly the dashboard reacts: every latency it chooses, in one place.

The dashboard waits on purpose in a few spots: it looks at the store for other
writers every ``watch`` seconds, repaints at most every ``reload_gap`` during a
poll, lets the detail pane follow the cursor only once it rests, and batches
toasts. Each delay trades responsiveness for calm on a screen that may take
thousands of arrivals a day. The defaults below are the product's; they live in
one frozen object (rather than module constants read from four files) so that a
test can hand the app a quicker pace and prove the same behaviour without
sitting out the product's intervals, and so a reader sees every latency at once.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Pace:
    watch: float = 0.4
    """Seconds between looks at the store, for what another process (``poll``, a second window) wrote."""
    reload_gap: float = 0.6
    """During a poll the store changes on every look; the panes repaint at most this often."""
    reload_max_delay: float = 0.6
    """…and a pending reload never waits longer than this (new alerts show within about a second)."""
    reload_retry: float = 0.15
    """How soon a held-back reload asks again."""
    key_quiet: float = 0.3
    """Seconds without a key press before a live reload repaints the tables."""
    toast_gap: float = 5.0
    """At most one batch of new-alert toasts this often."""
    detail_delay: float = 0.12
    """The detail pane follows the cursor once it rests this long (not on every row flown past)."""
    search_delay: float = 0.25
    """Typing in the search box runs the search once the keys pause this long."""
    health_reload: float = 2.0
    """The feed-health screen re-reads its rows at most this often while a poll writes."""
    health_tick: float = 1.0
    """…and redraws them this often, so "2s ago" and "(in 6s)" move with the clock."""
    age_tick: float = 30.0
    """How often ages ("3m") move on and new-alert tints fade."""


DEFAULT_PACE = Pace()
