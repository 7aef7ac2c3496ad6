"""The e-mail that tells the admins a target's run needs a person: its subject and text (values).

A run needs a person when it could not run at all (its group could not be read), or any mailbox
was refused by a guard against mass changes, stopped with an error, or has records that failed;
a run where every mailbox finished well sends nothing.
The text lists every mailbox that needs a person (its counts and error), then the ones that
finished well — at most `LISTED_FINE` of them, the rest counted — and links to the run.

Must not: send, read settings or the clock (the caller gives the link): `wiring.alerting` does.
"""

from __future__ import annotations

from dataclasses import dataclass

from central365.engine.targets import MailboxOutcome, TargetOutcome

#: Mailboxes that finished well listed by name; a 10,000-mailbox target counts the rest.
LISTED_FINE = 20


@dataclass(frozen=True, slots=True)
class Alert:
    """One e-mail's subject and plain-text body."""

    subject: str
    body: str


def needs_a_person(outcome: TargetOutcome) -> bool:
    """Did the run fail, or any mailbox fail, trip a guard, or have records that failed?"""
    return not outcome.ok


def compose_alert(outcome: TargetOutcome, run_link: str) -> Alert:
    """The alert for a target's run; `run_link` is where the homepage shows the run."""
    if outcome.error is not None and not outcome.mailboxes:
        return Alert(
            f"central365: target {outcome.target} could not run",
            f"The run of target {outcome.target} could not run at all: "
            f"{_one_line(outcome.error)}\n\nSee the run: {run_link}\n",
        )
    troubled = [m for m in outcome.mailboxes if not m.ok]
    fine = [m for m in outcome.mailboxes if m.ok]
    refused = sum(1 for m in troubled if m.refused)
    total = len(outcome.mailboxes)
    subject = (
        f"central365: target {outcome.target} needs attention in {len(troubled)} of "
        f"{total} mailbox{'es' if total != 1 else ''}"
    )
    lines = [
        f"The run of target {outcome.target} did not finish well in "
        f"{len(troubled)} of its {total} mailboxes"
        + (f" ({refused} refused by a guard against mass changes)." if refused else "."),
        *([f"It ended with: {_one_line(outcome.error)}"] if outcome.error else []),
        "",
        f"See the run: {run_link}",
        "",
        "Needs a person:",
        *(line for m in troubled for line in _mailbox_lines(m)),
    ]
    if fine:
        lines += ["", "Finished well:"]
        lines += [line for m in fine[:LISTED_FINE] for line in _mailbox_lines(m)]
        if len(fine) > LISTED_FINE:
            lines.append(f"... and {len(fine) - LISTED_FINE} more mailboxes that finished well.")
    lines += [
        "",
        "A mailbox refused by a guard had nothing written: check Central's data, then run the "
        "target again (allowing the change if it is intended).",
    ]
    return Alert(subject, "\n".join(lines) + "\n")


def _mailbox_lines(mailbox: MailboxOutcome) -> list[str]:
    counts = (
        f"  created {mailbox.created}, updated {mailbox.updated}, failed {mailbox.failed}, "
        f"skipped {mailbox.skipped}"
    )
    lines = [f"- {_one_line(mailbox.mailbox)}", counts]
    if mailbox.error is not None:
        kind = "refused by a guard" if mailbox.refused else "error"
        lines.append(f"  {kind}: {_one_line(mailbox.error)}")
    return lines


def _one_line(text: str) -> str:
    """A value on one line: a name read from a directory must not shape the e-mail."""
    return " ".join(text.split())
