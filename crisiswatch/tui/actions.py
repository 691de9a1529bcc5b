"""Side effects that are not database writes: opening links, choosing export and report paths."""

from __future__ import annotations

import os
import sys
import webbrowser
from datetime import datetime
from pathlib import Path

from ..locations import exports_dir


def default_export_path(now: datetime) -> Path:
    """``<data dir>/exports/events-20261125-120000.csv``: timestamped so exports never overwrite."""
    return exports_dir() / f"events-{now.strftime('%Y%m%d-%H%M%S')}.csv"


def default_report_path(now: datetime) -> Path:
    """``<data dir>/exports/report-20261125-120000.html``: timestamped, beside the event-log exports."""
    return exports_dir() / f"report-{now.strftime('%Y%m%d-%H%M%S')}.html"


def browser_available() -> bool:
    """Can a *graphical* browser open here without taking over this terminal?

    Over ssh, or on Linux without a display, ``webbrowser`` would fall back to
    lynx/w3m in the same terminal as the dashboard (or fail); we copy the link
    instead. ``CRISISWATCH_BROWSER=0/1`` overrides the guess.
    """
    forced = os.environ.get("CRISISWATCH_BROWSER")
    if forced is not None:
        return forced.strip().lower() not in ("", "0", "no", "false")
    if os.environ.get("SSH_CONNECTION") or os.environ.get("SSH_TTY"):
        return False
    if sys.platform.startswith("linux") or "bsd" in sys.platform:
        if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
            return False
    try:
        browser = webbrowser.get()
    except webbrowser.Error:
        return False
    # Console browsers are registered as plain GenericBrowser and would block this terminal.
    return type(browser) is not webbrowser.GenericBrowser


def open_in_browser(url: str) -> bool:
    """Blocking: call from a thread worker."""
    try:
        return bool(webbrowser.open(url, new=2))
    except webbrowser.Error:
        return False


def clipboard_note() -> str | None:
    """Why a copy by OSC 52 may not reach the clipboard here, or None when nothing suggests it won't.

    Inside tmux, OSC 52 from an application only reaches the outer terminal when
    tmux's ``set-clipboard`` option is ``on``; its default, ``external``, drops it.
    """
    if not os.environ.get("TMUX"):
        return None
    setting = _tmux(["show-options", "-gv", "set-clipboard"])
    if setting is not None and setting.strip() == "on":
        return None
    return ("Inside tmux the clipboard copy (OSC 52) only arrives with `set -g set-clipboard on` "
            f"(here: {setting.strip() if setting else 'unknown'}).")


def copy_to_tmux_buffer(text: str) -> bool:
    """Put ``text`` in tmux's paste buffer (fed on stdin: the text is never an argument or a command)."""
    if not os.environ.get("TMUX"):
        return False
    return _tmux(["load-buffer", "-"], stdin=text) is not None


def _tmux(args: list[str], stdin: str | None = None) -> str | None:
    import shutil
    import subprocess

    tmux = shutil.which("tmux")
    if tmux is None:
        return None
    try:
        done = subprocess.run([tmux, *args], input=stdin, capture_output=True, text=True, timeout=2, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None
