from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.local_smtp import LocalSmtp


@pytest.fixture
def smtp_server() -> Iterator[LocalSmtp]:
    """A plain local SMTP server without sign-in."""
    server = LocalSmtp().start()
    yield server
    server.stop()


@pytest.fixture
def smtp_tls_server(tmp_path: Path) -> Iterator[LocalSmtp]:
    """A local SMTP server that requires STARTTLS and a sign-in (alert / s3cret-pw)."""
    server = LocalSmtp(username="alert", password="s3cret-pw", tls_dir=tmp_path / "tls").start()
    yield server
    server.stop()
