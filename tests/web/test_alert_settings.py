"""The e-mail alerts page of the Settings: admins only, untrusted input, write-only password,
and "Send test e-mail" through a real local SMTP server."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from central365.smtp import AlertMail, SmtpSecurity
from tests.local_smtp import LocalSmtp
from tests.web.conftest import Web, World, serve, signed_in_as

PAGE = "/settings/alerts"


def form(**changes: str) -> dict[str, str]:
    values = {
        "host": "smtp.contoso.test",
        "port": "587",
        "security": "starttls",
        "username": "alerts@contoso.test",
        "password": "smtp-pw-1",
        "sender": "central365@contoso.test",
        "recipients": "admin@contoso.test\nops@contoso.test",
        "action": "save",
    }
    values.update(changes)
    return values


def post(web: Web, values: dict[str, str]) -> tuple[int, str]:
    data = {"csrf_token": web.csrf(PAGE), **values}
    response = web.client.post(PAGE, data=data)
    return response.status_code, response.text


@pytest.fixture
def smtp_server() -> Iterator[LocalSmtp]:
    server = LocalSmtp().start()
    yield server
    server.stop()


def test_only_admins_see_and_post_the_alerts_page(signed_in: Web) -> None:
    settings = signed_in.soup("/settings")
    assert settings.select_one('[data-link="alert-settings"]')["href"] == PAGE
    page = signed_in.soup(PAGE)
    assert page.select_one("[data-alerts-off]") is not None
    assert page.select_one("#test-email").get_text() == "Send test e-mail"
    signed_in.client.post("/auth/logout", data={"csrf_token": signed_in.csrf(PAGE)})
    signed_in_as(signed_in, "bob")
    refused = signed_in.soup(PAGE, status=403)
    assert "Central365.Admin" in refused.select_one("[data-error-message]").get_text()
    csrf = signed_in.csrf("/")
    response = signed_in.client.post(PAGE, data={"csrf_token": csrf, **form()})
    assert response.status_code == 403
    assert signed_in.runtime.alert_mail.load() is None


def test_a_post_without_the_csrf_token_is_refused(signed_in: Web) -> None:
    response = signed_in.client.post(PAGE, data=form())
    assert response.status_code == 403
    assert signed_in.runtime.alert_mail.load() is None


def test_saving_seals_the_password_and_never_shows_it(signed_in: Web) -> None:
    status, _ = post(signed_in, form())
    assert status == 303
    runtime = signed_in.runtime
    assert runtime.alert_mail.load() == AlertMail(
        "smtp.contoso.test",
        587,
        SmtpSecurity.STARTTLS,
        "central365@contoso.test",
        ("admin@contoso.test", "ops@contoso.test"),
        username="alerts@contoso.test",
        has_password=True,
    )
    assert runtime.alert_mail.password() == "smtp-pw-1"
    html = signed_in.client.get(PAGE + "?saved=1").text
    assert "smtp-pw-1" not in html and "data-saved" in html
    # An empty password keeps the stored one while the server and user stay the same ...
    assert post(signed_in, form(password="", port="2525"))[0] == 400
    assert post(signed_in, form(password="", recipients="admin@contoso.test"))[0] == 303
    assert runtime.alert_mail.password() == "smtp-pw-1"
    # ... and is never sent to another server: it must be typed again for a new host.
    status, text = post(signed_in, form(password="", host="mail.elsewhere.test"))
    assert status == 400 and "Type the password again" in text
    assert post(signed_in, form(password="", username="", host="relay.contoso.test"))[0] == 303
    assert runtime.alert_mail.password() is None


def test_every_problem_is_shown_beside_its_field(signed_in: Web) -> None:
    status, text = post(
        signed_in,
        form(host="smtp://x:25/", port="99999", security="none", sender="x", recipients="y"),
    )
    assert status == 400
    assert text.count('class="field-error"') == 5
    assert "never sent over an unencrypted connection" in text
    assert "smtp-pw-1" not in text
    assert signed_in.runtime.alert_mail.load() is None


@pytest.mark.e2e
def test_send_test_e_mail_through_a_local_server(signed_in: Web, smtp_server: LocalSmtp) -> None:
    values = form(
        host="127.0.0.1",
        port=str(smtp_server.port),
        security="none",
        username="",
        password="",
        action="test",
    )
    status, text = post(signed_in, values)
    assert status == 200 and "data-test-sent" in text
    [got] = smtp_server.received
    assert got.message["Subject"] == "central365: test e-mail"
    assert "Alice Admin" in got.message.get_content()
    assert signed_in.runtime.alert_mail.load() is None  # a test saves nothing
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    status, text = post(signed_in, {**values, "port": str(closed)})
    assert status == 200
    assert f"Cannot connect to the SMTP server 127.0.0.1:{closed}" in text


def test_the_start_up_settings_are_shown_and_saving_keeps_their_password(world: World) -> None:
    world.settings = world.settings.model_copy(
        update={
            "smtp_host": "smtp.contoso.test",
            "smtp_username": "alerts@contoso.test",
            "smtp_password": SecretStr("start-up-pw"),
            "smtp_sender": "central365@contoso.test",
            "smtp_recipients": ("admin@contoso.test",),
        }
    )
    for web in serve(world.app()):
        signed_in_as(web, "alice")
        page = web.soup(PAGE)
        assert page.select_one("[data-from-start-up]") is not None
        assert page.select_one("#host")["value"] == "smtp.contoso.test"
        assert "start-up-pw" not in str(page)
        assert post(web, form(password="", recipients="admin@contoso.test"))[0] == 303
        assert web.runtime.alert_mail.password() == "start-up-pw"
