"""Table-driven tests of the record-level rules: filtering, deceased, names, emails."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from central365.core.model import CentralContact, Reason
from central365.core.validate import is_active, is_valid_email, record_reasons


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


def _whole_check(address: str) -> bool:
    """`email-validator` on the whole address, as central365 called it before the fast path."""
    from email_validator import EmailNotValidError, validate_email

    try:
        validate_email(address, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


_ADDRESS_CHARS = "aZ09.-_+!#'`~=/@\"()<> \\[]:;,é中\u0301"
_LABELS = st.sampled_from(
    [
        "example",
        "com",
        "co",
        "uk",
        "xn--bcher-kva",
        "-bad",
        "bad-",
        "a" * 63,
        "a" * 64,
        "",
        "test",
        "localhost",
        "1",
        "123",
        "ex_ample",
        "ÉXAMPLE",
    ]
)


@st.composite
def addresses(draw: st.DrawFn) -> str:
    """Addresses near the edges: odd characters, dots, special-use and over-long domains."""
    alphabet = draw(st.sampled_from([_ADDRESS_CHARS, "abcXYZ09.-_+!#'`~=/{}|^$%&*?"]))
    local = draw(st.text(alphabet=alphabet, max_size=70))
    labels = draw(st.lists(_LABELS, min_size=0, max_size=6))
    domain = ".".join(labels) + draw(st.sampled_from(["", ".", ".."]))
    return draw(st.sampled_from([f"{local}@{domain}", local, f"{local}@{domain}@x.com"]))


@settings(max_examples=1500, deadline=None)
@given(addresses())
def test_the_fast_path_judges_every_address_as_email_validator_does(address: str) -> None:
    assert is_valid_email(address) == _whole_check(address), address


@pytest.mark.parametrize(
    "address",
    [
        "ann@example.com",
        "ann.lee+crm@mail.example.co.uk",
        "a" * 64 + "@example.com",
        "a" * 65 + "@example.com",
        "ann@" + "a" * 63 + ".com",
        "ann@" + "a" * 64 + ".com",
        "ann@" + ".".join(["a" * 60] * 4) + ".com",
        "ann@" + ".".join(["a" * 61] * 4) + ".com",
        "ann@test",
        "ann@localhost",
        "ann@example",
        "ann..lee@example.com",
        ".ann@example.com",
        "ann.@example.com",
        "ann@-example.com",
        "ann@example..com",
        "Ann Lee <ann@example.com>",
        '"ann lee"@example.com',
        "ann@[192.0.2.1]",
        "ánn@example.com",
        "ann@bücher.de",
        "postmaster@example.com",
        "@example.com",
        "ann@",
    ],
)
def test_the_fast_path_agrees_on_known_edges(address: str) -> None:
    assert is_valid_email(address) == _whole_check(address)
