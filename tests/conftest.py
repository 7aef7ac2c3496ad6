"""Shared fixtures: no test sees the developer's CENTRAL365_* variables or settings file."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Strip our variables and run from an empty folder, so ./central365.toml is never read."""
    for name in list(os.environ):
        if name.startswith("CENTRAL365_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    yield
