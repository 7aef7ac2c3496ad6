"""Settings: file + environment, every problem reported at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from central365.config import load_settings
from central365.core.errors import ConfigError
from central365.wiring.connection import SignInMode


def test_defaults_and_environment() -> None:
    settings = load_settings({"CENTRAL365_CENTRAL": "csv:/tmp/x.csv", "CENTRAL365_AUTH": "sandbox"})
    assert settings.central == "csv:/tmp/x.csv"
    assert settings.auth is SignInMode.SANDBOX
    assert settings.folder == "Central Contacts"
    assert settings.graph_url == "https://graph.microsoft.com/v1.0"
    assert settings.mailbox == "me"


def test_environment_wins_over_the_file(tmp_path: Path) -> None:
    file = tmp_path / "c.toml"
    file.write_text('central = "csv:a.csv"\nfolder = "From file"\nauth = "sandbox"\n')
    settings = load_settings({"CENTRAL365_FOLDER": "From env"}, file)
    assert settings.central == "csv:a.csv"
    assert settings.folder == "From env"


def test_the_default_file_is_read_from_the_working_folder() -> None:
    Path("central365.toml").write_text('central = "csv:b.csv"\nauth = "sandbox"\n')
    assert load_settings({}).central == "csv:b.csv"


def test_every_problem_is_reported_together(tmp_path: Path) -> None:
    file = tmp_path / "c.toml"
    file.write_text('colour = "blue"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings({"CENTRAL365_AUTH": "app", "CENTRAL365_TIMEOUT": "-1"}, file)
    text = caught.value.full_message()
    assert "unknown settings: colour" in text
    assert "CENTRAL365_CENTRAL is not set" in text
    assert "CENTRAL365_TIMEOUT" in text


def test_app_sign_in_needs_its_credentials_and_a_mailbox() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({"CENTRAL365_CENTRAL": "csv:x", "CENTRAL365_AUTH": "app"})
    problems = caught.value.problems
    assert any("CENTRAL365_TENANT_ID" in p for p in problems)
    assert any("CENTRAL365_CLIENT_ID" in p for p in problems)
    assert any("CENTRAL365_CLIENT_SECRET" in p for p in problems)
    assert any("CENTRAL365_MAILBOX" in p for p in problems)


def test_the_settings_page_rules_hold_on_the_command_line_too() -> None:
    """One connection check: a folder path, a mailbox that is no address, a multi-tenant word."""
    with pytest.raises(ConfigError) as caught:
        load_settings(
            {
                "CENTRAL365_CENTRAL": "csv:x",
                "CENTRAL365_AUTH": "app",
                "CENTRAL365_TENANT_ID": "organizations",
                "CENTRAL365_CLIENT_ID": "two words",
                "CENTRAL365_CLIENT_SECRET": "s",
                "CENTRAL365_MAILBOX": "shared",
                "CENTRAL365_FOLDER": "Clients/2024",
            }
        )
    assert caught.value.problems == (
        "CENTRAL365_TENANT_ID must be the tenant's own id or domain for app sign-in, not "
        "organizations or common.",
        "CENTRAL365_CLIENT_ID is one word, such as a GUID.",
        "CENTRAL365_MAILBOX must be me, the mailbox's address (name@domain) or its object id.",
        "CENTRAL365_FOLDER: a folder name has at most 255 characters and no / or \\.",
    )


def test_broken_toml_is_a_clear_problem(tmp_path: Path) -> None:
    file = tmp_path / "c.toml"
    file.write_text("central = \n")
    with pytest.raises(ConfigError, match="not complete") as caught:
        load_settings({}, file)
    assert any("not valid TOML" in p for p in caught.value.problems)


def test_secrets_are_not_shown() -> None:
    settings = load_settings(
        {
            "CENTRAL365_CENTRAL": "csv:x",
            "CENTRAL365_AUTH": "app",
            "CENTRAL365_TENANT_ID": "t",
            "CENTRAL365_CLIENT_ID": "c",
            "CENTRAL365_CLIENT_SECRET": "hunter2",
            "CENTRAL365_MAILBOX": "box@example.com",
        }
    )
    assert "hunter2" not in repr(settings)


def test_folders_does_not_need_central() -> None:
    assert load_settings({"CENTRAL365_AUTH": "sandbox"}, require_central=False).central is None


def test_guard_thresholds_come_from_the_file_and_the_environment(tmp_path: Path) -> None:
    from central365.core.guards import GuardThresholds

    base = {"CENTRAL365_CENTRAL": "csv:x.csv", "CENTRAL365_AUTH": "sandbox"}
    assert load_settings(base).guard_thresholds == GuardThresholds()
    config = tmp_path / "central365.toml"
    config.write_text("guard_clear_percent = 25\nguard_min_contacts = 3\n")
    env = base | {"CENTRAL365_GUARD_UPDATE_PERCENT": "75.5"}
    assert load_settings(env, config).guard_thresholds == GuardThresholds(
        clear_percent=25, update_percent=75.5, min_contacts=3
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(
            base | {"CENTRAL365_GUARD_SHRINK_PERCENT": "101", "CENTRAL365_GUARD_MIN_CONTACTS": "0"}
        )
    problems = " ".join(caught.value.problems)
    assert "CENTRAL365_GUARD_SHRINK_PERCENT" in problems
    assert "CENTRAL365_GUARD_MIN_CONTACTS" in problems
