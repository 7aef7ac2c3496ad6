"""Alerts through a real SMTP server on this machine (aiosmtpd): sent, refused, unreachable."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from central365.appdb import AlertMailRepository, SecretBox, migrate, open_database
from central365.config import Settings
from central365.engine.alerts import Alert
from central365.engine.targets import MailboxOutcome, TargetOutcome
from central365.smtp import AlertMail, MailNotSent, SmtpSecurity, SmtpServer, send_email
from central365.wiring.alerting import alert_admins, alerts_over, email_message, send_test_email
from tests.local_smtp import LocalSmtp

pytestmark = pytest.mark.e2e

ADMINS = ("admin@contoso.test", "ops@contoso.test")
TROUBLED = TargetOutcome(
    "staff",
    (
        MailboxOutcome("ann@contoso.test", created=4),
        MailboxOutcome("bob@contoso.test", error="Refused: 90 % of email cleared.", refused=True),
    ),
)
FINE = TargetOutcome("staff", (MailboxOutcome("ann@contoso.test", created=4),))


def mail_for(server: LocalSmtp, **changes: object) -> AlertMail:
    values: dict[str, object] = {
        "host": "127.0.0.1",
        "port": server.port,
        "security": SmtpSecurity.NONE,
        "sender": "central365@contoso.test",
        "recipients": ADMINS,
    }
    values.update(changes)
    return AlertMail(**values)  # type: ignore[arg-type]


@pytest.fixture
def repository(tmp_path: Path) -> Iterator[AlertMailRepository]:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    migrate(url)
    database = open_database(url)
    yield AlertMailRepository(database, SecretBox.from_secret("test key"))
    database.dispose()


def test_the_hook_mails_the_admins_the_summary_and_the_link(
    smtp_server: LocalSmtp, repository: AlertMailRepository
) -> None:
    repository.save(mail_for(smtp_server), password=None, by="admin")
    settings = Settings(public_url="https://c365.contoso.test/")
    alert_admins(settings, repository)("staff", TROUBLED, 41)
    [got] = smtp_server.received
    assert got.sender == "central365@contoso.test"
    assert sorted(got.recipients) == sorted(ADMINS)
    assert got.message["Subject"] == "central365: target staff needs attention in 1 of 2 mailboxes"
    assert got.message["Auto-Submitted"] == "auto-generated"
    body = got.message.get_content()
    assert "See the run: https://c365.contoso.test/history/targets/41" in body
    assert "refused by a guard: Refused: 90 % of email cleared." in body


def test_a_run_that_finished_well_sends_nothing(smtp_server: LocalSmtp) -> None:
    settings = Settings(
        smtp_host="127.0.0.1",
        smtp_port=smtp_server.port,
        smtp_security=SmtpSecurity.NONE,
        smtp_sender="central365@contoso.test",
        smtp_recipients=ADMINS,
    )
    hook = alert_admins(settings)
    hook("staff", FINE, 1)
    assert smtp_server.received == []
    hook("staff", TROUBLED, None)  # the start-up [smtp] settings, with no saved ones
    [got] = smtp_server.received
    assert "See the run: http://127.0.0.1:8000/history\r\n" in got.message.get_content()


def test_starttls_and_sign_in_with_the_sealed_password(
    smtp_tls_server: LocalSmtp, repository: AlertMailRepository
) -> None:
    mail = mail_for(smtp_tls_server, security=SmtpSecurity.STARTTLS, username="alert")
    repository.save(mail, password="s3cret-pw", by="admin")
    assert repository.load() == AlertMail(**{**_fields(mail), "has_password": True})
    server = repository.load().server(repository.password() or "")  # type: ignore[union-attr]
    tls_server = SmtpServer(
        server.host,
        server.port,
        server.security,
        server.username,
        server.password,
        tls_context=smtp_tls_server.client_context,
    )
    send_email(tls_server, email_message(mail, Alert("subject", "body")))
    assert [r.message["Subject"] for r in smtp_tls_server.received] == ["subject"]


def test_a_wrong_password_is_one_sentence_without_the_password(smtp_tls_server: LocalSmtp) -> None:
    server = SmtpServer(
        "127.0.0.1",
        smtp_tls_server.port,
        SmtpSecurity.STARTTLS,
        "alert",
        "wrong-pw",
        tls_context=smtp_tls_server.client_context,
    )
    with pytest.raises(MailNotSent) as caught:
        send_email(server, email_message(mail_for(smtp_tls_server), Alert("s", "b")))
    assert "refused the user name or password" in caught.value.message
    assert "wrong-pw" not in caught.value.message


def test_an_untrusted_certificate_is_refused(smtp_tls_server: LocalSmtp) -> None:
    server = SmtpServer("127.0.0.1", smtp_tls_server.port, SmtpSecurity.STARTTLS)
    with pytest.raises(MailNotSent, match="certificate is not trusted"):
        send_email(server, email_message(mail_for(smtp_tls_server), Alert("s", "b")))
    assert smtp_tls_server.received == []


def test_refused_recipients_and_a_closed_port_are_clear(smtp_server: LocalSmtp) -> None:
    smtp_server.handler.refuse_recipients = True
    message = email_message(mail_for(smtp_server), Alert("s", "b"))
    with pytest.raises(MailNotSent, match="refused every recipient"):
        send_email(SmtpServer("127.0.0.1", smtp_server.port, SmtpSecurity.NONE), message)
    closed = _free_port()
    with pytest.raises(MailNotSent, match=r"Cannot connect to the SMTP server 127\.0\.0\.1"):
        send_email(SmtpServer("127.0.0.1", closed, SmtpSecurity.NONE), message)


def test_a_server_that_never_answers_times_out() -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)  # accepts the connection, never says hello
        port = silent.getsockname()[1]
        server = SmtpServer("127.0.0.1", port, SmtpSecurity.NONE, timeout=0.5)
        with pytest.raises(MailNotSent, match=r"did not answer within 0\.5 seconds"):
            send_email(server, email_message(_any_mail(port), Alert("s", "b")))


def test_a_failed_alert_is_logged_never_raised_nor_its_password(
    repository: AlertMailRepository, caplog: pytest.LogCaptureFixture
) -> None:
    port = _free_port()
    mail = AlertMail(
        "127.0.0.1", port, SmtpSecurity.STARTTLS, "c@contoso.test", ADMINS, username="alert"
    )
    repository.save(mail, password="s3cret-pw", by="admin")
    with caplog.at_level(logging.INFO):
        alert_admins(Settings(), repository)("staff", TROUBLED, 3)
    assert "The alert about target staff was not sent: Cannot connect" in caplog.text
    assert "s3cret-pw" not in caplog.text


def test_no_e_mail_settings_is_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    alert_admins(Settings())("staff", TROUBLED, 3)
    assert "no e-mail alerts are set up" in caplog.text


def test_the_test_e_mail_names_who_sent_it(smtp_server: LocalSmtp) -> None:
    send_test_email(mail_for(smtp_server), "", "Ann Admin\r\nBcc: x@evil.test")
    [got] = smtp_server.received
    assert got.message["Subject"] == "central365: test e-mail"
    assert "sent by Ann Admin Bcc: x@evil.test from the Settings page" in got.message.get_content()
    assert got.message["Bcc"] is None


def _fields(mail: AlertMail) -> dict[str, object]:
    return {name: getattr(mail, name) for name in AlertMail.__slots__}


def _any_mail(port: int) -> AlertMail:
    return AlertMail("127.0.0.1", port, SmtpSecurity.NONE, "c@contoso.test", ADMINS)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_workers_hook_reads_the_saved_settings_with_the_settings_key(
    smtp_server: LocalSmtp, tmp_path: Path
) -> None:
    settings = Settings(data_dir=tmp_path / "data", database_url=f"sqlite:///{tmp_path / 'w.db'}")
    migrate(settings.app_database_url)
    database = open_database(settings.app_database_url)
    try:
        box = SecretBox.from_settings(settings)
        AlertMailRepository(database, box).save(mail_for(smtp_server), password=None, by="a")
        alerts_over(settings, database)("staff", TROUBLED, 5)
    finally:
        database.dispose()
    [got] = smtp_server.received
    assert "/history/targets/5" in got.message.get_content()
