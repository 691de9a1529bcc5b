"""Streaming export of events, alerts and items as CSV, JSON or JSON Lines.

Rows stream from one read snapshot, so memory stays constant for millions of
rows and an export taken while a poll writes is consistent. Every cell is
made inert for spreadsheets (no formulas) and terminals (no control chars).
"""

from __future__ import annotations

import contextlib
import csv
import itertools
import json
import operator
import re
import sqlite3
from collections.abc import Iterable
from datetime import datetime
from typing import Any, TextIO

from .models import iso, parse_when, utcnow
from .redact import redact_text
from .sanitize import strip_unsafe
from .store import Store, lists
from .store.connection import explain_sqlite
from .termsafe import one_line

FORMATS = ("csv", "json", "jsonl")
TABLES = ("events", "alerts", "items")

COLUMNS: dict[str, tuple[str, ...]] = {
    "events": ("time", "kind", "feed", "title", "link", "keywords", "detail"),
    "alerts": ("id", "time", "published", "severity", "keywords", "feed", "title", "link", "state", "feeds",
               "languages"),
    "items": ("id", "feed", "published", "title", "link", "summary"),
}
"""CSV columns, in order. JSON rows carry these plus a few structured extras (see README)."""

_FORMULA_CHARS = frozenset("=+-@")
"""The formula starters. Tab and CR (the other two) cannot start a cleaned cell: they become spaces."""
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def neutralise_cell(value: Any) -> Any:
    """Make a value safe in a spreadsheet and a terminal: one line, no controls, no formula.

    Line breaks and tabs become spaces (the README promises CSV cells without
    them: a viewer such as ``column`` or ``less`` shows a cell as one line), escape
    sequences and control/format characters go, and a cell that starts with
    ``=``, ``+``, ``-`` or ``@`` gets a leading ``'``.
    """
    if not isinstance(value, str):
        return value
    if value.isprintable():
        # Nearly every cell: nothing to remove.
        return "'" + value if value[:1] in _FORMULA_CHARS else value
    value = one_line(strip_unsafe(value))
    # A formula that started after a tab or CR (now a space) is neutralised too.
    return "'" + value if value.lstrip()[:1] in _FORMULA_CHARS else value


def _csv_cell(value: Any) -> Any:
    """A CSV cell: :func:`neutralise_cell`, with None as an empty cell."""
    if value.__class__ is str:
        if value.isprintable():
            return "'" + value if value[:1] in _FORMULA_CHARS else value
        return neutralise_cell(value)
    return "" if value is None else neutralise_cell(value)


def _clean(value: str) -> str:
    """A JSON string value: controls and escapes removed; line breaks and tabs stay (JSON escapes them)."""
    if value.isprintable():
        return value  # no control, format or escape character: strip_unsafe and _CONTROL keep it as is
    return _CONTROL.sub(" ", strip_unsafe(value))


def parse_since(value: str | None, *, now: datetime | None = None) -> str | None:
    """``2026-11-20``, ``2026-11-20T08:00``, or a duration back from now (``24h``, ``7d``) → ISO string."""
    if not value:
        return None
    try:
        return iso(parse_when(value, now=now or utcnow()))
    except OverflowError:
        raise ValueError(f"--since {value!r}: that is further back than any date (at most a century, 36600d); "
                         "for everything, leave --since out") from None
    except ValueError:
        raise ValueError(f"--since {value!r}: use a date like 2026-11-20, a time like 2026-11-20T08:00, "
                         "or a duration like 24h or 7d") from None


_ENCODE = json.JSONEncoder(ensure_ascii=False).encode
"""``json.dumps(obj, ensure_ascii=False)`` without building an encoder per row (same output)."""


_SEP = "\u241e"
"""Joins a batch's cells for one C-level check; printable (␞), so it cannot hide an unsafe cell."""
_FORMULA_CELL = re.compile("\u241e[=+\\-@]")
"""A cell after the first that starts a formula (a literal prefix: a fast C scan)."""


def _write_batches(table: str, fmt: str, batches: Iterable[tuple[list[str], list[tuple[Any, ...]]]],
                   out: TextIO) -> int:
    """The one export writer, over :meth:`Store.iter_row_batches`: no dict per CSV row.

    A CSV batch whose cells are all printable and none starts with a formula
    character (nearly always) goes to the csv module as it is: ``neutralise_cell``
    would return every cell unchanged, and csv writes None as an empty cell.
    One ``isprintable`` and one regex search over the joined batch decide it;
    a false alarm (␞ inside a cell) only costs the per-cell path.
    """
    if fmt != "csv":
        return _write_json(fmt, _json_batches(table, batches), out)
    columns = COLUMNS[table]
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    count = 0
    cell = _csv_cell
    for keys, batch in batches:
        index = [keys.index(c) for c in columns]
        rows_out: Iterable[tuple[Any, ...]] = batch
        if index != list(range(len(keys))):
            rows_out = list(map(operator.itemgetter(*index), batch))
        text = _SEP.join(map(str, itertools.chain.from_iterable(rows_out)))
        if text.isprintable() and text[:1] not in _FORMULA_CHARS and not _FORMULA_CELL.search(text):
            writer.writerows(rows_out)
        else:
            writer.writerows([[cell(v) for v in row] for row in rows_out])
        count += len(batch)
    return count


def _json_batches(table: str, batches: Iterable[tuple[list[str], list[tuple[Any, ...]]]]) -> Iterable[str]:
    """Encoded :func:`_json_row` of every row; a batch that is all printable skips ``_clean`` per cell."""
    for keys, batch in batches:
        split = [(keys.index(k), k) for k in (("keywords", "rules", "feeds", "languages") if table == "alerts" else
                                              ("keywords",) if table == "events" else ())]
        surge = keys.index("surge") if table == "alerts" else -1
        printable = _SEP.join(map(str, itertools.chain.from_iterable(batch))).isprintable()
        for row in batch:
            out = dict(zip(keys, row if printable else [_clean(v) if isinstance(v, str) else v for v in row],
                           strict=True))
            for i, key in split:
                out[key] = lists.split(row[i])
            if surge >= 0:
                out["surge"] = bool(row[surge])
            yield _ENCODE(out)


def _redacted(batches: Iterable[tuple[list[str], list[tuple[Any, ...]]]],
              ) -> Iterable[tuple[list[str], list[tuple[Any, ...]]]]:
    """Events with :func:`redact_text` over ``detail``: rows written before redaction existed, too.

    New events are redacted when recorded; this keeps an old database's
    ``feed_moved`` password out of the file. One join per batch decides.
    """
    for keys, batch in batches:
        i = keys.index("detail")
        joined = _SEP.join([row[i] for row in batch if row[i]])
        if "://" in joined and ("@" in joined or "=" in joined):
            batch = [(*row[:i], redact_text(row[i]), *row[i + 1:]) if row[i] else row for row in batch]
        yield keys, batch


def _write_json(fmt: str, encoded: Iterable[str], out: TextIO) -> int:
    count = 0
    if fmt == "jsonl":
        for line in encoded:
            out.write(line + "\n")
            count += 1
    else:
        out.write("[")
        for line in encoded:
            out.write(",\n" if count else "\n")
            out.write(line)
            count += 1
        out.write("\n]\n" if count else "]\n")
    return count


def export(store: Store, table: str, fmt: str, out: TextIO, since: str | None = None) -> int:
    if table not in TABLES:
        raise ValueError(f"unknown table {table!r}; choose one of {', '.join(TABLES)}")
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    # closing(): end the read snapshot even when the writer fails mid-stream (a closed pipe).
    try:
        with contextlib.closing(store.iter_row_batches(table, since=since)) as batches:
            return _write_batches(table, fmt, _redacted(batches) if table == "events" else batches, out)
    except sqlite3.Error as exc:  # "no such table" (not our database), damaged, I/O error: one clear line
        raise explain_sqlite(exc, store.path) from None
