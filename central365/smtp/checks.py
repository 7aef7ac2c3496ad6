"""The SMTP settings as typed (Settings page, `[smtp]` of central365.toml): every problem, named.

What a form sends is untrusted: the host must be a host name or an IP address (no scheme, path,
space or port), the port a number from 1 to 65535, the addresses plain addresses (syntax only,
no DNS look-up), the recipients a short list.  A password is never sent over a plain
connection except to this machine (loopback), where nothing crosses a network.

Pure: no network, no clock; problems are keyed by the setting's short name (`host`, `port`, …)
so the page shows each next to its field and the command line prefixes `smtp.`.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from enum import StrEnum

#: Admins an alert goes to at most: an alert is for the few who act on it, not a mailing list.
MAX_RECIPIENTS = 20
#: RFC 5321's dot-atom local part (no quoted strings: an alert address needs none).
_LOCAL_PART = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})


class SmtpSecurity(StrEnum):
    """How the connection is protected: STARTTLS on a plain port (587), TLS from the start
    (465), or none (a relay on this machine or a closed network only)."""

    STARTTLS = "starttls"
    SSL = "ssl"
    NONE = "none"


def is_host(text: str) -> bool:
    """A DNS name or an IP address, nothing more (no `host:port`, scheme or path)."""
    try:
        ipaddress.ip_address(text.removeprefix("[").removesuffix("]"))
        return True
    except ValueError:
        pass
    name = text.rstrip(".")
    return 0 < len(name) <= 253 and all(_LABEL.match(part) for part in name.split("."))


def is_loopback(host: str) -> bool:
    """Is `host` this machine (by name or address)?"""
    bare = host.strip().casefold().removeprefix("[").removesuffix("]").rstrip(".")
    if bare in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(bare).is_loopback
    except ValueError:
        return False


def is_address(text: str) -> bool:
    """An e-mail address an SMTP envelope takes: a plain local part and a host name with a dot.

    Syntax only (no DNS look-up from a form); internal domains (`corp.local`) are allowed.
    """
    local, at, domain = text.rpartition("@")
    return (
        bool(at and _LOCAL_PART.match(local) and "." in domain.strip(".") and is_host(domain))
        and len(text) <= 254
    )


def parse_port(text: str) -> int | None:
    """The port as a number from 1 to 65535, or None."""
    stripped = text.strip()
    if not stripped.isdigit() or len(stripped) > 5:
        return None
    port = int(stripped)
    return port if 1 <= port <= 65535 else None


def split_recipients(text: str) -> list[str]:
    """Recipients typed one per line or separated by commas, semicolons or spaces."""
    return [word for word in re.split(r"[\s,;]+", text) if word]


def smtp_problems(
    *,
    host: str,
    port: str,
    security: str,
    sender: str,
    recipients: Sequence[str],
    username: str = "",
    has_password: bool = False,
) -> dict[str, str]:
    """Every problem of these SMTP settings, one sentence each, keyed by the setting's name."""
    problems: dict[str, str] = {}
    if not is_host(host):
        problems["host"] = (
            "Give the SMTP server's host name or IP address only, e.g. smtp.office365.com "
            "(no scheme, port or path)."
        )
    if parse_port(port) is None:
        problems["port"] = "Give the SMTP port as a number from 1 to 65535 (587 for STARTTLS)."
    if security not in {s.value for s in SmtpSecurity}:
        problems["security"] = "Choose STARTTLS, SSL/TLS or none for the connection."
    elif (
        security == SmtpSecurity.NONE
        and (username or has_password)
        and not (is_host(host) and is_loopback(host))
    ):
        problems["security"] = (
            "Choose STARTTLS or SSL/TLS: a user name and password are never sent over an "
            "unencrypted connection to another machine."
        )
    if len(username) > 256 or any(c in username for c in "\r\n"):
        problems["username"] = "Give the SMTP user name on one line (at most 256 characters)."
    if not is_address(sender):
        problems["sender"] = "Give the sender's e-mail address, e.g. central365@contoso.com."
    if not recipients:
        problems["recipients"] = "Name at least one admin's e-mail address to send alerts to."
    elif len(recipients) > MAX_RECIPIENTS:
        problems["recipients"] = f"Name at most {MAX_RECIPIENTS} recipients."
    else:
        wrong = [r for r in recipients if not is_address(r)]
        if wrong:
            problems["recipients"] = (
                f"{wrong[0][:80]!r} is not an e-mail address: give one address per line."
            )
    return problems
