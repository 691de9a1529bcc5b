"""What the screens need from the running app, handed to them instead of the app itself.

Screens read the database through ``db`` and the clock through ``clock``; for
everything that acts (polling, exporting, opening a link, pushing another
screen) they post a message from :mod:`.messages` that the app handles. So no
screen imports the app module, and a screen can be built around any context.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, tzinfo

from ..config import Settings
from .format import Highlighter
from .pace import DEFAULT_PACE, Pace
from .reader import Database


@dataclass
class UIContext:
    db: Database
    clock: Callable[[], datetime]
    tz: tzinfo | None
    """Times show in local time (None); under a test clock, in the clock's own zone."""
    highlighter: Highlighter
    settings: Settings
    fixed_clock: bool = False
    """A test clock: nothing ticks on its own (ages, the header clock), so screens are deterministic."""
    polling: bool = True
    last_key: float = 0.0
    """``time.monotonic()`` of the last key press, kept by the app: live reloads wait for typing to pause."""
    pace: Pace = DEFAULT_PACE
    """Every latency the screens choose (reload gaps, debounces); tests pass a quicker one."""
