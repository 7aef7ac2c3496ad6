"""`[fields]`: the per-field write policies, from central365.toml or the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from central365.config import load_settings
from central365.core.errors import ConfigError
from central365.core.policy import FieldPolicy
from central365.wiring.settings import connection_from_settings

BASE = 'central = "csv:a.csv"\nauth = "sandbox"\n'


def test_no_fields_table_means_every_field_is_overwritten(tmp_path: Path) -> None:
    file = tmp_path / "c.toml"
    file.write_text(BASE)
    settings = load_settings({}, file)
    assert settings.field_policies == {}
    assert dict(connection_from_settings(settings).field_policies) == {}


def test_the_fields_table_with_dotted_and_quoted_keys(tmp_path: Path) -> None:
    file = tmp_path / "c.toml"
    file.write_text(
        BASE + "[fields]\n"
        'mobilePhone = "keep_office365_edits"\n'
        'homeAddress.city = "never_clear"\n'
        '"businessPhones[0]" = "Fill_Blanks"\n'
        'website = "ignore"\n'
    )
    settings = load_settings({}, file)
    expected = {
        "mobilePhone": FieldPolicy.KEEP_OFFICE365_EDITS,
        "homeAddress.city": FieldPolicy.NEVER_CLEAR,
        "businessPhones[0]": FieldPolicy.FILL_BLANKS,
        "businessHomePage": FieldPolicy.IGNORE,
    }
    assert settings.field_policies == expected
    assert dict(connection_from_settings(settings).field_policies) == expected


def test_the_environment_gives_pairs_and_wins(tmp_path: Path) -> None:
    file = tmp_path / "c.toml"
    file.write_text(BASE + '[fields]\nmobilePhone = "ignore"\n')
    env = {"CENTRAL365_FIELDS": "mobilePhone=fill_blanks, emailAddresses[0]=never_clear"}
    assert load_settings(env, file).field_policies == {
        "mobilePhone": FieldPolicy.FILL_BLANKS,
        "emailAddresses[0]": FieldPolicy.NEVER_CLEAR,
    }


def test_every_bad_field_is_reported_with_its_name(tmp_path: Path) -> None:
    file = tmp_path / "c.toml"
    file.write_text(
        BASE + "[fields]\n"
        'nickname = "ignore"\n'
        'mobilePhone = "keep"\n'
        '"emailAddresses[0]" = "ignore"\n'
        "title = 3\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_settings({}, file)
    problems = caught.value.problems
    assert len(problems) == 4
    assert problems[0].startswith("[fields] in central365.toml or CENTRAL365_FIELDS: 'nickname'")
    assert "is not a synced field" in problems[0] and "mobilePhone" in problems[0]
    assert "mobilePhone: 'keep' is not a write policy" in problems[1]
    assert "keep_office365_edits" in problems[1]
    assert "emailAddresses[0] cannot be ignored" in problems[2]
    assert "title: '3' is not a write policy" in problems[3]


def test_deleted_contacts_and_the_delete_threshold_from_the_file_and_the_environment(
    tmp_path: Path,
) -> None:
    from central365.core.policy import DeletedContacts

    file = tmp_path / "c.toml"
    file.write_text(BASE)
    settings = load_settings({}, file)
    assert settings.deleted_contacts is DeletedContacts.RECREATE
    assert settings.guard_thresholds.delete_percent == 10
    file.write_text('deleted_contacts = "respect_deletes"\nguard_delete_percent = 25\n' + BASE)
    settings = load_settings({}, file)
    assert settings.deleted_contacts is DeletedContacts.RESPECT_DELETES
    assert settings.guard_thresholds.delete_percent == 25
    connection = connection_from_settings(settings)
    assert connection.deleted_contacts is DeletedContacts.RESPECT_DELETES
    env = {"CENTRAL365_DELETED_CONTACTS": "recreate", "CENTRAL365_GUARD_DELETE_PERCENT": "5"}
    settings = load_settings(env, file)
    assert settings.deleted_contacts is DeletedContacts.RECREATE
    assert settings.guard_thresholds.delete_percent == 5
    with pytest.raises(ConfigError) as refused:
        load_settings({"CENTRAL365_GUARD_DELETE_PERCENT": "150"}, file)
    assert "CENTRAL365_GUARD_DELETE_PERCENT" in refused.value.full_message()
