"""The sandbox on a real port (SandboxServer): HTTP over sockets, persistence, dropped answers."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from central365.sandbox.faults import FaultRule
from central365.sandbox.server import SandboxServer
from tests.sandbox.conftest import AUTH, contact_body

pytestmark = pytest.mark.e2e


def test_state_survives_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "sandbox.json"
    with SandboxServer(state_path=state) as sandbox:
        assert sandbox.url.endswith("/v1.0") and sandbox.admin_url.endswith("/_sandbox")
        with httpx.Client(base_url=sandbox.url, headers=AUTH) as client:
            folder = client.post(
                "/users/demo%40contoso.test/contactFolders", json={"displayName": "CRM"}
            ).json()
            created = client.post(
                f"/me/contactFolders/{folder['id']}/contacts", json=contact_body(1)
            ).json()
        assert httpx.get(f"{sandbox.admin_url}/health").json() == {"status": "ok"}
    assert state.exists()
    with (
        SandboxServer(state_path=state) as sandbox,
        httpx.Client(base_url=sandbox.url, headers=AUTH) as client,
    ):
        again = client.get(f"/me/contactFolders/{folder['id']}/contacts/{created['id']}")
        assert again.status_code == 200 and again.json()["changeKey"] == created["changeKey"]
        listed = client.get(f"/me/contactFolders/{folder['id']}/contacts")
        assert listed.json()["@odata.context"].startswith(sandbox.url)


def test_drop_closes_the_connection_after_the_write() -> None:
    with SandboxServer() as sandbox, httpx.Client(base_url=sandbox.url, headers=AUTH) as client:
        sandbox.context.faults.script([FaultRule(method="POST", drop=True)])
        with pytest.raises(httpx.RemoteProtocolError):
            client.post("/me/contacts", json=contact_body(1))
        assert len(client.get("/me/contacts").json()["value"]) == 1
