"""The demo's Staff: a few people with mailboxes, an Entra group of them, and its target.

The sandbox's directory gets the people and a "Staff" group (and the demo app the application
permission `GroupMember.Read.All`, which reading a group's members takes); the demo's
`central365.toml` gets `[targets.staff]`, a nightly push of Central into each Staff mailbox,
so `central365 sync --target staff` runs it by hand.
"""

from __future__ import annotations

from dataclasses import replace

from central365.core.targets import SyncTarget
from central365.sandbox.identity.groups import DirectoryGroup, derived_group_id
from central365.sandbox.identity.registry import (
    DEFAULT_CLIENT_ID,
    DEFAULT_DOMAIN,
    DemoUser,
    IdentityConfig,
)

#: The Staff group's people (the "Staff User" of the sign-in page among them).
STAFF_PEOPLE = (
    ("Ann Archer", f"ann@{DEFAULT_DOMAIN}"),
    ("Ben Baker", f"ben@{DEFAULT_DOMAIN}"),
    ("Cara Cole", f"cara@{DEFAULT_DOMAIN}"),
)
STAFF_USER = f"staff@{DEFAULT_DOMAIN}"
STAFF_GROUP = "Staff"
STAFF_GROUP_ID = derived_group_id(STAFF_GROUP)
#: The demo target's schedule: every night at 02:00, London time.
STAFF_SCHEDULE = "0 2 * * *"
STAFF_TIMEZONE = "Europe/London"


def staff_mailboxes() -> tuple[str, ...]:
    """The Staff group's mailboxes, in the order the group lists them."""
    return (*(upn for _, upn in STAFF_PEOPLE), STAFF_USER)


def demo_directory() -> IdentityConfig:
    """The sandbox's default directory plus the Staff people and group."""
    base = IdentityConfig()
    apps = tuple(
        replace(app, application=(*app.application, "GroupMember.Read.All"))
        if app.client_id == DEFAULT_CLIENT_ID
        else app
        for app in base.apps
    )
    people = tuple(DemoUser(name=name, username=upn) for name, upn in STAFF_PEOPLE)
    group = DirectoryGroup(STAFF_GROUP, staff_mailboxes(), STAFF_GROUP_ID)
    return replace(base, apps=apps, users=(*base.users, *people), groups=(group,))


def staff_target(folder: str) -> SyncTarget:
    """The demo homepage's `staff` target: the same as `staff_target_toml`'s."""
    return SyncTarget(
        "staff",
        folder,
        group=STAFF_GROUP_ID,
        schedule=STAFF_SCHEDULE,
        timezone=STAFF_TIMEZONE,
    )


def staff_target_toml(folder: str) -> str:
    """`[targets.staff]` for the demo's settings file (it goes after every top-level key)."""
    return (
        "\n# Every Staff member's mailbox (the sandbox's Staff group), nightly; run it now with\n"
        "# `central365 sync --target staff`.\n"
        "[targets.staff]\n"
        f'group = "{STAFF_GROUP_ID}"\n'
        f'folder = "{folder}"\n'
        'states = ["new", "update"]\n'
        f'schedule = "{STAFF_SCHEDULE}"\n'
        f'timezone = "{STAFF_TIMEZONE}"\n'
    )
