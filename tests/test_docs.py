"""The documentation is held to the code (sqlite-utils' tests/test_docs.py is the model).

Each table in README.md between ``<!-- NAME:start -->`` and ``<!-- NAME:end -->``
is compared with what the program defines; when one of these fails, update
the README (or the code) so the two say the same thing again.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from crisiswatch.store import EVENT_KINDS

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text(encoding="utf-8")

ARROWS = {"up": "↑", "down": "↓"}
"""The README writes the arrow keys as arrows."""


def _section(name: str) -> str:
    match = re.search(rf"<!-- {name}:start -->\n(.*?)<!-- {name}:end -->", README, re.S)
    assert match, f"README.md has no <!-- {name}:start --> … <!-- {name}:end --> section"
    return match.group(1)


def _rows(name: str) -> list[tuple[str, str]]:
    """The (first cell, second cell) of every body row of a README table."""
    rows = []
    for line in _section(name).splitlines()[2:]:
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]
        rows.append((cells[0], cells[1]))
    return rows


def _backticked(cell: str) -> set[str]:
    return set(re.findall(r"`([^`]+)`", cell))


def _keys(bindings: list) -> set[str]:
    from textual.binding import Binding

    keys: set[str] = set()
    for b in bindings:
        if isinstance(b, Binding):
            if b.key_display:
                keys.add(b.key_display)
            else:
                keys.update(ARROWS.get(k, k) for k in b.key.split(","))
    return keys


def test_the_keys_table_lists_every_dashboard_binding_and_nothing_else() -> None:
    from textual.binding import Binding
    from textual.screen import Screen

    from crisiswatch.tui.app import CrisiswatchApp
    from crisiswatch.tui.screens.dashboard import Dashboard
    from crisiswatch.tui.widgets.paged_table import PagedTable

    documented = set().union(*(_backticked(key) for key, _ in _rows("keys")))
    # Every binding, footer or not: those without room in the footer are in help and the palette.
    shown = _keys([b for b in Dashboard.BINDINGS if isinstance(b, Binding)])
    assert shown, "found no bindings to compare"
    missing = shown - documented
    assert not missing, f"README's keys table lacks {sorted(missing)}"
    # Besides the dashboard's own keys, the table may only name the keys of moving around.
    navigation = _keys(PagedTable.BINDINGS) | _keys(Screen.BINDINGS) | {CrisiswatchApp.COMMAND_PALETTE_BINDING}
    unknown = documented - shown - navigation
    assert not unknown, f"README's keys table names {sorted(unknown)}, which no binding has"


def test_the_event_kinds_table_is_event_kinds() -> None:
    documented = {kind.strip("`"): meaning for kind, meaning in _rows("events")}
    assert documented == EVENT_KINDS


def test_the_shipped_feeds_toml_is_the_packaged_default() -> None:
    """``./feeds.toml`` (a clone's config) and the copy a first run installs must not drift apart."""
    shipped = (REPO / "feeds.toml").read_text(encoding="utf-8")
    packaged = (REPO / "crisiswatch" / "default_feeds.toml").read_text(encoding="utf-8")
    assert shipped == packaged, "edit feeds.toml, then copy it to crisiswatch/default_feeds.toml"


def test_the_commands_table_is_the_command_table() -> None:
    from crisiswatch.cli import build_parser

    parser = build_parser()
    commands = [a for a in parser._actions if a.dest == "command"][0].choices
    documented: dict[str, set[str]] = {}
    for cell, _ in _rows("commands"):
        for usage in _backticked(cell):
            words = usage.split(maxsplit=2)
            if words[0] != "crisiswatch" or len(words) < 2:
                continue
            # "crisiswatch feeds list\|add URL\|remove NAME": the first word of each alternative is an action.
            alternatives = words[2].split("\\|") if len(words) > 2 else []
            documented.setdefault(words[1], set()).update(
                alt.split()[0] for alt in alternatives if alt.split() and alt.split()[0].isalpha())
    assert set(documented) == set(commands), "README's commands table and cli.COMMANDS differ"
    for name, sub in commands.items():  # commands with actions list every action
        actions = [a for a in sub._actions if a.dest.endswith("_action")]
        if actions:
            assert documented[name] == set(actions[0].choices), name


def test_the_architecture_names_every_module() -> None:
    """docs/ARCHITECTURE.md is the contract between modules: a new module gets its row."""
    architecture = (REPO / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    package = REPO / "crisiswatch"
    modules = [p.name for p in package.glob("*.py") if p.name != "__init__.py"]
    modules += [p.name + "/" for p in package.iterdir() if (p / "__init__.py").is_file()]
    modules += [p.name for p in (package / "store").glob("*.py") if p.name != "__init__.py"]
    missing = sorted(m for m in modules if f"`{m}`" not in architecture)
    assert len(modules) > 20 and not missing, f"docs/ARCHITECTURE.md does not describe {missing}"


@pytest.mark.parametrize("name", ["keys", "events", "commands"])
def test_the_sections_parse(name: str) -> None:
    """Guard against a comparison passing on an empty table."""
    assert len(_rows(name)) >= 9
