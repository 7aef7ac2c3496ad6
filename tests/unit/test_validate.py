"""Table-driven tests of the record-level rules: filtering, deceased, names, emails."""

from __future__ import annotations

import pytest

from central365.model import CentralContact, Reason
from central365.validate import is_active, record_reasons


def record(**fields: str) -> CentralContact:
    values = {"key": "1", "status": "active", "first_name": "Ann", "last_name": "Lee"}
    values["email"] = "ann@example.com"
    values.update(fields)
    return CentralContact(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("status", "active"),
    [
        ("active", True),
        ("Active", True),
        ("  ACTIVE ", True),
        ("inactive", False),
        ("", False),
        ("activated", False),
        ("archived", False),
    ],
)
def test_only_active_records_are_processed(status: str, active: bool) -> None:
    assert is_active(record(status=status)) is active


@pytest.mark.parametrize(
    ("fields", "reasons"),
    [
        ({}, []),
        ({"first_name": "Deceased"}, [Reason.DECEASED]),
        ({"last_name": "Smith (DECEASED)"}, [Reason.DECEASED]),
        ({"first_name": "undeceasedly"}, [Reason.DECEASED]),
        ({"first_name": ""}, [Reason.MISSING_NAME]),
        ({"last_name": "   "}, [Reason.MISSING_NAME]),
        ({"first_name": "", "last_name": ""}, [Reason.MISSING_NAME]),
        ({"email": ""}, [Reason.MISSING_EMAIL]),
        ({"email": "   "}, [Reason.MISSING_EMAIL]),
        ({"email": "not-an-email"}, [Reason.INVALID_EMAIL]),
        ({"email": "ann@"}, [Reason.INVALID_EMAIL]),
        ({"email": "ann@@example.com"}, [Reason.INVALID_EMAIL]),
        ({"email": "ann lee@example.com"}, [Reason.INVALID_EMAIL]),
        ({"email": "  ann@example.com  "}, []),
        ({"email": "ANN@EXAMPLE.COM"}, []),
        ({"email": "zoë@example.com"}, []),
        (
            {"first_name": "deceased", "last_name": "", "email": "x"},
            [Reason.DECEASED, Reason.MISSING_NAME, Reason.INVALID_EMAIL],
        ),
    ],
)
def test_record_reasons(fields: dict[str, str], reasons: list[Reason]) -> None:
    assert record_reasons(record(**fields)) == reasons
