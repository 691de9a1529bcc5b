"""Shared fixtures. The fault server lives in tests/faultserver.py so benchmarks can import it too."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from faultserver import FaultServer


@pytest.fixture(scope="session")
def fault_server() -> Iterator[FaultServer]:
    """One misbehaving loopback server per test session (per xdist worker)."""
    with FaultServer() as server:
        yield server
    assert not server.errors, f"fault server endpoints crashed: {server.errors}"


@pytest.fixture
def fresh_fault_server() -> Iterator[FaultServer]:
    """A private server for tests that read its counters (max_in_flight, request log)."""
    with FaultServer() as server:
        yield server
    assert not server.errors, f"fault server endpoints crashed: {server.errors}"
