"""Edits to feeds.toml that leave every byte outside the change as the user wrote it.

feeds.toml is hand-written and commented ("# BIRN, regional, English"), so a
re-dump is not acceptable. tomlkit alone is not enough either: it attaches a
comment above a table to the *previous* table, so deleting a feed with tomlkit
deletes its neighbour's comment and keeps its own. Instead this module finds
the table blocks with a small TOML-aware line scanner, splices text in or out,
renders new values with tomlkit (correct escaping), and then proves the edit
did exactly what was asked by comparing the parsed arrays before and after.
Every result also goes through :func:`config.parse_config` before it is
written, atomically, so a failed edit never leaves a broken file behind.
"""

from __future__ import annotations

import os
import re
import tempfile
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import Config, parse_config
from .errors import ConfigError, EditError

_HEADER = re.compile(r"^\s*(\[\[?)\s*(.*?)\s*(\]\]?)\s*(#.*)?$")


@dataclass(frozen=True, slots=True)
class _Line:
    kind: str
    """blank | comment | header | value (a key line or the continuation of a multi-line value)."""
    table: str | None = None
    """For headers: the dotted name, e.g. ``feeds``."""
    array: bool = False
    """For headers: ``[[...]]`` rather than ``[...]``."""


def _scan(lines: Sequence[str]) -> list[_Line]:
    """Classify each line, tracking multi-line strings and brackets.

    Only a line that starts outside any string or array can be a header, so a
    ``[[feeds]]`` inside a multi-line string or a nested array is never mistaken
    for one.
    """
    out: list[_Line] = []
    mode = ""  # "" normal, '"""' or "'''" inside a multi-line string
    depth = 0
    for line in lines:
        stripped = line.strip()
        if mode or depth:
            out.append(_Line("value"))
        elif not stripped:
            out.append(_Line("blank"))
        elif stripped.startswith("#"):
            out.append(_Line("comment"))
        elif stripped.startswith("[") and (m := _HEADER.match(line)) and len(m.group(1)) == len(m.group(3)):
            name = re.sub(r"\s*\.\s*", ".", m.group(2)).replace('"', "").replace("'", "")
            out.append(_Line("header", name, len(m.group(1)) == 2))
        else:
            out.append(_Line("value"))
        i = 0
        n = len(line)
        while i < n:
            if mode:
                if line.startswith("\\", i) and mode == '"""':
                    i += 2
                    continue
                if line.startswith(mode, i):
                    i += 3
                    while line.startswith(mode[0], i):  # """" closes with a quote inside
                        i += 1
                    mode = ""
                    continue
                i += 1
                continue
            ch = line[i]
            if ch == "#":
                break
            if line.startswith('"""', i) or line.startswith("'''", i):
                mode = line[i : i + 3]
                i += 3
                continue
            if ch in "\"'":
                j = i + 1
                while j < n and line[j] != ch:
                    j += 2 if (ch == '"' and line[j] == "\\") else 1
                i = j + 1
                continue
            if ch in "[{":
                depth += 1
            elif ch in "]}":
                depth = max(0, depth - 1)
            i += 1
    return out


@dataclass(frozen=True, slots=True)
class _Block:
    start: int
    """First line to delete: the comment lines directly above the header."""
    header: int
    end: int
    """Last line of the table's own content (exclusive end is ``end + 1``)."""


def _blocks(kinds: Sequence[_Line], table: str) -> list[_Block]:
    """Every ``[[table]]`` block, in order."""
    headers = [i for i, k in enumerate(kinds) if k.kind == "header"]
    blocks: list[_Block] = []
    for pos, h in enumerate(headers):
        if not (kinds[h].table == table and kinds[h].array):
            continue
        limit = headers[pos + 1] if pos + 1 < len(headers) else len(kinds)
        end = h
        for i in range(h + 1, limit):
            if kinds[i].kind == "value":
                end = i
        start = h
        while start > 0 and kinds[start - 1].kind == "comment":
            start -= 1
        blocks.append(_Block(start, h, end))
    return blocks


def _split(text: str) -> tuple[list[str], str]:
    newline = "\r\n" if "\r\n" in text else "\n"
    return text.splitlines(keepends=True), newline


def _render_value(value: Any) -> str:
    import tomlkit

    return tomlkit.item(value).as_string()


def _render_table(name: str, values: dict[str, Any], newline: str) -> list[str]:
    lines = [f"[[{name}]]{newline}"]
    for key, value in values.items():
        lines.append(f"{key} = {_render_value(value)}{newline}")
    return lines


def _array(text: str, name: str) -> list[dict[str, Any]]:
    try:
        value = tomllib.loads(text).get(name, [])
    except tomllib.TOMLDecodeError as exc:
        raise EditError(f"the file is not valid TOML ({exc}); fix it first (crisiswatch check shows where)") from None
    return value if isinstance(value, list) else []


def _append(text: str, name: str, tables: Sequence[dict[str, Any]]) -> str:
    """Insert new ``[[name]]`` tables after the last existing one (or at the end)."""
    if not tables:
        return text
    lines, newline = _split(text)
    kinds = _scan(lines)
    blocks = _blocks(kinds, name)
    new: list[str] = []
    for values in tables:
        new.append(newline)
        new.extend(_render_table(name, values, newline))
    if blocks:
        at = blocks[-1].end + 1
        before, after = lines[:at], lines[at:]
        if before and not before[-1].endswith(("\n", "\r")):
            before[-1] += newline
        # Keep one blank line between the new block and what follows it.
        if after and kinds[at].kind != "blank":
            new.append(newline)
        result = "".join(before + new + after)
    else:
        body = "".join(lines)
        if body and not body.endswith(("\n", "\r")):
            body += newline
        if not body.strip():
            new = new[1:]
        result = body + "".join(new)
    before_items = _array(text, name)
    after_items = _array(result, name)
    if after_items != [*before_items, *(_plain(t) for t in tables)]:
        raise EditError(
            f"could not add to [[{name}]] without disturbing the rest of the file "
            f"(is {name} written as an inline array?); add it by hand"
        )
    return result


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    return tomllib.loads(_render_value_table(values))


def _render_value_table(values: dict[str, Any]) -> str:
    return "".join(f"{k} = {_render_value(v)}\n" for k, v in values.items())


def _remove(text: str, name: str, index: int) -> str:
    """Delete the ``index``-th ``[[name]]`` block with the comments directly above it."""
    lines, _ = _split(text)
    kinds = _scan(lines)
    blocks = _blocks(kinds, name)
    before_items = _array(text, name)
    if len(blocks) != len(before_items) or not 0 <= index < len(blocks):
        raise EditError(f"could not find that entry among the [[{name}]] tables; edit the file by hand")
    block = blocks[index]
    start, stop = block.start, block.end + 1
    # Swallow the blank lines after the block when there is already a blank
    # line (or the start of the file) before it, so no double gap remains.
    if start == 0 or kinds[start - 1].kind == "blank":
        while stop < len(lines) and kinds[stop].kind == "blank":
            stop += 1
    # If the block ended the file, drop the blank lines that preceded it instead.
    if stop >= len(lines):
        while start > 0 and kinds[start - 1].kind == "blank":
            start -= 1
    result = "".join(lines[:start] + lines[stop:])
    expected = before_items[:index] + before_items[index + 1 :]
    if _array(result, name) != expected:
        raise EditError(f"could not remove that [[{name}]] entry cleanly; edit the file by hand")
    return result


# -- public edits on text -------------------------------------------------------


def add_feeds(text: str, feeds: Sequence[dict[str, Any]]) -> str:
    """Append feeds given as ``{"name", "url", "interval"?, "tags"?}`` dicts."""
    tables = []
    for feed in feeds:
        values: dict[str, Any] = {"name": feed["name"], "url": feed["url"]}
        if feed.get("interval"):
            values["interval"] = feed["interval"]
        if feed.get("tags"):
            values["tags"] = list(feed["tags"])
        tables.append(values)
    return _append(text, "feeds", tables)


def add_feed(
    text: str, *, name: str, url: str, interval: str | None = None, tags: Sequence[str] = ()
) -> str:
    return add_feeds(text, [{"name": name, "url": url, "interval": interval, "tags": tags}])


def remove_feed(text: str, name: str) -> str:
    """Remove the feed whose name matches case-insensitively, as the loader compares names."""
    index = _find(_array(text, "feeds"), "name", name, "feed")
    return _remove(text, "feeds", index)


def add_keyword(text: str, *, term: str, aliases: Sequence[str] = (), severity: str | None = None) -> str:
    values: dict[str, Any] = {"term": term}
    if aliases:
        values["aliases"] = list(aliases)
    if severity:
        values["severity"] = severity
    return _append(text, "keywords", [values])


def remove_keyword(text: str, term: str) -> str:
    index = _find(_array(text, "keywords"), "term", term, "keyword")
    return _remove(text, "keywords", index)


def _find(items: list[dict[str, Any]], key: str, wanted: str, what: str) -> int:
    folded = wanted.strip().casefold()
    for i, item in enumerate(items):
        value = item.get(key)
        if isinstance(value, str) and value.strip().casefold() == folded:
            return i
    import difflib

    names = [str(item.get(key)) for item in items if isinstance(item.get(key), str)]
    close = difflib.get_close_matches(wanted, names, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise EditError(f"no {what} named {wanted!r}{hint}")


# -- files ----------------------------------------------------------------------


def read_text(path: Path) -> tuple[str, bool]:
    """The file's text and whether it had a UTF-8 BOM (kept on write). A missing file is empty."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return "", False
    except OSError as exc:
        raise EditError(f"{path}: cannot read: {exc.strerror}") from None
    bom = raw.startswith(b"\xef\xbb\xbf")
    try:
        return raw.decode("utf-8-sig"), bom
    except UnicodeDecodeError:
        raise EditError(f"{path}: not UTF-8 text; save it as UTF-8 first") from None


def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` in one step so a reader (or a crash) never sees half a file.

    Writes next to the real file (following a symlink) so ``os.replace`` stays on
    one filesystem, and keeps the original permissions.
    """
    target = path.resolve() if path.is_symlink() else path
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = target.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = None
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def edit_file(path: Path, edit: Callable[[str], str]) -> Config:
    """Apply ``edit`` to the file's text, validate the result as a config, write it atomically.

    Returns the new config. Raises :class:`EditError` (with the loader's
    located message) when the result would not load; the file is untouched then.
    """
    text, bom = read_text(path)
    new_text = edit(text)
    try:
        config = parse_config(new_text, path)
    except ConfigError as exc:
        raise EditError(f"not saved, the result would not load:\n{exc}") from None
    write_atomic(path, (b"\xef\xbb\xbf" if bom else b"") + new_text.encode("utf-8"))
    return config
