"""``crisiswatch feeds``: list, add, remove, import and export feeds without hand-editing TOML.

Every change goes through :mod:`crisiswatch.tomledit`, so the user's comments
and layout survive and a change that would break the config is never written.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO
from urllib.parse import urlsplit

from ..errors import CrisiswatchError
from ..units import format_duration
from .context import Context

if TYPE_CHECKING:
    from ..config import Config, Feed

NAME = "feeds"


def register(sub: argparse._SubParsersAction, formatter_class: type[argparse.HelpFormatter]) -> None:
    p = sub.add_parser(
        NAME,
        help="list, add, remove, import or export feeds",
        description="Manage the [[feeds]] of feeds.toml. Edits keep your comments and layout, and a change "
        "that would not load is refused, leaving the file as it was.",
        epilog="examples:\n"
        "  crisiswatch feeds list\n"
        "  crisiswatch feeds add https://balkaninsight.com/            finds the page's RSS link\n"
        "  crisiswatch feeds add https://www.kosovo-online.com/rss --name \"Kosovo Online\" --interval 10m "
        "--tag serbian\n"
        "  crisiswatch feeds remove \"Kosovo Online\"\n"
        "  crisiswatch feeds import subscriptions.opml\n"
        "  crisiswatch feeds export -o crisiswatch.opml",
        formatter_class=formatter_class,
    )
    p.set_defaults(handler=_help(p))
    actions = p.add_subparsers(dest="feeds_action", metavar="ACTION")

    a = actions.add_parser("list", help="show the configured feeds", formatter_class=formatter_class,
                           description="Print a table of the feeds in the config: name, interval, tags, URL.",
                           epilog="examples:\n  crisiswatch feeds list\n  crisiswatch feeds list --tag serbian")
    a.add_argument("--tag", metavar="T", help="only feeds with this tag")
    a.set_defaults(handler=run_list)

    a = actions.add_parser(
        "add", help="add a feed (a page URL is followed to its RSS/Atom link)", formatter_class=formatter_class,
        description="Add a feed. Given a web page, its <link rel=\"alternate\"> RSS/Atom link is used; given a "
        "feed, the feed itself. The name defaults to the feed's title.",
        epilog="examples:\n"
        "  crisiswatch feeds add https://balkaninsight.com/\n"
        "  crisiswatch feeds add https://www.rferl.org/api/zrqiteuuir --name \"RFE/RL Balkans\" --tag regional\n"
        "  crisiswatch feeds add https://example.org/rss --no-discover --name Example   (offline)",
    )
    a.add_argument("url", metavar="URL", help="the feed's URL or a page that links to it")
    a.add_argument("--name", metavar="N", help="name shown everywhere (default: the feed's title)")
    a.add_argument("--interval", metavar="DURATION", help="poll interval for this feed, e.g. 10m (default: "
                   "settings.poll_interval)")
    a.add_argument("--tag", metavar="T", action="append", default=[], help="a tag; repeat for several")
    a.add_argument("--no-discover", action="store_true", help="add the URL as given, without fetching it")
    a.set_defaults(handler=run_add)

    a = actions.add_parser("remove", help="remove a feed by name", formatter_class=formatter_class,
                           description="Remove a feed, with the comment lines directly above it. Its stored "
                           "items and alerts stay in the database.",
                           epilog="examples:\n  crisiswatch feeds remove \"Kosovo Online\"")
    a.add_argument("name", metavar="NAME", help="the feed's name (case does not matter)")
    a.set_defaults(handler=run_remove)

    a = actions.add_parser(
        "enable", help="poll a feed again that answered 410 Gone or is backing off", formatter_class=formatter_class,
        description="A feed whose server answered 410 Gone is not polled again until you say so, and one "
        "that kept failing waits out its error backoff (poll --once included). This clears both, in the "
        "database, so the next poll fetches it (the dashboard's f, then e, does the same). A Retry-After "
        "the server sent still holds: it ends on its own, within a day.",
        epilog="examples:\n  crisiswatch feeds enable \"Kosovo Online\"\n  crisiswatch poll --once -v",
    )
    a.add_argument("name", metavar="NAME", help="the feed's name (case does not matter)")
    a.set_defaults(handler=run_enable)

    a = actions.add_parser(
        "import", help="add the feeds of an OPML file", formatter_class=formatter_class,
        description="Add every feed of an OPML 1.0/2.0 file (as exported by Feedly, Inoreader, NetNewsWire, "
        "Thunderbird…). Feeds already present (same URL) are skipped; a name already taken by another URL "
        "gets a suffix. Folder names become tags.",
        epilog="examples:\n  crisiswatch feeds import subscriptions.opml\n"
        "  crisiswatch feeds import subscriptions.opml --dry-run",
    )
    a.add_argument("file", metavar="FILE.opml", help="the OPML file ('-' for stdin)")
    a.add_argument("--dry-run", action="store_true", help="report what would be added; change nothing")
    a.set_defaults(handler=run_import)

    a = actions.add_parser("export", help="write the feeds as OPML 2.0", formatter_class=formatter_class,
                           description="Write every configured feed as OPML 2.0, grouped in folders by "
                           "first tag, for another reader or a colleague.",
                           epilog="examples:\n  crisiswatch feeds export > feeds.opml\n"
                           "  crisiswatch feeds export -o feeds.opml")
    a.add_argument("-o", "--output", metavar="FILE.opml", help="write here instead of stdout")
    a.set_defaults(handler=run_export)


def _help(parser: argparse.ArgumentParser) -> Callable[[Context], int]:
    """``crisiswatch feeds`` with no action shows its help (exit 2: nothing was done)."""

    def show(ctx: Context) -> int:
        parser.print_help()
        return 2

    return show


# -- helpers -------------------------------------------------------------------


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], out: TextIO | None = None) -> None:
    """A plain aligned table; the last column is never padded or cut, so URLs stay copyable.

    Every cell is config text: it passes the terminal-safety filter here (callers still redact URLs).
    """
    from ..termsafe import one_line

    out = out or sys.stdout
    rows = [[one_line(cell) for cell in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row[:-1]):
            widths[i] = max(widths[i], len(cell))
    for row in (headers, ["-" * w for w in widths[:-1]] + ["-" * len(headers[-1])], *rows):
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])] + [row[-1]]
        print("  ".join(cells).rstrip(), file=out)


def _load_for_edit(ctx: Context) -> Config | None:
    """The current config, or None when the file does not exist yet (``add`` then creates it)."""
    if not ctx.config_path.exists():
        return None
    return ctx.config


def _edit(ctx: Context, edit: Callable[[str], str]) -> Config:
    from ..tomledit import EditError, edit_file

    try:
        return edit_file(ctx.config_path, edit)
    except EditError as exc:
        raise CrisiswatchError(f"{ctx.config_path}: {exc}", 2) from None
    except OSError as exc:
        raise CrisiswatchError(f"{ctx.config_path}: cannot write: {exc.strerror or exc}", 1) from None


def _shown(text: object) -> str:
    """A name or tag as printed: one inert line (config and OPML text is hostile)."""
    from ..termsafe import one_line

    return one_line(text)


def _shown_url(url: str) -> str:
    """A URL as printed: its password or API key redacted, one inert line."""
    from ..redact import redact_url
    from ..termsafe import one_line

    return one_line(redact_url(url))


def _refuse_controls(url: str, what: str) -> None:
    """A URL with a control, bidi or line-break character is refused before anything else happens."""
    from ..termsafe import url_problem

    problem = url_problem(url)
    if problem:
        raise CrisiswatchError(f"{what}: the URL {problem}; refused (retype it by hand)", 2)


def _is_http_url(url: str) -> bool:
    from ..config import http_url_problem

    return http_url_problem(url) is None


def _host(url: str) -> str:
    return (urlsplit(url).hostname or url).removeprefix("www.")


def _unique_name(name: str, taken: set[str]) -> str:
    if name.casefold() not in taken:
        return name
    n = 2
    while f"{name} ({n})".casefold() in taken:
        n += 1
    return f"{name} ({n})"


# -- handlers -------------------------------------------------------------------


def run_list(ctx: Context) -> int:
    cfg = ctx.config
    feeds: list[Feed] = [f for f in cfg.feeds if not ctx.args.tag or ctx.args.tag in f.tags]
    if not feeds:
        print(f"no feeds in {_shown(ctx.config_path)}" + (f" tagged {ctx.args.tag!r}" if ctx.args.tag else ""),
              file=sys.stderr)
        return 0
    rows = []
    for f in feeds:
        interval = format_duration(cfg.interval_for(f)) + ("" if f.interval is not None else " (default)")
        rows.append([_shown(f.name) + ("" if f.enabled else " [disabled]"), interval, _shown(", ".join(f.tags)),
                     _shown_url(f.url)])
    _table(["NAME", "INTERVAL", "TAGS", "URL"], rows)
    print(f"{len(feeds)} feeds in {_shown(ctx.config_path)}", file=sys.stderr)
    return 0


def run_add(ctx: Context) -> int:
    from ..opml import clean_label, normalise_url
    from ..units import parse_duration

    args = ctx.args
    url = args.url.strip()
    _refuse_controls(url, "feeds add")
    if not _is_http_url(url):
        raise CrisiswatchError(f"{_shown_url(url)!r} is not an http(s) URL; write it like "
                               "https://example.org/feed.xml", 2)
    interval = None
    if args.interval:
        try:
            parse_duration(args.interval)
        except ValueError as exc:
            raise CrisiswatchError(f"--interval {args.interval!r}: {exc}; write e.g. 10m or 1h", 2) from None
        interval = args.interval.strip()
    cfg = _load_for_edit(ctx)
    feeds = cfg.feeds if cfg else ()
    name = clean_label(args.name) if args.name else ""
    if args.name is not None and not name:
        raise CrisiswatchError("--name is empty", 2)

    if not args.no_discover:
        from ..discover import DiscoveryError, discover

        settings = cfg.settings if cfg else None
        try:
            found = discover(
                url,
                timeout=min(settings.timeout, 15.0) if settings else 15.0,
                max_bytes=min(settings.max_feed_bytes, 5_000_000) if settings else 5_000_000,
                user_agent=settings.user_agent if settings else "crisiswatch",
            )
        except DiscoveryError as exc:
            raise CrisiswatchError(f"{exc} (use --no-discover to add the URL as it is)", 1) from None
        _refuse_controls(found.url, f"the feed linked from {_shown_url(url)}")
        if found.via_page:
            print(f"found feed {_shown_url(found.url)}", file=sys.stderr)
        url = found.url
        name = name or found.title
    name = name or _host(url)

    for f in feeds:
        if normalise_url(f.url) == normalise_url(url):
            raise CrisiswatchError(f"already there: {_shown(f.name)!r} has the URL {_shown_url(f.url)}", 1)
    taken = {f.name.casefold() for f in feeds}
    if name.casefold() in taken:
        if args.name:
            raise CrisiswatchError(f"a feed named {name!r} already exists; choose another --name", 2)
        name = _unique_name(name, taken)

    from ..tomledit import add_feed

    created = not ctx.config_path.exists()
    _edit(ctx, lambda text: add_feed(text, name=name, url=url, interval=interval, tags=args.tag))
    where = f" (created {_shown(ctx.config_path)})" if created else f" to {_shown(ctx.config_path)}"
    print(f"added {_shown(name)!r} {_shown_url(url)}{where}")
    return 0


def run_remove(ctx: Context) -> int:
    from ..tomledit import remove_feed

    ctx.config  # noqa: B018 - a config that does not load gets its own clear error first
    name = ctx.args.name
    removed = next((f for f in ctx.config.feeds if f.name.casefold() == name.strip().casefold()), None)
    _edit(ctx, lambda text: remove_feed(text, name))
    label = removed.name if removed else name
    print(f"removed {_shown(label)!r} from {_shown(ctx.config_path)} (its stored items and alerts stay in the "
          "database)")
    return 0


def run_enable(ctx: Context) -> int:
    """Clear a feed's 410 and error backoff in the database (``Store.reenable_feed``)."""
    from ..models import iso, utcnow
    from ..poller import hold_of

    name = ctx.args.name.strip()
    feed = next((f for f in ctx.config.feeds if f.name.casefold() == name.casefold()), None)
    if feed is None:
        raise CrisiswatchError(f"no feed named {_shown(name)!r} in {_shown(ctx.config_path)} "
                               "(see `crisiswatch feeds list`)", 2)
    if not ctx.db_path.exists():
        print(f"{_shown(feed.name)!r} has never been polled ({_shown(ctx.db_path)} does not exist yet); "
              "nothing to re-enable")
        return 0
    store = ctx.open_store()
    try:
        store.sync_feeds(ctx.config.feeds)
        store.reenable_feed(feed.name)
        row = next((r for r in store.feeds() if r["name"] == feed.name), None)
    finally:
        store.close()
    hold = hold_of(row, utcnow()) if row is not None else None
    if hold is not None and hold.until is not None:
        print(f"re-enabled {_shown(feed.name)!r}; its server's Retry-After still holds it until {iso(hold.until)}")
    else:
        print(f"re-enabled {_shown(feed.name)!r}: the next poll fetches it")
    return 0


def run_import(ctx: Context) -> int:
    from ..opml import OpmlError, normalise_url, parse_opml
    from ..termsafe import url_problem

    args = ctx.args
    label = "<stdin>" if args.file == "-" else args.file
    try:
        data = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).expanduser().read_bytes()
    except FileNotFoundError:
        raise CrisiswatchError(f"{label}: no such file", 2) from None
    except OSError as exc:
        raise CrisiswatchError(f"{label}: cannot read: {exc.strerror or exc}", 2) from None
    try:
        entries = parse_opml(data, label)
    except OpmlError as exc:
        raise CrisiswatchError(f"{exc}", 2) from None

    cfg = _load_for_edit(ctx)
    existing = cfg.feeds if cfg else ()
    by_url = {normalise_url(f.url): f.name for f in existing}
    taken = {f.name.casefold() for f in existing}
    added: list[dict[str, object]] = []
    skipped: list[tuple[str, str, str]] = []
    renamed: list[tuple[str, str]] = []
    for entry in entries:
        key = normalise_url(entry.url)
        title = entry.title
        problem = url_problem(entry.url)
        if problem:
            skipped.append((title or "(untitled)", entry.url, f"refused: the URL {problem}"))
            continue
        if not _is_http_url(entry.url):
            skipped.append((title or entry.url, entry.url, "not an http(s) URL"))
            continue
        if key in by_url:
            skipped.append((title or entry.url, entry.url, f"duplicate of {by_url[key]!r}"))
            continue
        name = title or _host(entry.url)
        unique = _unique_name(name, taken)
        if unique != name:
            renamed.append((name, unique))
        taken.add(unique.casefold())
        by_url[key] = unique
        added.append({"name": unique, "url": entry.url.strip(), "tags": list(entry.tags)})

    if added and not args.dry_run:
        from ..tomledit import add_feeds

        _edit(ctx, lambda text: add_feeds(text, added))
    verb = "would add" if args.dry_run else "added"
    print(f"{verb} {len(added)} feeds, skipped {len(skipped)} ({len(entries)} in {_shown(label)})")
    for feed in added:
        print(f"  + {_shown(feed['name'])}  {_shown_url(str(feed['url']))}")
    for old, new in renamed:
        print(f"  ~ {_shown(old)!r} renamed {_shown(new)!r} (name already used by another URL)")
    for title, url, why in skipped:
        print(f"  - {_shown(title)}  {_shown_url(url)}  ({why})")
    return 0


def run_export(ctx: Context) -> int:
    from ..opml import ExportFeed, to_opml
    from ..outfile import output_label, write_output
    from ..redact import redact_url

    cfg = ctx.config
    # A password or API key in a feed URL stays in feeds.toml: the OPML is for other people and readers.
    text = to_opml([ExportFeed(f.name, redact_url(f.url), f.tags) for f in cfg.feeds])
    write_output(ctx.args.output, text)  # an OutputError is printed by the CLI (exit 1)
    if ctx.args.output and ctx.args.output != "-":
        print(f"wrote {len(cfg.feeds)} feeds to {output_label(ctx.args.output)}", file=sys.stderr)
    return 0
