"""SettingsRepository on SQLite and PostgreSQL: the single row, and secrets kept sealed."""

from __future__ import annotations

from dataclasses import replace

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from central365.appdb import AppSettings, AuthChoice, Database, SecretBox, SettingsRepository
from central365.appdb.models import AppSettingsRow
from central365.core.errors import ConfigError

from .conftest import FakeClock

SETTINGS = AppSettings(
    folder_name="Central Contacts",
    central_url="postgresql+psycopg://crm:hunter2@db.example/central",
    central_table="people",
    column_mapping={"id": "ContactID", "first_name": "Forename"},
    auth_mode=AuthChoice.APP_ONLY,
    tenant_id="tenant-1",
    client_id="client-1",
    target_mailbox="contacts@contoso.test",
)


def test_nothing_is_stored_at_first(database: Database, box: SecretBox) -> None:
    repo = SettingsRepository(database, box)
    assert repo.load() is None
    assert repo.client_secret() is None
    assert repo.client_certificate_pem() is None


def test_save_and_load(database: Database, box: SecretBox, clock: FakeClock) -> None:
    repo = SettingsRepository(database, box, clock)
    repo.save(SETTINGS, client_secret="the-secret", client_certificate_pem="PEM", by="ann")
    loaded = repo.load()
    assert loaded == replace(
        SETTINGS,
        has_client_secret=True,
        has_client_certificate=True,
        updated_at=clock.now,
        updated_by="ann",
    )
    assert loaded is not None and loaded.updated_at is not None
    assert loaded.updated_at.utcoffset() is not None
    assert repo.client_secret() == "the-secret"
    assert repo.client_certificate_pem() == "PEM"


def test_none_keeps_a_secret_and_empty_removes_it(database: Database, box: SecretBox) -> None:
    repo = SettingsRepository(database, box)
    repo.save(SETTINGS, client_secret="one", client_certificate_pem="PEM", by="ann")
    repo.save(replace(SETTINGS, folder_name="Other"), by="bob")
    loaded = repo.load()
    assert loaded is not None
    assert (loaded.folder_name, loaded.updated_by) == ("Other", "bob")
    assert repo.client_secret() == "one"
    repo.save(SETTINGS, client_secret="", by="bob")
    loaded = repo.load()
    assert loaded is not None
    assert not loaded.has_client_secret and loaded.has_client_certificate
    assert repo.client_secret() is None
    repo.save(SETTINGS, client_secret="two", client_certificate_pem="", by="bob")
    assert repo.client_secret() == "two"
    assert repo.client_certificate_pem() is None


def test_secrets_and_the_central_url_are_sealed_in_the_row(
    database: Database, box: SecretBox
) -> None:
    SettingsRepository(database, box).save(
        SETTINGS, client_secret="the-secret", client_certificate_pem="-----BEGIN", by="ann"
    )
    with database.session() as s, s.begin():
        row = s.execute(select(AppSettingsRow)).scalar_one()
        stored = " ".join(str(v) for v in vars(row).values())
    for plain in ("the-secret", "-----BEGIN", "hunter2"):
        assert plain not in stored


def test_a_changed_key_asks_for_the_secrets_again(database: Database, box: SecretBox) -> None:
    SettingsRepository(database, box).save(SETTINGS, client_secret="s", by="ann")
    other = SettingsRepository(database, SecretBox(Fernet.generate_key()))
    with pytest.raises(ConfigError, match="secret key has changed"):
        other.client_secret()
    loaded = other.load()  # the Settings page can still be shown
    assert loaded is not None
    assert (loaded.secrets_unreadable, loaded.central_url, loaded.folder_name) == (
        True,
        "",
        SETTINGS.folder_name,
    )
    other.save(SETTINGS, client_secret="new", by="ann")  # entering them again works
    assert other.client_secret() == "new"
    loaded = other.load()
    assert loaded is not None and not loaded.secrets_unreadable
    assert loaded.central_url == SETTINGS.central_url


def test_a_changed_key_is_flagged_even_when_only_the_certificate_is_stale(
    database: Database, box: SecretBox
) -> None:
    SettingsRepository(database, box).save(SETTINGS, client_certificate_pem="PEM", by="ann")
    other = SettingsRepository(database, SecretBox(Fernet.generate_key()))
    other.save(SETTINGS, by="bob")  # the URL is sealed anew, the certificate is kept
    loaded = other.load()
    assert loaded is not None and loaded.secrets_unreadable
    assert loaded.central_url == SETTINGS.central_url
    with pytest.raises(ConfigError, match="secret key has changed"):
        other.client_certificate_pem()


def test_guard_thresholds_are_stored_and_none_means_the_start_up_ones(
    database: Database, box: SecretBox
) -> None:
    from sqlalchemy import update

    from central365.core.guards import GuardThresholds

    repo = SettingsRepository(database, box)
    repo.save(SETTINGS, by="ann")
    loaded = repo.load()
    assert loaded is not None and loaded.guard_thresholds is None
    chosen = GuardThresholds(clear_percent=5, update_percent=25.5, min_contacts=3)
    repo.save(replace(SETTINGS, guard_thresholds=chosen), by="ann")
    loaded = repo.load()
    assert loaded is not None and loaded.guard_thresholds == chosen
    with database.session(write=True) as s, s.begin():
        s.execute(update(AppSettingsRow).values(guard_thresholds="not json"))
    loaded = repo.load()
    assert loaded is not None and loaded.guard_thresholds is None  # unreadable: start-up's


def test_write_policies_are_stored_and_none_means_the_start_up_ones(
    database: Database, box: SecretBox
) -> None:
    from sqlalchemy import update

    from central365.core.policy import DeletedContacts, FieldPolicy

    repo = SettingsRepository(database, box)
    repo.save(SETTINGS, by="ann")
    loaded = repo.load()
    assert loaded is not None
    assert (loaded.field_policies, loaded.deleted_contacts) == (None, None)
    chosen = {"mobilePhone": FieldPolicy.IGNORE, "homeAddress.city": FieldPolicy.NEVER_CLEAR}
    repo.save(
        replace(SETTINGS, field_policies=chosen, deleted_contacts=DeletedContacts.RESPECT_DELETES),
        by="ann",
    )
    loaded = repo.load()
    assert loaded is not None and loaded.field_policies == chosen
    assert loaded.deleted_contacts is DeletedContacts.RESPECT_DELETES
    # "All overwrite" chosen on the page is stored as such, not as "the start-up ones".
    repo.save(replace(SETTINGS, field_policies={}), by="ann")
    loaded = repo.load()
    assert loaded is not None and loaded.field_policies == {}
    with database.session(write=True) as s, s.begin():
        s.execute(update(AppSettingsRow).values(field_policies="[1]", deleted_contacts="forget"))
    loaded = repo.load()  # unreadable: the start-up ones apply
    assert loaded is not None
    assert (loaded.field_policies, loaded.deleted_contacts) == (None, None)
    with database.session(write=True) as s, s.begin():
        s.execute(update(AppSettingsRow).values(field_policies='{"nope": "ignore"}'))
    loaded = repo.load()  # an unknown field is dropped, as the command line would refuse it
    assert loaded is not None and loaded.field_policies == {}
