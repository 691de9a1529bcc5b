"""``feeds add`` discovery goes through the poller's bounded HTTP layer and its safe parser.

Real loopback servers only (tests/faultserver.py): a decompression bomb, entity
amplification, redirect loops and stalls must cost discovery what they cost a poll.
"""

from __future__ import annotations

import time
import tracemalloc
from pathlib import Path

import pytest
from faultserver import FaultServer, double_gzip_bomb

from crisiswatch.cli import main
from crisiswatch.config import load_config
from crisiswatch.discover import DiscoveryError, discover
from crisiswatch.fetch import tls_context


def test_double_gzip_bomb_is_stopped_at_the_cap_in_bounded_memory(fault_server: FaultServer) -> None:
    """~11 KB on the wire, ``Content-Encoding: gzip, gzip``, 2 GiB inflated: was a 2 GB allocation."""
    double_gzip_bomb()  # the in-process server builds it once (8 MiB of zeros); not the client's memory
    tls_context()  # nor the CA bundle, loaded once per process
    tracemalloc.start()
    try:
        with pytest.raises(DiscoveryError, match=r"body over the 1 MB cap"):
            discover(fault_server.url("/double-gzip"), max_bytes=1_000_000, timeout=10)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 6_000_000, f"peak {peak / 1e6:.1f} MB inflating a 2 GiB double-gzip body under a 1 MB cap"


@pytest.mark.parametrize("enc", ["gzip", "br"])
def test_single_layer_bomb_is_stopped_too(fault_server: FaultServer, enc: str) -> None:
    with pytest.raises(DiscoveryError, match=r"body over the 2 MB cap"):
        discover(fault_server.url(f"/bomb?enc={enc}&gb=1"), max_bytes=2_000_000, timeout=10)


def test_entity_amplification_never_reaches_the_title(fault_server: FaultServer) -> None:
    """The billion-laughs feed is read by the poller's parser (DOCTYPE stripped): no 'lol' × 10⁹."""
    started = time.monotonic()
    found = discover(fault_server.url("/billion-laughs"), timeout=10)
    assert "lollol" not in found.title
    assert len(found.title) <= 80
    assert time.monotonic() - started < 5


def test_quadratic_blowup_feed_is_bounded(fault_server: FaultServer) -> None:
    found = discover(fault_server.url("/quadratic"), timeout=10)
    assert found.title == "quadratic"


def test_a_stalling_server_costs_the_deadline(fault_server: FaultServer) -> None:
    started = time.monotonic()
    with pytest.raises(DiscoveryError, match=r"timed out after 0\.15s"):
        discover(fault_server.url("/stall-body?seconds=30"), timeout=0.15)
    assert time.monotonic() - started < 0.15 + 2


def test_a_trickling_server_costs_the_deadline(fault_server: FaultServer) -> None:
    started = time.monotonic()
    with pytest.raises(DiscoveryError, match=r"timed out"):
        discover(fault_server.url("/trickle?interval=0.05&size=100000"), timeout=0.15)
    assert time.monotonic() - started < 0.15 + 2


@pytest.mark.parametrize(("path", "reason"), [
    ("/loop/a", "redirect loop"),
    ("/chain?hops=7", "more than 5 redirects"),
    ("/redirect?code=301&to=file:///etc/passwd", r"non-http\(s\) URL"),
])
def test_redirects_are_checked_by_hand(fault_server: FaultServer, path: str, reason: str) -> None:
    with pytest.raises(DiscoveryError, match=reason):
        discover(fault_server.url(path), timeout=5)


def test_a_temporary_redirect_to_a_feed_keeps_the_given_url(fault_server: FaultServer) -> None:
    url = fault_server.url("/redirect?code=302&to=/rss%3Ftag%3Ddisc")
    found = discover(url, timeout=5)
    assert (found.url, found.title, found.via_page) == (url, "Fault server feed", False)


def test_discovery_sends_no_cookies_and_the_configured_agent(fresh_fault_server: FaultServer) -> None:
    discover(fresh_fault_server.url("/rss?tag=agent"), timeout=5, user_agent="desk-agent/1")
    request = fresh_fault_server.requests_to("/rss?tag=agent")[-1]
    assert request.headers["user-agent"] == "desk-agent/1"
    assert "cookie" not in request.headers
    assert "gzip" in request.headers["accept-encoding"]


def test_feeds_add_refuses_a_bomb_and_leaves_the_config_alone(fault_server: FaultServer, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "feeds.toml"
    config.write_text('[settings]\nmax_feed_bytes = "1MB"\n', encoding="utf-8")
    before = config.read_bytes()
    assert main(["--config", str(config), "feeds", "add", fault_server.url("/double-gzip")]) == 1
    err = capsys.readouterr().err
    assert "body over the 1 MB cap" in err and "Traceback" not in err
    assert config.read_bytes() == before
    assert main(["--config", str(config), "feeds", "add", fault_server.url("/rss?tag=added")]) == 0
    assert load_config(config).feeds[-1].url == fault_server.url("/rss?tag=added")
