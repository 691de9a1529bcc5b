"""``crisiswatch match``: stdin lines → one JSON line each, using the config's keywords.

It runs exactly the matcher the poller uses (``match.Matcher.from_config``), so a
user can test a spelling before trusting an alert to it. Output is flushed per
line so it works inside a pipe (``tail -f headlines | crisiswatch match``).

Only the standard library is imported at module level: the CLI imports every
command module to build ``--help``, and ``match`` must start fast.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .context import Context


def register(sub: Any, formatter_class: type[argparse.HelpFormatter]) -> None:
    """Add the ``match`` parser; the handler is :func:`run`."""
    p = sub.add_parser(
        "match",
        help="match stdin lines against the config's keywords, one JSON line out per line in",
        description="Read text lines on stdin and write, for each line in order, exactly one JSON line "
        '{"text": …, "hits": [{"keyword", "matched", "start", "end", "severity"}]} '
        "using the keywords, aliases and match modes of the config. Offsets are into the line as written "
        "(character offsets, not bytes). Empty hits when nothing matches.",
        epilog="examples:\n"
        "  echo 'Patrola KFOR-a kod Brnjaka' | crisiswatch match\n"
        "  echo 'Вучић разговарао са амбасадорима' | crisiswatch match --explain\n"
        "  crisiswatch --config feeds.toml match < headlines.txt > hits.jsonl",
        formatter_class=formatter_class,
    )
    p.add_argument(
        "--explain",
        action="store_true",
        help="add an \"explain\" object to every hit: the keyword or alias that matched, the normalised "
        "form of the text, the grammatical ending accepted and the match mode",
    )
    p.add_argument(
        "--pretty",
        action="store_true",
        help="indent each JSON object over several lines (the default for --explain on a terminal; "
        "in a pipe the output stays one JSON line per input line unless --pretty is given)",
    )
    p.set_defaults(handler=run)


def run(ctx: Context) -> int:
    """Stream stdin to stdout; one output line per input line, in order, flushed."""
    from ..match import Matcher
    from ..termsafe import blank_escapes, json_escape_controls

    matcher = Matcher.from_config(ctx.config)
    explain = bool(getattr(ctx.args, "explain", False))
    stdin = sys.stdin
    if hasattr(stdin, "reconfigure"):
        # Headlines are UTF-8 whatever the locale says; never die on one bad byte.
        stdin.reconfigure(encoding="utf-8", errors="replace")
    out = sys.stdout
    if hasattr(out, "reconfigure"):
        out.reconfigure(encoding="utf-8")
    # An explanation on one 400-character line is unreadable; a person at a terminal gets it
    # indented. Pipes keep the one-line-per-input contract unless --pretty asks otherwise.
    pretty = bool(getattr(ctx.args, "pretty", False)) or (explain and out.isatty())
    indent = 2 if pretty else None
    try:
        for raw in stdin:
            line = raw.rstrip("\r\n")
            rows: list[dict[str, object]] = []
            # Escape sequences (a line copied from a coloured log) are not words: the matcher reads them as
            # blanks of the same length, so hit offsets still point into the line echoed unchanged.
            for hit in matcher.find(blank_escapes(line)):
                row = hit.as_json()
                if explain:
                    row["explain"] = matcher.explain(hit)
                rows.append(row)
            out.write(json_escape_controls(json.dumps({"text": line, "hits": rows}, ensure_ascii=False,
                                                      indent=indent)) + "\n")
            out.flush()
    except BrokenPipeError:
        # Downstream closed (``| head``): done, not an error. Point stdout at devnull
        # so the interpreter's final flush does not raise again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, out.fileno())
        os.close(devnull)
    return 0
