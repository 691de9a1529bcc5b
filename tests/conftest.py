"""Shared fixtures. The fault server lives in tests/faultserver.py so benchmarks can import it too."""

from __future__ import annotations

import compileall
import gc
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from faultserver import FaultServer

PACKAGE = Path(__file__).resolve().parents[1] / "crisiswatch"


def _one_collection_at_exit(config: pytest.Config) -> None:
    """One garbage collection when pytest exits, not five.

    pytest collects five times at exit to surface "exception ignored" messages
    from finalizers; with a session's reports and Textual's classes in memory
    that took 1-2 s in the controller and each worker, after the last test.
    One pass still runs every finalizer that a cycle held back. The knob is the
    one pytest's own ``pytester`` sets; a pytest without it leaves the default.
    """
    try:
        from _pytest.unraisableexception import gc_collect_iterations_key
    except ImportError:  # pragma: no cover - another pytest
        return
    config.stash[gc_collect_iterations_key] = 1


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> None:
    """``-n 2`` schedules by work stealing: a worker that runs dry takes half of the other's queue.

    xdist's default ``load`` hands each worker fixed chunks up front; with a few
    5 s tests in one worker's chunk, the other finished its share seconds early
    and waited. Only the default is changed: an explicit ``--dist`` is kept, and
    without ``-n`` nothing is distributed at all.
    """
    option = config.option
    if getattr(option, "numprocesses", None) and getattr(option, "dist", None) == "no" \
            and not getattr(option, "distload", False):
        option.dist = "worksteal"


def pytest_configure(config: pytest.Config) -> None:
    """Byte-compile the package once, before any test spawns ``python -m crisiswatch.cli``.

    Many tests run the real command in a fresh process (kill -9, signals, cron-style
    ``poll --once``), each importing the package from this tree. Where
    PYTHONDONTWRITEBYTECODE is set no ``.pyc`` is ever written, so every one of those
    processes (and its parse-worker forkserver) compiled ~100 modules from source:
    ~0.15 s of CPU each, which no installed copy pays. Compiling here (once, in the xdist
    controller) makes them start as an installed crisiswatch does; an up-to-date
    ``.pyc`` is left as it is, and a read-only tree just means no speed-up.
    """
    _one_collection_at_exit(config)
    if hasattr(config, "workerinput"):
        return  # an xdist worker: the controller has done it
    try:
        compileall.compile_dir(PACKAGE, quiet=2)
    except OSError:
        pass


@pytest.fixture(scope="session")
def fault_server() -> Iterator[FaultServer]:
    """One misbehaving loopback server per test session (per xdist worker)."""
    with FaultServer() as server:
        yield server
    assert not server.errors, f"fault server endpoints crashed: {server.errors}"


@pytest.fixture(scope="session")
def make_httpserver() -> Iterator[object]:
    """pytest-httpserver's session server, stopped in 50 ms instead of up to 0.5 s.

    Its thread runs werkzeug's ``serve_forever`` at the default poll interval
    (0.5 s), and ``stop`` waits for that loop to notice: half a second, idle, at
    the end of every xdist worker's session. Same server, same default address,
    a shorter poll.
    """
    from pytest_httpserver import HTTPServer
    from pytest_httpserver.pytest_plugin import get_httpserver_listen_address

    class _QuickStop(HTTPServer):
        def thread_target(self) -> None:
            assert self.server is not None
            self.server.serve_forever(poll_interval=0.05)

    host, port = get_httpserver_listen_address()
    server = _QuickStop(host=host or HTTPServer.DEFAULT_LISTEN_HOST, port=port or HTTPServer.DEFAULT_LISTEN_PORT)
    server.start()
    yield server
    server.clear()
    if server.is_running():
        server.stop()


@pytest.fixture
def fresh_fault_server() -> Iterator[FaultServer]:
    """A private server for tests that read its counters (max_in_flight, request log)."""
    with FaultServer() as server:
        yield server
    assert not server.errors, f"fault server endpoints crashed: {server.errors}"


def _shorter_idle_slices() -> None:
    """Let Textual's Pilot judge "the app is idle" in 5 ms slices instead of 20 ms.

    ``pilot.press`` waits for CPU idle twice after every key and ``pilot.pause()``
    once, each at least one slice; over the suite's ~1,000 key presses and pauses
    that was a third of the TUI tests' time, spent asleep. Our tests do not lean on
    that guess for correctness: they wait on what the app has in flight
    (``pilotkit.settle``) or on the condition they assert (``pilotkit.wait_for``).
    ``textual._wait`` is private; should a Textual release move it, this does
    nothing and the suite is only slower.
    """
    try:
        from textual import _wait
    except ImportError:  # pragma: no cover - a Textual without the module
        return
    if isinstance(getattr(_wait, "SLEEP_GRANULARITY", None), float) and hasattr(_wait, "SLEEP_IDLE"):
        _wait.SLEEP_GRANULARITY = 1 / 200
        _wait.SLEEP_IDLE = _wait.SLEEP_GRANULARITY / 20


_shorter_idle_slices()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run the tests marked ``slow`` first.

    Under ``pytest -n 2`` the last test to start decides when the run ends: a 5 s
    test left for the end keeps one worker busy while the other has nothing to
    do. Started first, the long ones overlap the many short ones on the other
    worker. The order within each group stays as collected.
    """
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture(autouse=True)
def _release_textual_render_caches() -> Iterator[None]:
    """Drop what Textual keeps of the apps a test started, once it is over.

    ``StylesCache.get_inner_outer`` is an ``lru_cache`` on a method, so it keeps
    the last 1,024 StylesCache objects alive, each with its rendered strips:
    ~100,000 caches by the end of a worker's share of the TUI tests. Every
    garbage collection walks them, and pytest runs five at exit. Guarded: a
    Textual without the cache leaves nothing to do.
    """
    yield
    styles_cache = sys.modules.get("textual._styles_cache")
    cached = getattr(getattr(styles_cache, "StylesCache", None), "get_inner_outer", None)
    if cached is not None and hasattr(cached, "cache_clear"):
        cached.cache_clear()


def pytest_collection_finish(session: pytest.Session) -> None:
    """Keep the garbage collector off what lives for the whole session, and run it less often.

    Measured over the TUI, parse and fastfeed tests: 8.1 s of a 47 s run were spent
    in the collector (5,100 young collections, 42 full ones walking every module,
    test item and Textual class). Freezing what exists after collection moves it out
    of every later collection, and a young generation of 10,000 objects instead of
    700 collects ten times less often: 3.9 s. Cycles are still collected; nothing a
    test checks depends on when.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 20, 20)
