"""The shipped feeds.toml (issue 15): every address says where it was published, known-dead
addresses are gone, the outlets a Serbia–Kosovo desk expects are there, and feeds that publish
nothing of their own (KFOR, EULEX, EEAS, RFE/RL's Serbian desk) come through site-restricted searches."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from crisiswatch.config import load_config

SHIPPED = Path(__file__).resolve().parents[1] / "feeds.toml"


def feed_blocks() -> list[tuple[str, str]]:
    """(comment lines, name) of every [[feeds]] block, as written in the file."""
    text = SHIPPED.read_text(encoding="utf-8")
    blocks = []
    for chunk in text.split("[[feeds]]")[1:]:
        comments = "\n".join(line for line in chunk.splitlines() if line.lstrip().startswith("#"))
        name = re.search(r'^name = "(.*)"$', chunk, re.M)
        assert name, chunk[:200]
        blocks.append((comments, name.group(1)))
    return blocks


def test_every_shipped_feed_says_where_its_address_was_published() -> None:
    blocks = feed_blocks()
    assert len(blocks) == len(load_config(SHIPPED).feeds)
    missing = [name for comments, name in blocks if "source:" not in comments]
    assert not missing, f"feeds without a source: comment: {missing}"


@pytest.mark.parametrize("dead", [
    "rss.dw.com/rdf/rss-en-europe",           # "Error: no feed by that name" (HTTP 200)
    "www.bbc.com/serbian/lat/index.xml",      # old pattern; BBC serves feeds.bbci.co.uk/serbian/…
    "eeas.europa.eu/eeas/press-material_en/rss.xml",  # unconfirmed
    "slobodnaevropa.org/api/z_opegvi_e_",     # unconfirmed
])
def test_known_dead_or_unconfirmed_addresses_are_not_polled(dead: str) -> None:
    assert not [f.url for f in load_config(SHIPPED).feeds if dead in f.url]


def test_the_outlets_a_serbia_kosovo_desk_expects_are_shipped() -> None:
    urls = {f.url for f in load_config(SHIPPED).feeds if f.enabled}
    for url in ("https://euronews.al/feed/", "https://euronews.al/en/feed/", "https://vreme.com/feed/",
                "https://insajder.net/feed.xml", "https://www.tanjug.rs/rss/srbija", "https://zeri.info/rss/zerat",
                "https://insajderi.org/feed/", "https://lajmi.net/feed/", "https://www.botasot.info/rss/",
                "https://admin.kosovotwopointzero.com/feed/", "https://www.serbianmonitor.com/en/feed/",
                "https://feeds.bbci.co.uk/serbian/lat/rss.xml", "https://feeds.bbci.co.uk/serbian/cyr/rss.xml",
                "https://rss.dw.com/rdf/rss-en-world", "https://rss.dw.com/rdf/rss-en-eu"):
        assert url in urls, url


@pytest.mark.parametrize(("name", "site"), [("KFOR via Google News", "site:nato.int"),
                                            ("EULEX via Google News", "site:eulex-kosovo.eu"),
                                            ("EEAS via Google News", "site:eeas.europa.eu"),
                                            ("Radio Slobodna Evropa via Google News", "site:slobodnaevropa.org")])
def test_organisations_without_a_feed_come_through_a_site_restricted_search(name: str, site: str) -> None:
    feed = next(f for f in load_config(SHIPPED).feeds if f.name == name)
    parts = urlsplit(feed.url)
    assert (parts.scheme, parts.hostname, parts.path) == ("https", "news.google.com", "/rss/search")
    query = parse_qs(parts.query)
    assert query["q"][0].startswith(site + " ") and "when:" in query["q"][0]
    assert {"hl", "gl", "ceid"} <= query.keys()
