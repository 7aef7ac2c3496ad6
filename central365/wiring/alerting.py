"""E-mail alerts to the admins when an unattended target run needs a person.

    on_target_finished = alert_admins(settings, AlertMailRepository(database, box))
    on_target_finished("staff", outcome, target_run_id)   # the worker, after each target run

The hook sends only when a mailbox failed, tripped a guard or has records that failed
(`engine.alerts`); a run where every mailbox finished well sends nothing.  The e-mail settings
are read at each alert, so a change on the Settings page applies to the next run without a
restart: the page's saved settings when there are some, else the start-up `[smtp]` settings.
A failure to send is logged (one sentence, never the password or the contacts) and never
raised: an alert that cannot go out must not fail the run it reports.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Protocol

from central365.appdb import AlertMailRepository, Database, SecretBox
from central365.config import Settings
from central365.core.errors import ConfigError
from central365.engine.alerts import Alert, compose_alert, needs_a_person
from central365.engine.targets import TargetOutcome
from central365.smtp import AlertMail, MailNotSent, SmtpServer, send_email

log = logging.getLogger(__name__)


class OnTargetFinished(Protocol):
    """What the worker calls when a target's run has ended: its name, outcome, and its run
    (`/history/targets/{id}`; None when it was not recorded)."""

    def __call__(
        self, target_name: str, outcome: TargetOutcome, target_run_id: int | None
    ) -> None: ...


#: Sends one message (`smtp.send_email`; tests may give their own).
Send = Callable[[SmtpServer, EmailMessage], None]


def start_up_mail(settings: Settings) -> AlertMail | None:
    """The e-mail settings of central365.toml / `CENTRAL365_SMTP_*`, None when not set up."""
    if not settings.smtp_host or not settings.smtp_sender or not settings.smtp_recipients:
        return None
    return AlertMail(
        host=settings.smtp_host,
        port=settings.smtp_port,
        security=settings.smtp_security,
        sender=settings.smtp_sender,
        recipients=tuple(settings.smtp_recipients),
        username=settings.smtp_username or "",
        has_password=settings.smtp_password is not None,
    )


def alert_mail(
    settings: Settings, stored: AlertMailRepository | None
) -> tuple[AlertMail, str] | None:
    """The e-mail settings in force and their password: the Settings page's, else start-up's.

    Raises `ConfigError` when the saved password was sealed with another secret key.
    """
    saved = stored.load() if stored is not None else None
    if saved is not None:
        return saved, (stored.password() if stored is not None else None) or ""
    start_up = start_up_mail(settings)
    if start_up is None:
        return None
    password = settings.smtp_password.get_secret_value() if settings.smtp_password else ""
    return start_up, password


def run_link(public_url: str, target_run_id: int | None) -> str:
    """Where the homepage shows the target's run, its mailboxes linked to their runs in History
    (History itself when the run has no record)."""
    base = public_url.rstrip("/")
    if target_run_id is None:
        return f"{base}/history"
    return f"{base}/history/targets/{target_run_id}"


def email_message(mail: AlertMail, alert: Alert) -> EmailMessage:
    """The e-mail of `alert`, from the sender to every admin of `mail`."""
    message = EmailMessage()
    message["Subject"] = alert.subject
    message["From"] = mail.sender
    message["To"] = ", ".join(mail.recipients)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=mail.sender.rpartition("@")[2] or None)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to an alert
    message.set_content(alert.body)
    return message


def send_test_email(mail: AlertMail, password: str, by: str, *, send: Send = send_email) -> None:
    """The Settings page's "Send test e-mail"; raises `MailNotSent` saying what to check."""
    alert = Alert(
        "central365: test e-mail",
        f"This is a test e-mail sent by {' '.join(by.split())} from the Settings page of "
        "central365.\nAlerts about unattended runs that need a person come to these "
        "addresses.\n",
    )
    send(mail.server(password), email_message(mail, alert))


def alert_admins(
    settings: Settings,
    stored: AlertMailRepository | None = None,
    *,
    send: Send = send_email,
) -> OnTargetFinished:
    """The hook that e-mails the admins about a target's run that needs a person."""

    def on_target_finished(
        target_name: str, outcome: TargetOutcome, target_run_id: int | None
    ) -> None:
        if not needs_a_person(outcome):
            return
        try:
            found = alert_mail(settings, stored)
        except ConfigError as exc:
            log.warning("The alert about target %s was not sent: %s", target_name, exc.message)
            return
        if found is None:
            log.warning(
                "Target %s needs a person, but no e-mail alerts are set up: give the SMTP "
                "settings on the Settings page or in [smtp] of central365.toml.",
                target_name,
            )
            return
        mail, password = found
        alert = compose_alert(outcome, run_link(settings.public_url, target_run_id))
        try:
            send(mail.server(password), email_message(mail, alert))
        except MailNotSent as exc:
            log.warning("The alert about target %s was not sent: %s", target_name, exc.message)
            return
        log.info("Alerted %d admins about target %s.", len(mail.recipients), target_name)

    return on_target_finished


def alerts_over(settings: Settings, database: Database) -> OnTargetFinished:
    """`alert_admins` over the application database's e-mail settings (a worker's hook)."""
    return alert_admins(settings, AlertMailRepository(database, SecretBox.from_settings(settings)))
