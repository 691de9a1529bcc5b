"""``crisiswatch feeds|keywords|completion`` in-process, against real files and a loopback site."""

from __future__ import annotations

import shutil
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from crisiswatch.cli import main
from crisiswatch.config import load_config

CONFIG = """\
# desk config — comments must survive every command
[settings]
poll_interval = "5m"

# BIRN
[[feeds]]
name = "Balkan Insight"
url = "https://balkaninsight.com/feed/"
tags = ["regional"]

[[keywords]]
term = "KFOR"
severity = "high"

[[keywords]]
term = "Jarinje"
aliases = ["Јариње"]

[[rules]]
name = "KFOR at Jarinje"
all = ["KFOR", "Jarinje"]
severity = "critical"
"""

RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Kosovo Online — Vesti &amp; analize</title>
<link>http://example/</link><description>d</description>
<item><title>KFOR na Jarinju</title><link>http://example/1</link></item>
</channel></rss>"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>KFOR press releases</title>
<id>urn:x</id><updated>2026-11-25T10:00:00Z</updated>
<entry><title>Patrol</title><id>urn:1</id><updated>2026-11-25T10:00:00Z</updated></entry></feed>"""

PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Kosovo Online</title>
<link rel="stylesheet" href="/style.css">
<link rel="alternate" type="application/json" href="/api.json">
<link rel="Alternate" type="application/rss+xml" title="Vesti" href="rss/latest.xml">
<link rel="alternate" type="application/atom+xml" href="/atom.xml">
</head><body><a href="/other.xml">not this</a></body></html>"""

PAGE_NO_FEED = "<!doctype html><html><head><title>Nothing</title></head><body>hi</body></html>"


class Site:
    """A loopback web site: path → (status, content type, body)."""

    def __init__(self, routes: dict[str, tuple[int, str, str]]) -> None:
        self.routes = routes
        self.hits: list[str] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                site.hits.append(self.path)
                status, ctype, body = site.routes.get(self.path, (404, "text/plain", "not found"))
                data = body.encode("utf-8")
                self.send_response(status)
                if status in (301, 302):
                    self.send_header("Location", body)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def site() -> Iterator[Site]:
    s = Site({
        "/news/": (200, "text/html; charset=utf-8", PAGE),
        "/news/rss/latest.xml": (200, "application/rss+xml", RSS),
        "/kfor.atom": (200, "application/atom+xml", ATOM),
        "/plain": (200, "text/html", PAGE_NO_FEED),
        "/moved": (301, "text/plain", "/news/"),
        "/notafeed.xml": (200, "application/xml", "<?xml version='1.0'?><catalog><x/></catalog>"),
    })
    yield s
    s.close()


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "feeds.toml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


def run(config: Path, *args: str) -> int:
    return main(["--config", str(config), *args])


# -- feeds ---------------------------------------------------------------------


def test_list_prints_a_table(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(config, "feeds", "list") == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["NAME", "INTERVAL", "TAGS", "URL"]
    assert out[2].split() == ["Balkan", "Insight", "5m", "(default)", "regional", "https://balkaninsight.com/feed/"]


def test_add_discovers_the_feed_from_an_html_page(config: Path, site: Site,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    before = config.read_text(encoding="utf-8")
    assert run(config, "feeds", "add", f"{site.base}/news/", "--tag", "serbian", "--interval", "10m") == 0
    captured = capsys.readouterr()
    feed_url = f"{site.base}/news/rss/latest.xml"  # the relative href resolved against the page
    assert f"found feed {feed_url}" in captured.err
    assert "added 'Kosovo Online — Vesti & analize'" in captured.out
    cfg = load_config(config)
    new = cfg.feeds[-1]
    assert (new.name, new.url, new.interval, new.tags) == ("Kosovo Online — Vesti & analize", feed_url, 600.0,
                                                           ("serbian",))
    after = config.read_text(encoding="utf-8")
    assert after.startswith(before.split("[[keywords]]")[0].rstrip("\n"))
    assert after.replace(
        f'\n[[feeds]]\nname = "Kosovo Online — Vesti & analize"\nurl = "{feed_url}"\ninterval = "10m"\n'
        'tags = ["serbian"]\n', "", 1) == before


def test_add_follows_redirects_and_accepts_a_direct_feed(config: Path, site: Site) -> None:
    assert run(config, "feeds", "add", f"{site.base}/moved") == 0
    assert load_config(config).feeds[-1].url == f"{site.base}/news/rss/latest.xml"
    assert run(config, "feeds", "add", f"{site.base}/kfor.atom", "--name", "KFOR") == 0
    assert (load_config(config).feeds[-1].name, load_config(config).feeds[-1].url) == ("KFOR",
                                                                                        f"{site.base}/kfor.atom")


def test_add_takes_the_feed_title_and_suffixes_a_clashing_name(config: Path, site: Site) -> None:
    config.write_text(CONFIG.replace('name = "Balkan Insight"', 'name = "KFOR press releases"'), encoding="utf-8")
    assert run(config, "feeds", "add", f"{site.base}/kfor.atom") == 0
    assert load_config(config).feeds[-1].name == "KFOR press releases (2)"


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/plain", 'a web page with no RSS/Atom <link rel="alternate">'),
        ("/missing", "HTTP 404"),
        ("/notafeed.xml", "is not an RSS/Atom feed"),
    ],
)
def test_add_failures_leave_the_file_alone(config: Path, site: Site, capsys: pytest.CaptureFixture[str],
                                           path: str, message: str) -> None:
    before = config.read_bytes()
    assert run(config, "feeds", "add", f"{site.base}{path}") == 1
    err = capsys.readouterr().err
    assert message in err and "--no-discover" in err and err.count("\n") == 1
    assert config.read_bytes() == before


def test_add_unreachable_is_a_runtime_error(config: Path, site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"{site.base}/news/"
    site.close()
    assert run(config, "feeds", "add", url) == 1
    assert "crisiswatch: " in capsys.readouterr().err


def test_add_without_discovery_and_usage_errors(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(config, "feeds", "add", "https://www.koha.net/rss", "--no-discover") == 0
    assert load_config(config).feeds[-1].name == "koha.net"
    assert run(config, "feeds", "add", "HTTPS://WWW.KOHA.NET/rss/", "--no-discover") == 1
    assert "already there: 'koha.net'" in capsys.readouterr().err
    assert run(config, "feeds", "add", "https://x.example/rss", "--no-discover", "--name", "balkan insight") == 2
    assert "already exists" in capsys.readouterr().err
    assert run(config, "feeds", "add", "https://x.example/rss", "--no-discover", "--interval", "soon") == 2
    assert "--interval 'soon'" in capsys.readouterr().err
    assert run(config, "feeds", "add", "ftp://x.example/rss", "--no-discover") == 2
    assert "not an http(s) URL" in capsys.readouterr().err


def test_add_creates_a_missing_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "new" / "feeds.toml"
    assert run(config, "feeds", "add", "https://www.koha.net/rss", "--no-discover", "--name", "Koha") == 0
    assert "created" in capsys.readouterr().out
    assert [f.name for f in load_config(config).feeds] == ["Koha"]


def test_remove(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(config, "feeds", "remove", "Balkan Insigt") == 2
    assert "did you mean 'Balkan Insight'" in capsys.readouterr().err
    assert run(config, "feeds", "remove", "balkan insight") == 0
    assert config.read_text(encoding="utf-8") == CONFIG.replace(
        '# BIRN\n[[feeds]]\nname = "Balkan Insight"\nurl = "https://balkaninsight.com/feed/"\n'
        'tags = ["regional"]\n\n', "")


def test_import_skips_duplicates_and_renames_clashes(config: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    opml = tmp_path / "subs.opml"
    opml.write_text("""<?xml version="1.0"?><opml version="1.1"><body>
      <outline text="Balkan Insight (dup by URL)" xmlUrl="HTTPS://BalkanInsight.com/feed"/>
      <outline text="Balkan Insight" xmlUrl="https://balkaninsight.com/other-feed/"/>
      <outline text="Koha" xmlUrl="https://www.koha.net/rss"/>
      <outline text="Koha again" xmlUrl="https://www.koha.net/rss#frag"/>
      <outline text="Gopher" xmlUrl="gopher://old.example/"/>
    </body></opml>""", encoding="utf-8")
    assert run(config, "feeds", "import", str(opml), "--dry-run") == 0
    assert capsys.readouterr().out.startswith("would add 2 feeds, skipped 3")
    assert config.read_text(encoding="utf-8") == CONFIG
    assert run(config, "feeds", "import", str(opml)) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "added 2 feeds, skipped 3 (5 in " + str(opml) + ")"
    assert "  + Balkan Insight (2)  https://balkaninsight.com/other-feed/" in out
    assert "  + Koha  https://www.koha.net/rss" in out
    assert "renamed 'Balkan Insight (2)'" in out
    assert "duplicate of 'Balkan Insight'" in out and "duplicate of 'Koha'" in out
    assert "not an http(s) URL" in out
    assert [f.name for f in load_config(config).feeds] == ["Balkan Insight", "Balkan Insight (2)", "Koha"]
    assert config.read_text(encoding="utf-8").startswith(CONFIG.split("[[keywords]]")[0].rstrip("\n"))


def test_bad_config_is_reported_not_edited(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config.write_text(CONFIG.replace('severity = "high"', 'severity = "urgent"'), encoding="utf-8")
    before = config.read_bytes()
    assert run(config, "feeds", "remove", "Balkan Insight") == 2
    assert "is not a severity" in capsys.readouterr().err
    assert config.read_bytes() == before


def test_feeds_without_action_shows_help(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(config, "feeds") == 2
    assert "examples:" in capsys.readouterr().out


# -- keywords --------------------------------------------------------------------


def test_keywords_list_add_remove(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(config, "keywords", "list") == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["TERM", "SEVERITY", "MATCH", "ALIASES"]
    assert out[3].split() == ["Jarinje", "medium", "word", "Јариње"]

    assert run(config, "keywords", "add", "Zvečan", "--alias", "Звечан", "--alias", "Zveçan",
               "--severity", "high") == 0
    kw = load_config(config).keywords[-1]
    assert (kw.term, kw.aliases, kw.severity) == ("Zvečan", ("Звечан", "Zveçan"), "high")
    assert run(config, "keywords", "add", "јариње") == 1
    assert "already a keyword (or alias of 'Jarinje')" in capsys.readouterr().err

    assert run(config, "keywords", "remove", "zvečan") == 0
    assert config.read_text(encoding="utf-8") == CONFIG


def test_removing_a_keyword_used_by_a_rule_is_refused(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(config, "keywords", "remove", "Jarinje") == 2
    err = capsys.readouterr().err
    assert "not saved" in err and "unknown keyword 'Jarinje'" in err
    assert config.read_text(encoding="utf-8") == CONFIG


def test_keywords_add_rejects_bad_severity(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        run(config, "keywords", "add", "X", "--severity", "urgent")
    assert info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


# -- completion and help ----------------------------------------------------------


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_scripts_cover_nested_actions(shell: str, config: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert run(config, "completion", shell) == 0
    script = capsys.readouterr().out
    for word in ("feeds", "keywords", "import", "export", "--interval", "--severity", "completion"):
        assert word in script
    if shell == "fish":
        assert "complete -c crisiswatch -n '__crisiswatch_at feeds' -a 'import'" in script
        assert "complete -c crisiswatch -n '__crisiswatch_at keywords add' -l severity -x -a " \
               "'low medium high critical'" in script
        if shutil.which("fish"):
            subprocess.run(["fish", "--no-execute"], input=script, text=True, check=True)
    elif shutil.which(shell):
        subprocess.run([shell, "-n"], input=script, text=True, check=True)


@pytest.mark.parametrize("argv", [["feeds", "add"], ["feeds", "import"], ["keywords", "add"], ["completion"],
                                  ["feeds"], ["keywords"]])
def test_help_has_examples(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main([*argv, "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "examples:\n  crisiswatch " in out


# -- discovery details -------------------------------------------------------------


def test_find_feed_links_resolves_base_and_ignores_non_feeds() -> None:
    from crisiswatch.discover import find_feed_links

    html = """<html><head><base href="https://cdn.example/site/">
    <link rel="alternate stylesheet" type="text/css" href="x.css">
    <link rel="alternate nofollow" type="application/atom+xml; charset=utf-8" href="atom.xml" title="Atom">
    <link rel="alternate" type="application/rss+xml" href="//other.example/rss">
    <link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">
    <link rel="alternate" type="application/rss+xml" href="atom.xml">
    </head></html>"""
    assert find_feed_links(html, "https://www.example/page") == [
        ("https://cdn.example/site/atom.xml", "Atom"),
        ("https://other.example/rss", ""),
    ]


def test_page_that_mentions_rss_in_a_script_is_still_a_page() -> None:
    from crisiswatch.discover import _looks_like_feed

    page = b"<!doctype html><html><head><script>var s = '<rss version=\"2.0\">';</script></head></html>"
    assert not _looks_like_feed("text/html", page)
    assert _looks_like_feed("text/html", b"<?xml version='1.0'?>\n<rss version='2.0'><channel/></rss>")


def test_discovery_caps_the_body_size(site: Site) -> None:
    from crisiswatch.discover import DiscoveryError, discover

    site.routes["/huge"] = (200, "text/html", "<html>" + "x" * 200_000)
    with pytest.raises(DiscoveryError, match=r"body over the 100 KB cap"):
        discover(f"{site.base}/huge", max_bytes=100_000)


def test_keywords_add_refuses_a_spelling_the_matcher_already_finds(config: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """`keywords add Vucic` next to Vučić would alert twice on every story: it already matches, so say so."""
    assert run(config, "keywords", "add", "Vučić") == 0
    capsys.readouterr()
    before = config.read_text(encoding="utf-8")
    for spelling, keyword in (("Vucic", "Vučić"), ("Вучић", "Vučić"), ("Jarinju", "Jarinje")):
        assert run(config, "keywords", "add", spelling) == 1
        err = capsys.readouterr().err
        assert f"already matches the keyword '{keyword}'" in err and "nothing added" in err
    assert config.read_text(encoding="utf-8") == before
    assert run(config, "keywords", "add", "Vulin") == 0  # a different name is still a new keyword
