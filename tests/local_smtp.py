"""A real SMTP server on this machine for tests (aiosmtpd), keeping what it receives.

`LocalSmtp.start()` serves on a free loopback port in aiosmtpd's own thread: plain, with
sign-in (the `username`/`password` given), and optionally STARTTLS with the sandbox's test
certificate (`tls_dir`), whose CA a client is told to trust.
"""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from email.policy import default
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from central365.sandbox.tls import ensure_tls_files


@dataclass
class Received:
    """One message as the server took it: the envelope and the parsed message."""

    sender: str
    recipients: list[str]
    message: Message


@dataclass
class _Handler:
    received: list[Received] = field(default_factory=list)
    refuse_recipients: bool = False

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if self.refuse_recipients:
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.content, policy=default)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 Message accepted"


class LocalSmtp:
    """An aiosmtpd server on 127.0.0.1; `received` lists what it accepted."""

    def __init__(
        self,
        *,
        username: str = "",
        password: str = "",
        tls_dir: Path | None = None,
    ) -> None:
        self.handler = _Handler()
        self.username = username
        self.password = password
        self.client_context: ssl.SSLContext | None = None
        kwargs: dict[str, Any] = {}
        if username:
            kwargs.update(authenticator=self._authenticate, auth_require_tls=tls_dir is not None)
        if tls_dir is not None:
            files = ensure_tls_files(tls_dir)
            server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            server_context.load_cert_chain(files.cert_path, files.key_path)
            kwargs.update(tls_context=server_context, require_starttls=True)
            self.client_context = ssl.create_default_context(cafile=str(files.ca_path))
        self.port = _free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, **kwargs)

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and data.login.decode() == self.username
            and data.password.decode() == self.password
        )
        return AuthResult(success=ok, handled=False)

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def start(self) -> LocalSmtp:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
