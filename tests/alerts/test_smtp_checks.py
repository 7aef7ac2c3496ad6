"""The SMTP settings as typed: untrusted, every problem one sentence on its field."""

from __future__ import annotations

import pytest

from central365.smtp import MAX_RECIPIENTS, smtp_problems
from central365.smtp.checks import is_host, is_loopback, parse_port, split_recipients

GOOD = {
    "host": "smtp.contoso.test",
    "port": "587",
    "security": "starttls",
    "sender": "central365@contoso.test",
    "recipients": ["admin@contoso.test"],
}


def problems(**changes: object) -> dict[str, str]:
    values = {**GOOD, **changes}
    return smtp_problems(**values)  # type: ignore[arg-type]


def test_good_settings_have_no_problem() -> None:
    assert problems() == {}
    assert problems(host="127.0.0.1", security="none") == {}
    assert problems(host="[::1]", port="25", security="ssl", username="a", has_password=True) == {}


@pytest.mark.parametrize(
    "host",
    ["", "smtp://mail.test", "mail.test:25", "mail test", "mail.test/x", "-bad.test", "a" * 300],
)
def test_a_host_is_a_name_or_an_address_only(host: str) -> None:
    assert not is_host(host)
    assert "host name or IP address only" in problems(host=host)["host"]


@pytest.mark.parametrize("port", ["", "0", "65536", "25a", "-1", "1e3", "000000587"])
def test_a_port_is_a_number_from_1_to_65535(port: str) -> None:
    assert parse_port(port) is None
    assert "from 1 to 65535" in problems(port=port)["port"]


def test_a_password_never_crosses_a_network_unencrypted() -> None:
    found = problems(security="none", username="alert", has_password=True)
    assert "never sent over an unencrypted connection" in found["security"]
    assert problems(host="localhost", security="none", username="alert", has_password=True) == {}
    assert "Choose STARTTLS" in problems(security="tls")["security"]
    assert is_loopback("127.0.0.2") and not is_loopback("10.0.0.1")


def test_addresses_are_checked_and_recipients_bounded() -> None:
    assert "sender's e-mail address" in problems(sender="not an address")["sender"]
    assert "at least one" in problems(recipients=[])["recipients"]
    assert (
        "'bob' is not an e-mail address" in problems(recipients=["a@b.test", "bob"])["recipients"]
    )
    many = [f"a{i}@contoso.test" for i in range(MAX_RECIPIENTS + 1)]
    assert f"at most {MAX_RECIPIENTS}" in problems(recipients=many)["recipients"]
    assert "one line" in problems(username="a\r\nRCPT TO:<x@y>")["username"]
    assert split_recipients("a@b.test, c@d.test;\ne@f.test") == ["a@b.test", "c@d.test", "e@f.test"]
