"""Which active Central records can be synchronised at all, and why not (pure).

The rules that need only the record itself live here; the ones that need the other records or
the folder (`duplicate_email`, `duplicate_id`) live in `plan.py`, which sees both.
"""

from __future__ import annotations

from functools import lru_cache

from email_validator import EmailNotValidError, validate_email

from central365.model import CentralContact, Reason
from central365.normalize import text

DECEASED_MARKER = "deceased"


def is_active(record: CentralContact) -> bool:
    """Only records whose status is `active` (trimmed, any case) are processed."""
    return text(record.status).casefold() == "active"


@lru_cache(maxsize=65536)
def is_valid_email(address: str) -> bool:
    """The syntax check of `email-validator`, with deliverability (DNS) checks off.

    Cached because a large Central holds many records and each check parses the address fully.
    """
    try:
        validate_email(address, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


def record_reasons(record: CentralContact) -> list[Reason]:
    """Every reason this record alone is non-actionable, in the order of `Reason`."""
    reasons: list[Reason] = []
    if not text(record.key):
        reasons.append(Reason.MISSING_ID)
    names = (record.first_name.casefold(), record.last_name.casefold())
    if any(DECEASED_MARKER in name for name in names):
        reasons.append(Reason.DECEASED)
    if not text(record.first_name) or not text(record.last_name):
        reasons.append(Reason.MISSING_NAME)
    email = text(record.email)
    if not email:
        reasons.append(Reason.MISSING_EMAIL)
    elif not is_valid_email(email):
        reasons.append(Reason.INVALID_EMAIL)
    return reasons
