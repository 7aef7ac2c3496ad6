"""Which active Central records can be synchronised at all, and why not (pure).

The rules that need only the record itself live here; the ones that need the other records or
the folder (`duplicate_email`, `duplicate_id`) live in `plan.py`, which sees both.
"""

from __future__ import annotations

import re
from functools import lru_cache

from email_validator import EmailNotValidError, validate_email
from email_validator.syntax import validate_email_local_part

from central365.core.model import CentralContact, Reason

DECEASED_MARKER = "deceased"


def is_active(record: CentralContact) -> bool:
    """Only records whose status is `active` (trimmed, any case) are processed."""
    return record.status.strip().casefold() == "active"  # text (never None): `strip` is `text`


#: A plain ASCII address: one @, no quotes, brackets, spaces or display name.  For these the
#: checks of `email-validator` on the two parts are independent of each other (and the whole
#: is within its 254-character limit when the text is), so each part may be judged alone.
_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9.-]+")
#: What a domain is judged beside: a local part `email-validator` always accepts.
_PROBE_LOCAL = "a"
_MAX_ADDRESS = 254


def is_valid_email(address: str) -> bool:
    """The syntax check of `email-validator`, with deliverability (DNS) checks off.

    `email-validator` stays the judge, but a large Central holds hundreds of thousands of
    addresses over a few hundred domains, and the domain's check (IDNA) is the costly part:
    a plain address is judged as its local part (by the library's local-part check) and its
    domain (beside a local part the library always accepts), the domain's verdict cached.
    Anything else (non-ASCII, quoted, a display name, over-long) goes through the whole check
    as it is.  A property test holds the two ways to the same answers.
    """
    if len(address) <= _MAX_ADDRESS and _PLAIN_ADDRESS.fullmatch(address):
        local, _, domain = address.partition("@")
        if not _domain_is_valid(domain):
            return False
        try:  # `email-validator`'s own check of an unquoted local part (what it runs)
            validate_email_local_part(local)
        except EmailNotValidError:
            return False
        return True
    return _judge(address)


@lru_cache(maxsize=65536)
def _domain_is_valid(domain: str) -> bool:
    return _judge(f"{_PROBE_LOCAL}@{domain}")


def clear_email_cache() -> None:
    """Forget the cached domain verdicts (benchmarks that must repeat the same work)."""
    _domain_is_valid.cache_clear()


def _judge(address: str) -> bool:
    try:
        validate_email(address, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


def record_reasons(record: CentralContact) -> list[Reason]:
    """Every reason this record alone is non-actionable, in the order of `Reason`."""
    # Run for every active record: the fields are text (never None), read once each.
    first, last = record.first_name, record.last_name
    reasons: list[Reason] = []
    if not record.key.strip():
        reasons.append(Reason.MISSING_ID)
    if DECEASED_MARKER in first.casefold() or DECEASED_MARKER in last.casefold():
        reasons.append(Reason.DECEASED)
    if not first.strip() or not last.strip():
        reasons.append(Reason.MISSING_NAME)
    email = record.email.strip()
    if not email:
        reasons.append(Reason.MISSING_EMAIL)
    elif not is_valid_email(email):
        reasons.append(Reason.INVALID_EMAIL)
    return reasons
