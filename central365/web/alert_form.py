"""The e-mail alerts form of the Settings pages: its fields as typed, checked as a whole.

Everything posted is untrusted (`smtp.checks` says what each field may hold).  The password is
write-only like the app's client secret: an empty field keeps the stored one, "remove" deletes
it, and it is never put back into a page.  The stored password is used — for the test e-mail
or kept on save — only while the form still names the same server, port and user it was typed
for: a password is never sent somewhere it was not typed for.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from central365.smtp import AlertMail, SmtpSecurity, smtp_problems
from central365.smtp.checks import parse_port, split_recipients

#: The posted fields (`security` one of `SmtpSecurity`'s values).
FIELDS = ("host", "port", "security", "username", "sender", "recipients")
SECURITY_CHOICES = (
    (SmtpSecurity.STARTTLS.value, "STARTTLS (port 587)"),
    (SmtpSecurity.SSL.value, "SSL/TLS from the start (port 465)"),
    (SmtpSecurity.NONE.value, "None (a relay on this machine or a closed network)"),
)
PASSWORD_RETYPE = (
    "Type the password again: the stored one is only sent to the server, port and user it "
    "was saved for."
)


@dataclass(frozen=True)
class AlertForm:
    """The alerts form as typed (`recipients` as one text, one address a line)."""

    host: str = ""
    port: str = "587"
    security: str = SmtpSecurity.STARTTLS.value
    username: str = ""
    sender: str = ""
    recipients: str = ""
    password: str = field(default="", repr=False)
    remove_password: bool = False

    @classmethod
    def of(cls, mail: AlertMail | None) -> AlertForm:
        """The form showing `mail` (a blank form when alerts are not set up)."""
        if mail is None:
            return cls()
        return cls(
            host=mail.host,
            port=str(mail.port),
            security=mail.security.value,
            username=mail.username,
            sender=mail.sender,
            recipients="\n".join(mail.recipients),
        )

    def without_password(self) -> AlertForm:
        """The form to show again: a typed password is never sent back to the browser."""
        return AlertForm(
            self.host, self.port, self.security, self.username, self.sender, self.recipients
        )

    def same_server(self, stored: AlertMail | None) -> bool:
        """Does the form still name the server, port and user the stored password is for?"""
        return (
            stored is not None
            and self.host.casefold() == stored.host.casefold()
            and parse_port(self.port) == stored.port
            and self.username == stored.username
        )


def read_alert_form(values: Mapping[str, str]) -> AlertForm:
    """The posted fields, trimmed (the password as typed); absent ones blank."""
    typed = {name: values.get(name, "").strip() for name in FIELDS}
    return AlertForm(
        **typed,
        password=values.get("password", ""),
        remove_password=values.get("remove_password") == "on",
    )


def alert_problems(form: AlertForm, stored: AlertMail | None) -> dict[str, str]:
    """Every problem of the form, keyed by field; the password's own when it cannot be used."""
    has_password = bool(form.password) or keeps_stored_password(form, stored)
    problems = smtp_problems(
        host=form.host,
        port=form.port,
        security=form.security,
        sender=form.sender,
        recipients=split_recipients(form.recipients),
        username=form.username,
        has_password=bool(form.username) and has_password,
    )
    if len(form.password) > 1024 or any(c in form.password for c in "\r\n"):
        problems["password"] = "Give the SMTP password on one line (at most 1024 characters)."
    elif form.username and not has_password:
        problems["password"] = (
            PASSWORD_RETYPE
            if stored is not None and stored.has_password and not form.remove_password
            else "Give the password of the SMTP user, or leave the user name empty."
        )
    return problems


def keeps_stored_password(form: AlertForm, stored: AlertMail | None) -> bool:
    """Does the form stand for the stored password (none typed, not removed, same server)?"""
    return (
        not form.password
        and not form.remove_password
        and stored is not None
        and stored.has_password
        and form.same_server(stored)
    )


def password_change(form: AlertForm, stored: AlertMail | None) -> str | None:
    """What `AlertMailRepository.save` is told: None keeps the stored password, "" removes it
    (also when the server or user changed and none was typed), else the typed one."""
    if form.password:
        return form.password
    return None if keeps_stored_password(form, stored) else ""


def to_alert_mail(form: AlertForm) -> AlertMail:
    """The settings to store or test; call after `alert_problems` found none."""
    return AlertMail(
        host=form.host,
        port=parse_port(form.port) or 0,
        security=SmtpSecurity(form.security),
        sender=form.sender,
        recipients=tuple(split_recipients(form.recipients)),
        username=form.username,
        has_password=bool(form.password),  # as typed; the repository says what is stored
    )
