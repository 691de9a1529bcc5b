"""The key bar: Textual's Footer, recomposed only when what it shows changes.

Textual's Footer rebuilds all its key widgets whenever focus moves, even
between two panes with the same visible keys (tab between alerts and
headlines). That rebuild restyles dozens of widgets — tens of milliseconds,
more on a loaded machine — on a key the user expects to be instant.
"""

from __future__ import annotations

from collections.abc import Hashable

from textual.screen import Screen
from textual.widgets import Footer


class KeysFooter(Footer):
    def __init__(self) -> None:
        super().__init__()
        self._shown: Hashable = None

    def _signature(self, screen: Screen) -> Hashable:
        return tuple(
            (binding.key, binding.action, binding.description, binding.key_display, enabled)
            for (_, binding, enabled, _tooltip) in screen.active_bindings.values()
            if binding.show
        )

    def bindings_changed(self, screen: Screen) -> None:
        signature = self._signature(screen)
        if signature == self._shown and self._bindings_ready:
            return
        self._shown = signature
        super().bindings_changed(screen)
