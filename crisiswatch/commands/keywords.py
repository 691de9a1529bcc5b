"""``crisiswatch keywords``: list, add and remove keywords without hand-editing TOML.

Same rules as ``feeds``: comments survive, and an edit that would not load (a
keyword still used by a rule, a duplicate term) is refused with the loader's
message, leaving the file untouched.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from ..config import Keyword
from ..errors import CrisiswatchError
from .context import Context

NAME = "keywords"
SEVERITY_CHOICES = ("low", "medium", "high", "critical")


def register(sub: argparse._SubParsersAction, formatter_class: type[argparse.HelpFormatter]) -> None:
    p = sub.add_parser(
        NAME,
        help="list, add or remove keywords",
        description="Manage the [[keywords]] of feeds.toml. A keyword's term is the canonical name shown "
        "everywhere; aliases are other spellings (Cyrillic, Albanian, transliterations) that count as it.",
        epilog="examples:\n"
        "  crisiswatch keywords list\n"
        "  crisiswatch keywords add Jarinje --alias Јариње --alias Jarinja --severity high\n"
        "  crisiswatch keywords remove Jarinje",
        formatter_class=formatter_class,
    )
    p.set_defaults(handler=_help(p))
    actions = p.add_subparsers(dest="keywords_action", metavar="ACTION")

    a = actions.add_parser("list", help="show the configured keywords", formatter_class=formatter_class,
                           description="Print a table of keywords: term, severity, match mode, aliases.",
                           epilog="examples:\n  crisiswatch keywords list")
    a.set_defaults(handler=run_list)

    a = actions.add_parser("add", help="add a keyword", formatter_class=formatter_class,
                           description="Add a keyword. Matching ignores case and diacritics, so 'Vucic' "
                           "already matches 'Vučić'; add aliases for other scripts and spellings.",
                           epilog="examples:\n  crisiswatch keywords add Banjska --alias Бањска --severity high\n"
                           "  crisiswatch keywords add EULEX")
    a.add_argument("term", metavar="TERM", help="the canonical name")
    a.add_argument("--alias", metavar="A", action="append", default=[], help="another spelling; repeat for several")
    a.add_argument("--severity", choices=SEVERITY_CHOICES, help="alert severity (default: medium)")
    a.set_defaults(handler=run_add)

    a = actions.add_parser("remove", help="remove a keyword by term", formatter_class=formatter_class,
                           description="Remove a keyword and the comment lines directly above it. Refused "
                           "while a [[rules]] entry still names it.",
                           epilog="examples:\n  crisiswatch keywords remove Banjska")
    a.add_argument("term", metavar="TERM", help="the keyword's term (case does not matter)")
    a.set_defaults(handler=run_remove)


def _help(parser: argparse.ArgumentParser) -> Callable[[Context], int]:
    """``crisiswatch keywords`` with no action shows its help (exit 2: nothing was done)."""

    def show(ctx: Context) -> int:
        parser.print_help()
        return 2

    return show


def _edit(ctx: Context, edit: Callable[[str], str]) -> None:
    from ..tomledit import EditError, edit_file

    try:
        edit_file(ctx.config_path, edit)
    except EditError as exc:
        raise CrisiswatchError(f"{ctx.config_path}: {exc}", 2) from None
    except OSError as exc:
        raise CrisiswatchError(f"{ctx.config_path}: cannot write: {exc.strerror or exc}", 1) from None


def run_list(ctx: Context) -> int:
    from .feeds import _table

    keywords = ctx.config.keywords
    if not keywords:
        print(f"no keywords in {ctx.config_path}", file=sys.stderr)
        return 0
    rows = [[k.term, k.severity + ("" if k.alert else " (context)"), k.match, ", ".join(k.aliases)]
            for k in keywords]
    _table(["TERM", "SEVERITY", "MATCH", "ALIASES"], rows)
    print(f"{len(keywords)} keywords in {ctx.config_path}", file=sys.stderr)
    return 0


def run_add(ctx: Context) -> int:
    from ..opml import clean_label
    from ..tomledit import add_keyword

    term = clean_label(ctx.args.term)
    if not term:
        raise CrisiswatchError("the term is empty", 2)
    aliases = [a for a in (clean_label(x) for x in ctx.args.alias) if a]
    cfg = ctx.config if ctx.config_path.exists() else None
    if cfg is not None:
        for k in cfg.keywords:
            if term.casefold() in (s.casefold() for s in k.spellings):
                raise CrisiswatchError(f"{term!r} is already a keyword (or alias of {k.term!r})", 1)
        matched = _already_matched(cfg.keywords, term)
        if matched is not None:
            raise CrisiswatchError(
                f"{term!r} already matches the keyword {matched!r} (matching ignores case and diacritics and "
                f"reads other scripts and word endings): nothing added. `crisiswatch match {term!r}` shows how.", 1)
    _edit(ctx, lambda text: add_keyword(text, term=term, aliases=aliases, severity=ctx.args.severity))
    extra = f" aliases {', '.join(aliases)}" if aliases else ""
    print(f"added keyword {term!r} ({ctx.args.severity or 'medium'}){extra} to {ctx.config_path}")
    return 0


def _already_matched(keywords: Sequence[Keyword], term: str) -> str | None:
    """The existing keyword the matcher would already find ``term`` as, if it covers all of it."""
    from ..match import Matcher

    try:
        hits = Matcher(keywords).find(term)
    except Exception:  # a matcher that cannot build is the config check's business, not this one's
        return None
    for hit in hits:
        if hit.start == 0 and hit.end >= len(term.rstrip()):
            return hit.keyword
    return None


def run_remove(ctx: Context) -> int:
    from ..tomledit import remove_keyword

    ctx.config  # noqa: B018 - a config that does not load gets its own clear error first
    _edit(ctx, lambda text: remove_keyword(text, ctx.args.term))
    print(f"removed keyword {ctx.args.term!r} from {ctx.config_path}")
    return 0
