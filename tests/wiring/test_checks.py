"""The one connection check: each rule, and that every front has words for every problem."""

from __future__ import annotations

from dataclasses import replace

import pytest

from central365.config import _cli_words
from central365.web.settings_form import _form_words
from central365.wiring.checks import (
    _MESSAGES,
    Draft,
    FieldProblem,
    Rule,
    Setting,
    problems_of,
)
from central365.wiring.connection import SignInMode

APP = Draft(
    mode=SignInMode.APP,
    folder="Central Contacts",
    tenant="contoso.onmicrosoft.com",
    client_id="0b1c2d3e-aaaa-bbbb-cccc-0123456789ab",
    has_credential=True,
    mailbox="shared@contoso.com",
)


def found(draft: Draft) -> set[tuple[Setting, Rule]]:
    return {(p.field, p.rule) for p in problems_of(draft)}


def test_a_complete_app_draft_has_no_problem() -> None:
    assert problems_of(APP) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"tenant": None}, (Setting.TENANT, Rule.MISSING)),
        ({"tenant": "organizations"}, (Setting.TENANT, Rule.MALFORMED)),
        ({"tenant": "Common"}, (Setting.TENANT, Rule.MALFORMED)),
        ({"tenant": "contoso tenant"}, (Setting.TENANT, Rule.MALFORMED)),
        ({"client_id": ""}, (Setting.CLIENT_ID, Rule.MISSING)),
        ({"client_id": "two words"}, (Setting.CLIENT_ID, Rule.MALFORMED)),
        ({"client_id": "x" * 129}, (Setting.CLIENT_ID, Rule.MALFORMED)),
        ({"has_credential": False}, (Setting.CREDENTIAL, Rule.MISSING)),
        ({"mailbox": "me"}, (Setting.MAILBOX, Rule.MISSING)),
        ({"mailbox": ""}, (Setting.MAILBOX, Rule.MISSING)),
        ({"mailbox": "shared"}, (Setting.MAILBOX, Rule.MALFORMED)),
        ({"folder": ""}, (Setting.FOLDER, Rule.MISSING)),
        ({"folder": "a/b"}, (Setting.FOLDER, Rule.MALFORMED)),
        ({"folder": "a\\b"}, (Setting.FOLDER, Rule.MALFORMED)),
        ({"folder": "x" * 256}, (Setting.FOLDER, Rule.MALFORMED)),
    ],
)
def test_each_rule_names_its_field(
    change: dict[str, object], expected: tuple[Setting, Rule]
) -> None:
    assert found(replace(APP, **change)) == {expected}  # type: ignore[arg-type]


def test_the_rules_follow_the_sign_in_mode() -> None:
    bare = Draft(None, "F", None, None, False, None)
    # The homepage's person: a confidential client needs its id and credential, no tenant.
    assert found(bare) == {(Setting.CLIENT_ID, Rule.MISSING), (Setting.CREDENTIAL, Rule.MISSING)}
    # Device sign-in is a public client: a client id, no credential, `me` is the person.
    device = replace(bare, mode=SignInMode.DEVICE, mailbox="me")
    assert found(device) == {(Setting.CLIENT_ID, Rule.MISSING)}
    # The sandbox takes any token: nothing about the app registration is asked.
    assert found(replace(bare, mode=SignInMode.SANDBOX)) == set()
    # A mailbox given by object id is as good as an address.
    guid = "0b1c2d3e-aaaa-bbbb-cccc-0123456789ab"
    assert found(replace(APP, mailbox=guid)) == set()


def test_problems_come_in_the_order_a_person_fixes_them() -> None:
    draft = Draft(SignInMode.APP, "", None, None, False, None)
    assert [p.field for p in problems_of(draft)] == [
        Setting.TENANT,
        Setting.CLIENT_ID,
        Setting.CREDENTIAL,
        Setting.MAILBOX,
        Setting.FOLDER,
    ]


@pytest.mark.parametrize("problem", [FieldProblem(f, r) for f, r in _MESSAGES])
def test_every_problem_has_words_in_each_front(problem: FieldProblem) -> None:
    """A rule added to the check without a sentence in a front fails here, not in front of a user."""
    assert problem.message.endswith(".")
    for mode in SignInMode:
        cli = _cli_words(problem, mode)
        assert cli.endswith(".") and "CENTRAL365_" in cli
    assert _form_words(problem).endswith(".")


def test_every_setting_has_a_neutral_message() -> None:
    assert {field for field, _ in _MESSAGES} == set(Setting)
