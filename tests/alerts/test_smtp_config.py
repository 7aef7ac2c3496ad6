"""`[smtp]` of central365.toml and `CENTRAL365_SMTP_*`: read as the `smtp_*` settings, checked."""

from __future__ import annotations

from pathlib import Path

import pytest

from central365.config import load_settings
from central365.core.errors import ConfigError
from central365.smtp import AlertMail, SmtpSecurity
from central365.wiring.alerting import alert_mail, start_up_mail

ENV = {"CENTRAL365_CENTRAL": "csv:x.csv", "CENTRAL365_AUTH": "sandbox"}


def write(tmp_path: Path, text: str) -> Path:
    file = tmp_path / "central365.toml"
    file.write_text(text, encoding="utf-8")
    return file


def test_the_smtp_table_and_the_password_from_the_environment(tmp_path: Path) -> None:
    file = write(
        tmp_path,
        """
[smtp]
host = "smtp.contoso.test"
port = 465
security = "ssl"
username = "alerts@contoso.test"
sender = "central365@contoso.test"
recipients = ["admin@contoso.test", "ops@contoso.test"]
""",
    )
    settings = load_settings({**ENV, "CENTRAL365_SMTP_PASSWORD": "pw-from-env"}, file)
    mail = AlertMail(
        "smtp.contoso.test",
        465,
        SmtpSecurity.SSL,
        "central365@contoso.test",
        ("admin@contoso.test", "ops@contoso.test"),
        username="alerts@contoso.test",
        has_password=True,
    )
    assert start_up_mail(settings) == mail
    assert alert_mail(settings, None) == (mail, "pw-from-env")
    assert "pw-from-env" not in repr(settings)


def test_the_environment_alone_sets_alerts_up(tmp_path: Path) -> None:
    env = {
        **ENV,
        "CENTRAL365_SMTP_HOST": "127.0.0.1",
        "CENTRAL365_SMTP_SECURITY": "none",
        "CENTRAL365_SMTP_SENDER": "c@contoso.test",
        "CENTRAL365_SMTP_RECIPIENTS": "a@contoso.test, b@contoso.test",
    }
    settings = load_settings(env)
    assert settings.smtp_recipients == ("a@contoso.test", "b@contoso.test")
    assert settings.smtp_port == 587
    assert load_settings(ENV).smtp_host is None and start_up_mail(load_settings(ENV)) is None


def test_every_smtp_problem_is_named(tmp_path: Path) -> None:
    file = write(
        tmp_path,
        """
[smtp]
host = "smtp://mail"
security = "none"
username = "u"
password = "p"
sender = "nobody"
recipients = ["x"]
colour = "blue"
""",
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(ENV, file)
    found = "\n".join(caught.value.problems)
    assert "smtp.colour" in found and "unknown key" in found
    assert "CENTRAL365_SMTP_HOST ([smtp] host): Give the SMTP server's host name" in found
    assert "CENTRAL365_SMTP_SECURITY ([smtp] security): Choose STARTTLS" in found
    assert "CENTRAL365_SMTP_SENDER ([smtp] sender)" in found
    assert "CENTRAL365_SMTP_RECIPIENTS ([smtp] recipients)" in found
    with pytest.raises(ConfigError) as caught:
        load_settings(ENV, write(tmp_path, 'smtp = "mail.contoso.test"\n'))
    assert "must be a table" in caught.value.problems[0]
