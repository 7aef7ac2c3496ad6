"""Shared fixtures: no test sees the developer's CENTRAL365_* variables or settings file."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Strip our variables and run from an empty folder, so ./central365.toml is never read."""
    for name in list(os.environ):
        if name.startswith("CENTRAL365_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    yield


_REAL_CONNECT = socket.socket.connect
_REAL_BIND = socket.socket.bind


@pytest.fixture(autouse=True)
def no_sockets_outside_the_socket_tiers(request: pytest.FixtureRequest) -> Iterator[None]:
    """`pytest -m "not e2e and not db"` opens no network socket: the rest runs in process.

    A test that binds or connects a TCP socket must say so with the `e2e` (real processes and
    ports) or `db` (the PostgreSQL/MariaDB servers) marker.  Unix sockets (asyncio's own
    plumbing) stay allowed.
    """
    if request.node.get_closest_marker("e2e") or request.node.get_closest_marker("db"):
        yield
        return

    def refuse(kind: str) -> Any:
        def guarded(self: socket.socket, address: Any) -> Any:
            if self.family in (socket.AF_INET, socket.AF_INET6):
                raise AssertionError(
                    f"{request.node.nodeid} {kind}s a network socket ({address!r}): "
                    "mark it e2e (or db), or keep it in process"
                )
            real = _REAL_CONNECT if kind == "connect" else _REAL_BIND
            return real(self, address)

        return guarded

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", refuse("connect"))
        patch.setattr(socket.socket, "bind", refuse("bind"))
        yield
