"""The OData query options the sandbox understands, parsed strictly.

Graph accepts a small grammar on Outlook contacts (reference §2.3): `$select`, `$top` (1..1000),
`$skip`, `$count`, and on `$filter` only `emailAddresses/any(a:a/address eq '...')` (plus the
extended-property form of §2.5, and `displayName eq '...'` on folders).  Anything else is a 400
here, so a client can't come to rely on something the sandbox would silently ignore while Graph
refuses it.  Pure functions; no HTTP objects.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from central365.mailstore.problem import GraphProblem, bad_request
from central365.mailstore.schema import SELECTABLE

DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 1000

_LITERAL = r"'((?:[^']|'')*)'"
_EMAIL_ANY = re.compile(
    r"^\s*emailAddresses/any\(\s*(\w+)\s*:\s*\1/address\s+eq\s+" + _LITERAL + r"\s*\)\s*$",
    re.IGNORECASE,
)
_EXTENDED_ANY = re.compile(
    r"^\s*singleValueExtendedProperties/any\(\s*(\w+)\s*:\s*\1/id\s+eq\s+"
    + _LITERAL
    + r"\s+and\s+\1/value\s+eq\s+"
    + _LITERAL
    + r"\s*\)\s*$",
    re.IGNORECASE,
)
_DISPLAY_NAME_EQ = re.compile(r"^\s*displayName\s+eq\s+" + _LITERAL + r"\s*$", re.IGNORECASE)
_EXPAND_EXTENDED = re.compile(
    r"^\s*singleValueExtendedProperties(?:\(\s*\$filter\s*=\s*id\s+eq\s+"
    + _LITERAL
    + r"\s*\))?\s*$",
    re.IGNORECASE,
)

#: Predicate over (contact body, stored write-only relationships).
ContactPredicate = Callable[[Mapping[str, Any], Mapping[str, Any]], bool]


def unquote_literal(text: str) -> str:
    """OData string literals double a quote to escape it: `'O''Neil'` is O'Neil."""
    return text.replace("''", "'")


def invalid_filter() -> GraphProblem:
    # Exchange's wording for filters it cannot run.
    return bad_request(
        "The query filter contains one or more invalid nodes.", code="ErrorInvalidUrlQueryFilter"
    )


def check_options(query: Mapping[str, str], allowed: set[str]) -> None:
    """Refuse `$` options this endpoint does not model (non-`$` parameters are ignored)."""
    for key in query:
        if key.startswith("$") and key.lower() not in allowed:
            raise bad_request(
                f"Query option '{key}' is not supported by the central365 sandbox on this "
                "resource.",
                code="RequestBroker--ParseUri",
            )


def option(query: Mapping[str, str], name: str) -> str | None:
    """A query option by name, case-insensitively (`$Top` and `$top` are the same)."""
    for key, value in query.items():
        if key.lower() == name:
            return value
    return None


def parse_select(value: str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    names = tuple(n.strip() for n in value.split(",") if n.strip())
    for name in names:
        if name not in SELECTABLE:
            raise bad_request(
                f"Could not find a property named '{name}' on type 'microsoft.graph.contact'.",
                code="RequestBroker--ParseUri",
            )
    return names


def _int_option(name: str, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise bad_request(
            f"Invalid value '{value}' for query option '{name}'.", code="RequestBroker--ParseUri"
        ) from None


def parse_top(value: str | None, default: int = DEFAULT_PAGE_SIZE) -> int:
    """`$top`: 1..1000 (the messages limits Microsoft stated for contacts, reference §2.3)."""
    if value is None:
        return default
    top = _int_option("$top", value)
    if not 1 <= top <= MAX_PAGE_SIZE:
        raise bad_request(
            f"The value of $top must be between 1 and {MAX_PAGE_SIZE}, got {top}.",
            code="ErrorInvalidArgument",
        )
    return top


def parse_skip(value: str | None) -> int:
    if value is None:
        return 0
    skip = _int_option("$skip", value)
    if skip < 0:
        raise bad_request("The value of $skip must not be negative.", code="ErrorInvalidArgument")
    return skip


def parse_count(value: str | None) -> bool:
    if value is None:
        return False
    if value.lower() not in ("true", "false"):
        raise bad_request(f"Invalid value '{value}' for query option '$count'.")
    return value.lower() == "true"


def parse_contact_filter(value: str | None) -> ContactPredicate | None:
    """The two contact filters Graph runs; anything else is `ErrorInvalidUrlQueryFilter`."""
    if value is None:
        return None
    email = _EMAIL_ANY.match(value)
    if email:
        wanted = unquote_literal(email.group(2)).casefold()

        def has_email(body: Mapping[str, Any], _rel: Mapping[str, Any]) -> bool:
            return any(
                (entry.get("address") or "").casefold() == wanted
                for entry in body.get("emailAddresses", [])
            )

        return has_email
    extended = _EXTENDED_ANY.match(value)
    if extended:
        prop_id = unquote_literal(extended.group(2)).casefold()
        prop_value = unquote_literal(extended.group(3)).casefold()

        def has_property(_body: Mapping[str, Any], rel: Mapping[str, Any]) -> bool:
            return any(
                str(p.get("id", "")).casefold() == prop_id
                and str(p.get("value", "")).casefold() == prop_value
                for p in rel.get("singleValueExtendedProperties", [])
                if isinstance(p, Mapping)
            )

        return has_property
    raise invalid_filter()


def parse_folder_filter(value: str | None) -> str | None:
    """`displayName eq '...'` on contactFolders: the wanted name, unescaped."""
    if value is None:
        return None
    match = _DISPLAY_NAME_EQ.match(value)
    if not match:
        raise invalid_filter()
    return unquote_literal(match.group(1))


@dataclass(frozen=True)
class Expand:
    """`$expand=singleValueExtendedProperties($filter=id eq '...')`; `prop_id` None = all."""

    prop_id: str | None


def parse_expand(value: str | None) -> Expand | None:
    if value is None:
        return None
    match = _EXPAND_EXTENDED.match(value)
    if not match:
        raise bad_request(
            "Only $expand=singleValueExtendedProperties($filter=id eq '...') is supported by "
            "the central365 sandbox.",
            code="RequestBroker--ParseUri",
        )
    return Expand(unquote_literal(match.group(1)) if match.group(1) is not None else None)


def expanded_properties(expand: Expand, relationships: Mapping[str, Any]) -> list[Any]:
    return [
        p
        for p in relationships.get("singleValueExtendedProperties", [])
        if isinstance(p, Mapping)
        and (expand.prop_id is None or str(p.get("id", "")).casefold() == expand.prop_id.casefold())
    ]


def parse_prefer(header: str | None) -> dict[str, str]:
    """`Prefer: IdType="ImmutableId", odata.maxpagesize=50` → {"idtype": "ImmutableId", ...}."""
    prefs: dict[str, str] = {}
    for part in (header or "").split(","):
        name, _, value = part.strip().partition("=")
        if name:
            prefs[name.strip().lower()] = value.strip().strip('"')
    return prefs


def build_url(base: str, path: str, params: Mapping[str, str]) -> str:
    """An absolute link carrying `params`; `$` and OData punctuation are left readable."""
    if not params:
        return base + path
    query = "&".join(
        f"{k}={quote(v, safe=chr(36) + chr(39) + '(),/:@=')}" for k, v in params.items()
    )
    return f"{base}{path}?{query}"


#: Contact properties `$orderby` takes (issue 10 item 7); Graph's Outlook lists sort on these.
ORDERABLE = ("displayName", "givenName", "surname", "createdDateTime", "lastModifiedDateTime")
_ORDER_TERM = re.compile(r"^\s*(\w+)(?:\s+(asc|desc))?\s*$", re.IGNORECASE)

OrderBy = tuple[tuple[str, bool], ...]


def parse_orderby(value: str | None) -> OrderBy | None:
    """`$orderby=surname desc,givenName` → (("surname", True), ("givenName", False))."""
    if value is None:
        return None
    terms: list[tuple[str, bool]] = []
    for part in value.split(","):
        match = _ORDER_TERM.match(part)
        names = {name.casefold(): name for name in ORDERABLE}
        if match is None or match.group(1).casefold() not in names:
            raise bad_request(
                f"The $orderby expression '{part.strip()}' is not supported.",
                code="ErrorInvalidUrlQuery",
            )
        terms.append((names[match.group(1).casefold()], (match.group(2) or "").lower() == "desc"))
    return tuple(terms)


def wants_immutable_ids(headers: Mapping[str, str]) -> bool:
    """True under `Prefer: IdType="ImmutableId"` (reference §6.1; per request)."""
    return parse_prefer(headers.get("prefer")).get("idtype", "").lower() == "immutableid"
