"""Targets for the Schedules page's tests, and jobs that end at once with set outcomes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from central365.appdb import ScheduleRepository, SecretBox
from central365.core.targets import SyncTarget
from tests.web.conftest import Web, World, serve

GROUP = "0d9b6c1e-2f3a-4b5c-8d7e-6f5a4b3c2d1e"
TARGETS = (
    SyncTarget(
        "staff",
        "Central Contacts",
        ("ann@contoso.test", "bob@contoso.test"),
        schedule="0 2 * * *",
        timezone="Europe/London",
    ),
    SyncTarget("sales", "Sales", group=GROUP),
    SyncTarget("mine", "Mine", me=True),
)


@dataclass
class InstantJobs:
    """Runs a target at once: each mailbox gets `outcomes[mailbox]` (created, error, refused);
    `hold` leaves the run going (its mailboxes queued)."""

    outcomes: dict[str, tuple[int, str | None, bool]] = field(default_factory=dict)
    started: list[tuple[str, int]] = field(default_factory=list)
    repository: ScheduleRepository | None = None
    hold: bool = False

    def shutdown(self, wait: bool = True) -> None:
        """Nothing runs in the background."""

    def start(self, target: SyncTarget, target_run_id: int) -> None:
        assert self.repository is not None
        self.started.append((target.name, target_run_id))
        mailboxes = target.mailboxes or ("gus@contoso.test",)
        self.repository.add_mailboxes(target_run_id, mailboxes)
        if self.hold:
            return
        for mailbox in mailboxes:
            created, error, refused = self.outcomes.get(mailbox, (2, None, False))
            self.repository.mailbox_started(target_run_id, mailbox, None)
            self.repository.mailbox_finished(
                target_run_id, mailbox, created=created, error=error, refused=refused
            )


def serve_targets(world: World, jobs: InstantJobs | None) -> Iterator[Web]:
    """The homepage with `TARGETS`, running them with `jobs` (None: the settings' own jobs)."""
    from central365.web import create_app

    settings = world.settings.model_copy(update={"targets": TARGETS})
    app = create_app(
        settings,
        secret_box=SecretBox.from_secret("web-tests-key"),
        identity=world.identity,
        graph_transport=world.graph,
        target_jobs=jobs,
    )
    for web in serve(app):
        if jobs is not None:
            jobs.repository = web.runtime.schedules.repository
        yield web
