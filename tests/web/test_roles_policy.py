"""The access policy as a table (role and mode → what is allowed), the tenant rule and their settings."""

from __future__ import annotations

import pytest

from central365.appdb import AuthChoice
from central365.config import Settings, load_settings
from central365.core.errors import ConfigError
from central365.web.roles import (
    Person,
    Role,
    access_for,
    denied_advice,
    roles_of,
    write_refusal,
)
from central365.web.tenancy import tenancy_of

SHARED = "shared@contoso.test"
DELEGATED, APP_ONLY = AuthChoice.DELEGATED, AuthChoice.APP_ONLY

ADMIN = Person("1", "oid-a", "alice@contoso.test", frozenset({Role.ADMIN}))
SYNC = Person("2", "oid-s", "sam@contoso.test", frozenset({Role.SYNC}))
PLAIN = Person("3", "oid-p", "pat@contoso.test", frozenset())
APP = Person("4", "oid-app", "app:script", frozenset({Role.SYNC}), is_app=True)


# (person, mode) -> (settings, every run, mailbox acted on)
TABLE = [
    (ADMIN, DELEGATED, True, True, "alice@contoso.test"),
    (ADMIN, APP_ONLY, True, True, SHARED),
    (SYNC, DELEGATED, False, False, "sam@contoso.test"),
    (SYNC, APP_ONLY, False, False, SHARED),
    (PLAIN, DELEGATED, False, False, "pat@contoso.test"),
    (PLAIN, APP_ONLY, False, False, None),
    (APP, DELEGATED, False, False, None),
    (APP, APP_ONLY, False, False, SHARED),
]


@pytest.mark.parametrize(("person", "mode", "settings", "every_run", "acts_on"), TABLE)
def test_who_may_do_what(
    person: Person, mode: AuthChoice, settings: bool, every_run: bool, acts_on: str | None
) -> None:
    # A stored target mailbox never changes whose mailbox delegated mode writes into.
    access = access_for(person, mode=mode, target_mailbox=SHARED, admins=())
    assert access.may_open_settings is settings
    assert access.may_see_every_run is every_run
    assert access.acts_on == acts_on
    assert access.may_start_runs is (acts_on is not None)
    assert (access.refusal is None) is (acts_on is not None)


def test_a_person_without_a_role_in_app_only_mode_is_told_which_role_to_ask_for() -> None:
    access = access_for(PLAIN, mode=APP_ONLY, target_mailbox=SHARED, admins=())
    assert access.refusal is not None and "Central365.Sync" in access.refusal
    assert access.visible_mailboxes == frozenset({"pat@contoso.test"})
    assert not access.may_see_run(SHARED)


def test_history_shows_own_and_acted_on_mailboxes_and_admins_everything() -> None:
    sync = access_for(SYNC, mode=APP_ONLY, target_mailbox="Shared@Contoso.test", admins=())
    assert sync.visible_mailboxes == frozenset({"sam@contoso.test", "shared@contoso.test"})
    assert sync.may_see_run("SHARED@contoso.test") and not sync.may_see_run("alice@contoso.test")
    admin = access_for(ADMIN, mode=DELEGATED, target_mailbox=None, admins=())
    assert admin.visible_mailboxes is None and admin.may_see_run("anyone@else.test")


def test_plans_are_shared_per_person_in_delegated_mode_and_per_app_in_app_only() -> None:
    assert access_for(PLAIN, mode=DELEGATED, target_mailbox=None, admins=()).plan_scope == "user:3"
    assert access_for(SYNC, mode=DELEGATED, target_mailbox=None, admins=()).plan_scope == "user:2"
    app_only = {
        access_for(p, mode=APP_ONLY, target_mailbox=SHARED, admins=()).plan_scope
        for p in (ADMIN, SYNC)
    }
    assert app_only == {"app"}


@pytest.mark.parametrize("named", ["PAT@contoso.test", "oid-P", " pat@contoso.test "])
def test_admins_named_at_start_up_by_upn_or_object_id(named: str) -> None:
    access = access_for(PLAIN, mode=APP_ONLY, target_mailbox=SHARED, admins=(named,))
    assert access.is_admin and access.may_open_settings and access.acts_on == SHARED
    assert Role.ADMIN in access.roles


def test_roles_are_read_from_the_claim_any_case_unknown_ones_ignored() -> None:
    assert roles_of(["central365.admin", "Other.Role", "Central365.Sync"]) == {
        Role.ADMIN,
        Role.SYNC,
    }
    assert roles_of([]) == frozenset()


def test_write_refusal_speaks_for_the_mode() -> None:
    assert write_refusal(DELEGATED, {"https://graph.microsoft.com/Contacts.ReadWrite"}) is None
    assert write_refusal(APP_ONLY, {"Contacts.ReadWrite"}) is None
    delegated = write_refusal(DELEGATED, {"Contacts.Read", "User.Read"})
    app_only = write_refusal(APP_ONLY, set())
    assert delegated and "Your Microsoft sign-in" in delegated and "admin consent" in delegated
    assert app_only and "application permission Contacts.ReadWrite" in app_only


def test_a_graph_403_gets_advice_fit_for_the_mode() -> None:
    error = "Office 365 denied access for the folder list (403 ErrorAccessDenied: Access is denied)"
    delegated, app_only = denied_advice(DELEGATED, error), denied_advice(APP_ONLY, error)
    assert delegated and "your account" in delegated and "consent" in delegated
    assert app_only and "application permission" in app_only and "RBAC" in app_only
    assert denied_advice(DELEGATED, "Office 365 refused the contact (400 Bad)") is None
    assert denied_advice(APP_ONLY, None) is None


# -- tenants ----------------------------------------------------------------------------------


@pytest.mark.parametrize("tenant", [None, "organizations", "common", "Consumers", "contoso.com"])
def test_a_homepage_without_a_fixed_tenant_is_refused(tenant: str | None) -> None:
    with pytest.raises(ConfigError) as refused:
        tenancy_of(Settings(tenant_id=tenant))
    message = refused.value.message
    assert "CENTRAL365_TENANT_ID" in message and "CENTRAL365_TENANTS" in message
    assert message.endswith(".") and ". " not in message  # one sentence


def test_a_fixed_tenant_or_an_allow_list() -> None:
    one = tenancy_of(Settings(tenant_id="Tenant-1"))
    assert one.authority_tenant == "Tenant-1"
    assert one.allows("tenant-1") and not one.allows("tenant-2") and not one.allows("")
    listed = tenancy_of(Settings(tenants=("tenant-1", "tenant-2")))
    assert listed.authority_tenant == "organizations"
    assert listed.allows("TENANT-2") and not listed.allows("tenant-3")
    single = tenancy_of(Settings(tenants=("tenant-9",)))
    assert single.authority_tenant == "tenant-9"
    with pytest.raises(ConfigError):
        tenancy_of(Settings(tenant_id="tenant-1", tenants=("organizations",)))


def test_admins_and_tenants_come_from_the_environment_as_lists() -> None:
    settings = load_settings(
        {
            "CENTRAL365_CENTRAL": "csv:x.csv",
            "CENTRAL365_CLIENT_ID": "c",
            "CENTRAL365_ADMINS": "Alice@Contoso.test, 0000-oid  bob@contoso.test",
            "CENTRAL365_TENANTS": "t1;t2",
        }
    )
    assert settings.admins == ("Alice@Contoso.test", "0000-oid", "bob@contoso.test")
    assert settings.tenants == ("t1", "t2")
