"""The alert's words (pure): sent only when a mailbox needs a person, naming each one."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from central365.engine.alerts import LISTED_FINE, compose_alert, needs_a_person
from central365.engine.targets import MailboxOutcome, TargetOutcome

LINK = "https://central365.contoso.test/history/7"


def test_a_run_where_every_mailbox_finished_well_needs_nobody() -> None:
    outcome = TargetOutcome("staff", (MailboxOutcome("ann@contoso.test", created=3),))
    assert not needs_a_person(outcome)


def test_failed_records_a_guard_or_an_error_each_need_a_person() -> None:
    for troubled in (
        MailboxOutcome("bob@contoso.test", created=1, failed=2),
        MailboxOutcome("bob@contoso.test", error="Refused: 80 % cleared.", refused=True),
        MailboxOutcome("bob@contoso.test", error="The app may not write this mailbox."),
    ):
        outcome = TargetOutcome("staff", (MailboxOutcome("ann@contoso.test"), troubled))
        assert needs_a_person(outcome)


def test_the_alert_names_each_troubled_mailbox_with_its_counts_and_links_the_run() -> None:
    outcome = TargetOutcome(
        "staff",
        (
            MailboxOutcome("ann@contoso.test", created=5, updated=1, skipped=2),
            MailboxOutcome("bob@contoso.test", error="Refused: clears email.", refused=True),
            MailboxOutcome("cat@contoso.test", created=3, failed=2),
        ),
    )
    alert = compose_alert(outcome, LINK)
    assert alert.subject == "central365: target staff needs attention in 2 of 3 mailboxes"
    body = alert.body
    assert f"See the run: {LINK}" in body
    assert "(1 refused by a guard against mass changes)" in body
    troubled, fine = body.split("Finished well:")
    assert "- bob@contoso.test" in troubled
    assert "refused by a guard: Refused: clears email." in troubled
    assert "- cat@contoso.test\n  created 3, updated 0, failed 2, skipped 0" in troubled
    assert "- ann@contoso.test\n  created 5, updated 1, failed 0, skipped 2" in fine


def test_a_large_target_lists_the_troubled_mailboxes_and_counts_the_fine_ones() -> None:
    fine = tuple(MailboxOutcome(f"user{i}@contoso.test", created=1) for i in range(500))
    outcome = TargetOutcome("all", (*fine, MailboxOutcome("x@contoso.test", error="Stopped.")))
    body = compose_alert(outcome, LINK).body
    assert "- x@contoso.test" in body
    assert body.count("\n- user") == LISTED_FINE
    assert f"... and {500 - LISTED_FINE} more mailboxes that finished well." in body


@given(st.text(min_size=1, max_size=40), st.text(max_size=80))
def test_names_and_errors_never_add_lines_of_their_own(mailbox: str, error: str) -> None:
    outcome = TargetOutcome("staff", (MailboxOutcome(mailbox, error=error or "x"),))
    alert = compose_alert(outcome, LINK)
    # one line for the name, one for the counts, one for the error, whatever they hold
    troubled = alert.body.split("Needs a person:\n")[1].split("\n\n")[0]
    assert len(troubled.splitlines()) == 3
    assert "\n" not in alert.subject


def test_a_run_that_could_not_start_says_why() -> None:
    outcome = TargetOutcome("staff", (), error="The group could not be read (403).")
    assert needs_a_person(outcome)
    alert = compose_alert(outcome, LINK)
    assert alert.subject == "central365: target staff could not run"
    assert "could not run at all: The group could not be read (403)." in alert.body
    assert f"See the run: {LINK}" in alert.body
