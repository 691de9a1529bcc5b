"""The themes the dashboard offers (command palette → "Theme: …"), and the one it starts in.

Every Textual built-in with colours of its own. The two ``ansi-*`` themes are
left out: they paint with the terminal's own palette, whose colours (and so
whose contrast) nobody can know or check. The contrast test renders the
dashboard in each of these.
"""

from __future__ import annotations

DEFAULT_THEME = "textual-dark"

OFFERED_THEMES: tuple[str, ...] = (
    "textual-dark", "textual-light", "nord", "gruvbox", "catppuccin-mocha", "catppuccin-latte",
    "catppuccin-frappe", "catppuccin-macchiato", "dracula", "tokyo-night", "monokai", "flexoki",
    "solarized-light", "solarized-dark", "rose-pine", "rose-pine-moon", "rose-pine-dawn",
    "atom-one-dark", "atom-one-light",
)
