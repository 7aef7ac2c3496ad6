"""`[targets.NAME]` in the settings file: checked once, every problem in one sentence each."""

from __future__ import annotations

from pathlib import Path

import pytest

from central365.config import load_settings, target_named
from central365.core.errors import ConfigError
from central365.core.model import State
from central365.core.targets import SyncTarget

GROUP = "0d9b6c1e-2f3a-4b5c-8d7e-6f5a4b3c2d1e"
ENV = {"CENTRAL365_CENTRAL": "csv:x.csv", "CENTRAL365_AUTH": "sandbox"}


def settings_file(tmp_path: Path, text: str) -> Path:
    file = tmp_path / "central365.toml"
    file.write_text('folder = "Top Folder"\n' + text, encoding="utf-8")
    return file


def problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_settings(ENV, settings_file(tmp_path, text))
    return list(caught.value.problems)


def test_the_issues_example_and_a_group_target(tmp_path: Path) -> None:
    file = settings_file(
        tmp_path,
        """
[targets.staff]
mailboxes = ["ann@contoso.test", "bob@contoso.test"]
folder = "Central Contacts"
states = ["new", "update"]
schedule = "0 2 * * *"
timezone = "Europe/London"

[targets.sales]
group = "{GROUP}"
states = ["new"]
""".replace("{GROUP}", GROUP),
    )
    settings = load_settings(ENV, file)
    assert settings.targets == (
        SyncTarget(
            "staff",
            "Central Contacts",
            ("ann@contoso.test", "bob@contoso.test"),
            states=frozenset({State.NEW, State.UPDATE}),
            schedule="0 2 * * *",
            timezone="Europe/London",
        ),
        SyncTarget("sales", "Top Folder", group=GROUP, states=frozenset({State.NEW})),
    )
    assert target_named(settings, "sales").folder == "Top Folder"  # the top-level folder


def test_no_targets_by_default_and_an_unknown_name_lists_the_known(tmp_path: Path) -> None:
    assert load_settings(ENV).targets == ()
    with pytest.raises(ConfigError, match=r"add a \[targets\.NAME\] table"):
        target_named(load_settings(ENV), "staff")
    file = settings_file(tmp_path, '[targets.staff]\nmailboxes = ["a@b.test"]\n')
    with pytest.raises(
        ConfigError, match=r"No target is called nightly: the settings file has staff\."
    ):
        target_named(load_settings(ENV, file), "nightly")


def test_mailboxes_or_a_group_never_both_nor_neither(tmp_path: Path) -> None:
    both = problems(tmp_path, f'[targets.t]\nmailboxes = ["a@b.test"]\ngroup = "{GROUP}"\n')
    example = 'e.g. mailboxes = ["ann@contoso.com"], group = "<Entra group id>" or me = true'
    assert both == [
        f"targets.t: give its mailboxes, one group or me = true, only one of them ({example})."
    ]
    neither = problems(tmp_path, '[targets.t]\nfolder = "X"\n')
    assert neither == [f"targets.t: name its mailboxes, its group or me = true ({example})."]


def test_every_problem_of_every_target_is_reported_together(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        """
[targets.staff]
mailboxes = ["ann@contoso.test", "not-an-address", "ANN@contoso.test"]
folder = "a/b"
states = ["new", "deleted"]
schedule = "0 25 * * *"
timezone = "Europe/Nowhere"
colour = "blue"

[targets.sales]
group = "Sales team"

[targets."bad name!"]
mailboxes = ["a@b.test"]
""",
    )
    assert found == [
        "targets.staff.colour: unknown key; a target has mailboxes, group, me, folder, states, "
        "schedule, timezone.",
        "targets.staff.mailboxes: 'not-an-address' is not a mailbox address (name@domain) or an "
        "object id.",
        "targets.staff.mailboxes: ANN@contoso.test is listed twice.",
        "targets.staff.folder: a folder name has at most 255 characters and no / or \\.",
        "targets.staff.states: deleted cannot be written; a target writes new and/or update.",
        "targets.staff.schedule: '0 25 * * *' is not a cron expression of five fields (minute "
        'hour day-of-month month day-of-week), e.g. "0 2 * * *" for 02:00 every day.',
        "targets.staff.timezone: 'Europe/Nowhere' is not a time zone; use an IANA name such as "
        '"Europe/London" or "UTC".',
        "targets.sales.group must be the Entra group's object id (a GUID such as "
        "0d9b6c1e-2f3a-4b5c-8d7e-6f5a4b3c2d1e), not its name.",
        "targets.bad name!: a target's name has letters, digits, - and _ only (at most 64).",
    ]


@pytest.mark.parametrize(
    ("schedule", "ok"),
    [
        ("0 2 * * *", True),
        ("*/15 8-18 * * mon-fri", True),
        ("0 2 * *", False),  # four fields
        ("0 0 2 * * *", False),  # six fields (seconds) are not taken
        ("@daily", False),
        ("0 2 31 2 *", True),  # valid syntax; croniter, not us, knows it never fires
    ],
)
def test_schedules_are_five_field_cron_expressions(tmp_path: Path, schedule: str, ok: bool) -> None:
    text = f'[targets.t]\nmailboxes = ["a@b.test"]\nschedule = "{schedule}"\ntimezone = "UTC"\n'
    if ok:
        (target,) = load_settings(ENV, settings_file(tmp_path, text)).targets
        assert target.schedule == schedule
    else:
        assert [p.split(":")[0] for p in problems(tmp_path, text)] == ["targets.t.schedule"]


def test_a_schedule_needs_its_time_zone_and_states_must_be_a_list(tmp_path: Path) -> None:
    found = problems(
        tmp_path, '[targets.t]\nmailboxes = ["a@b.test"]\nschedule = "0 2 * * *"\nstates = "new"\n'
    )
    assert found == [
        'targets.t.states must be a list of new and update, e.g. ["new"].',
        'targets.t.timezone: a schedule needs its time zone, e.g. timezone = "Europe/London".',
    ]


def test_targets_come_from_the_file_only_and_must_be_tables(tmp_path: Path) -> None:
    assert load_settings({**ENV, "CENTRAL365_TARGETS": "staff"}).targets == ()
    assert problems(tmp_path, 'targets = "staff"\n') == [
        "targets must be a table of targets: [targets.NAME] sections."
    ]
    assert problems(tmp_path, "[targets]\nstaff = 3\n") == [
        "targets.staff must be a table: [targets.staff] with its mailboxes and folder."
    ]


def test_target_problems_come_with_the_other_settings_problems(tmp_path: Path) -> None:
    file = settings_file(tmp_path, '[targets.t]\nmailboxes = ["nope"]\n')
    with pytest.raises(ConfigError) as caught:
        load_settings({"CENTRAL365_AUTH": "sandbox", "CENTRAL365_TIMEOUT": "-1"}, file)
    text = caught.value.full_message()
    assert "targets.t.mailboxes: 'nope'" in text
    assert "CENTRAL365_TIMEOUT" in text and "CENTRAL365_CENTRAL is not set" in text


def test_a_target_of_the_signed_in_person(tmp_path: Path) -> None:
    settings = load_settings(ENV, settings_file(tmp_path, "[targets.mine]\nme = true\n"))
    assert target_named(settings, "mine") == SyncTarget("mine", "Top Folder", me=True)
    found = problems(
        tmp_path,
        f"""
[targets.both]
me = true
group = "{GROUP}"

[targets.nightly]
me = true
schedule = "0 2 * * *"
timezone = "UTC"

[targets.word]
me = "yes"
""",
    )
    assert any(
        p.startswith("targets.both: give its mailboxes, one group or me = true") for p in found
    )
    assert any(
        p.startswith("targets.nightly.schedule: a target of the signed-in person runs only")
        for p in found
    )
    assert "targets.word.me must be true (the signed-in person's own mailbox) or left out." in found
    with pytest.raises(ValueError, match="exactly one"):
        SyncTarget("x", "F", ("a@b.test",), me=True)
    with pytest.raises(ValueError, match="only when they run it"):
        SyncTarget("x", "F", me=True, schedule="0 2 * * *", timezone="UTC")
