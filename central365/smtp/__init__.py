"""E-mail out: the SMTP server's settings, their checks, and sending one message (stdlib smtplib).

An adapter like `graph/` and `appdb/`: it knows SMTP and nothing of runs or targets; the alert's
words are composed by `engine.alerts`, and `wiring.alerting` puts the two together.
"""

from __future__ import annotations

from central365.smtp.checks import MAX_RECIPIENTS, SmtpSecurity, smtp_problems
from central365.smtp.sender import MailNotSent, SmtpServer, send_email
from central365.smtp.settings import AlertMail

__all__ = [
    "MAX_RECIPIENTS",
    "AlertMail",
    "MailNotSent",
    "SmtpSecurity",
    "SmtpServer",
    "send_email",
    "smtp_problems",
]
