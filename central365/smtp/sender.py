"""Sending one e-mail through an SMTP server, every failure one sentence a person can act on.

The connection has a timeout (the server may be a host that never answers); TLS is verified
against the system's CAs (`ssl.create_default_context`); the password goes only to `login` and
is never part of a message or a log line.  Failures become `MailNotSent`, whose message names
what to check (host and port, the TLS choice, the user name and password, the addresses) and
never carries the server's own words, which may echo what was sent.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage

from central365.core.errors import Central365Error
from central365.smtp.checks import SmtpSecurity

#: Seconds to wait for the server to connect or answer: a form's test must not hang the page.
DEFAULT_TIMEOUT = 15.0


class MailNotSent(Central365Error):
    """The SMTP server could not be reached, refused the sign-in, or refused the message."""


@dataclass(frozen=True, slots=True)
class SmtpServer:
    """Where and how to send: the server, its protection, and who signs in (if anyone)."""

    host: str
    port: int
    security: SmtpSecurity = SmtpSecurity.STARTTLS
    username: str = ""
    password: str = field(default="", repr=False)
    timeout: float = DEFAULT_TIMEOUT
    #: For tests against a local server with its own certificate; None: the system's CAs.
    tls_context: ssl.SSLContext | None = field(default=None, repr=False, compare=False)


def send_email(server: SmtpServer, message: EmailMessage) -> None:
    """Send `message` (its From and To set); raise `MailNotSent` saying what to check."""
    try:
        with _connect(server) as smtp:
            if server.security is SmtpSecurity.STARTTLS:
                smtp.starttls(context=_context(server))
            if server.username:
                smtp.login(server.username, server.password)
            smtp.send_message(message)
    except (smtplib.SMTPException, OSError) as exc:
        raise MailNotSent(_why(exc, server)) from None


def _why(exc: BaseException, server: SmtpServer) -> str:
    """What went wrong, in words that say what to check (never the server's own words)."""
    where = f"{server.host}:{server.port}"
    if isinstance(exc, smtplib.SMTPServerDisconnected) and isinstance(
        exc.__context__, TimeoutError
    ):
        exc = exc.__context__  # smtplib reports a silent server as a closed connection
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return (
            f"The SMTP server {where} refused the user name or password: check them on the "
            "Settings page."
        )
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return (
            f"The SMTP server {where} does not offer STARTTLS or sign-in: check the connection "
            "security chosen (SSL/TLS for port 465) or leave the user name empty."
        )
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return f"The SMTP server {where} refused every recipient: check the admins' addresses."
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return (
            f"The SMTP server {where} refused the sender address: use one the server lets "
            "this user send from."
        )
    if isinstance(exc, ssl.SSLError):
        return (
            f"The TLS connection to {where} failed (its certificate is not trusted, or the "
            "port does not speak TLS): check the host, the port and the connection security."
        )
    if isinstance(exc, TimeoutError):
        return (
            f"The SMTP server {where} did not answer within {server.timeout:g} seconds: check "
            "the host and port, and that this machine may reach it."
        )
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return (
            f"The SMTP server {where} closed the connection: check the port and the connection "
            "security (SSL/TLS for port 465, STARTTLS for 587)."
        )
    if isinstance(exc, smtplib.SMTPException):
        return f"The SMTP server {where} refused the message: check the settings, then its logs."
    return (
        f"Cannot connect to the SMTP server {where}: check the host and port, and that this "
        "machine may reach it."
    )


def _context(server: SmtpServer) -> ssl.SSLContext:
    return server.tls_context or ssl.create_default_context()


def _connect(server: SmtpServer) -> smtplib.SMTP:
    if server.security is SmtpSecurity.SSL:
        return smtplib.SMTP_SSL(
            server.host, server.port, timeout=server.timeout, context=_context(server)
        )
    return smtplib.SMTP(server.host, server.port, timeout=server.timeout)
