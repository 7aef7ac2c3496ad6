"""The e-mail settings as stored and shown: everything but the password, which is kept apart.

`AlertMail` is what the Settings page shows and the application database holds (the password
sealed there, only `has_password` here); `server(password)` is what `send_email` takes.
"""

from __future__ import annotations

from dataclasses import dataclass

from central365.smtp.checks import SmtpSecurity
from central365.smtp.sender import DEFAULT_TIMEOUT, SmtpServer


@dataclass(frozen=True, slots=True)
class AlertMail:
    """Where alerts are sent from and to, and through which server."""

    host: str
    port: int
    security: SmtpSecurity
    sender: str
    recipients: tuple[str, ...]
    username: str = ""
    has_password: bool = False

    def server(self, password: str, timeout: float = DEFAULT_TIMEOUT) -> SmtpServer:
        """The server to send through, signing in with `password` when a user name is set."""
        return SmtpServer(
            self.host,
            self.port,
            self.security,
            username=self.username,
            password=password if self.username else "",
            timeout=timeout,
        )
