"""Groups in the sandbox's directory JSON and admin API (`PUT /_sandbox/identity`)."""

from __future__ import annotations

import httpx
import pytest

from central365.mailstore.store import SandboxStore
from central365.sandbox.app import create_sandbox_app
from central365.sandbox.identity import IdentityConfig
from central365.sandbox.identity.groups import DirectoryGroup, derived_group_id
from central365.sandbox.transport import InProcessTransport

ROOT = "http://sandbox.test"


def test_groups_round_trip_through_the_directory_json() -> None:
    config = IdentityConfig().updated(
        {
            "groups": [
                {"display_name": "Staff", "members": "demo@contoso.test staff@contoso.test"},
                {
                    "display_name": "All",
                    "members": [derived_group_id("Staff")],
                    "id": derived_group_id("x"),
                },
            ]
        }
    )
    assert config.groups == (
        DirectoryGroup("Staff", ("demo@contoso.test", "staff@contoso.test")),
        DirectoryGroup("All", (derived_group_id("Staff"),), derived_group_id("x")),
    )
    assert IdentityConfig.from_json(config.to_json()) == config


@pytest.mark.parametrize(
    ("groups", "problem"),
    [
        ([{"display_name": "G", "members": ["nobody@contoso.test"]}], "neither a user nor a group"),
        ([{"display_name": "G", "id": "not-a-guid"}], "is not a GUID"),
        ([{"display_name": "G"}, {"display_name": "g"}], "is repeated"),
        ([{"display_name": "G", "colour": "red"}], "unknown group fields: colour"),
    ],
)
def test_a_bad_group_is_refused_with_its_reason(groups: list[object], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        IdentityConfig().updated({"groups": groups})


def test_the_admin_api_sets_groups_that_graph_then_serves() -> None:
    app = create_sandbox_app(SandboxStore())
    with httpx.Client(transport=InProcessTransport(app), base_url=ROOT) as http:
        bad = http.put(
            "/_sandbox/identity", json={"groups": [{"display_name": "G", "members": ["x"]}]}
        )
        assert bad.status_code == 400 and "neither a user nor a group" in bad.json()["error"]
        done = http.put(
            "/_sandbox/identity",
            json={"groups": [{"display_name": "Staff", "members": ["staff@contoso.test"]}]},
        )
        assert done.status_code == 200
        assert done.json()["groups"][0]["id"] == derived_group_id("Staff")
        listed = http.get(
            f"/v1.0/groups/{derived_group_id('Staff')}/transitiveMembers",
            headers={"Authorization": "Bearer x"},
        )
        assert [m["userPrincipalName"] for m in listed.json()["value"]] == ["staff@contoso.test"]
        wrong = http.post(
            f"/v1.0/groups/{derived_group_id('Staff')}/transitiveMembers",
            headers={"Authorization": "Bearer x"},
        )
        assert wrong.status_code == 405
        other = http.get(
            f"/v1.0/groups/{derived_group_id('Staff')}/owners",
            headers={"Authorization": "Bearer x"},
        )
        assert other.status_code == 400
