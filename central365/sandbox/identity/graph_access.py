"""The Graph side of the identity platform: who a bearer token is, and what it may do.

- `verify_bearer`: a token that looks like a JWT must be one this sandbox signed, for Graph,
  not expired (else 401 `InvalidAuthenticationToken`, as Graph answers); anything else is an
  opaque token and keeps the sandbox's original behaviour (None: accepted, `/me` = the default
  mailbox, no permission checks), so the CLI's `sandbox` auth mode and older tests still work.
- `authorize`: what Graph checks for the contacts API (reference §5.1).  Reads need
  `Contacts.Read` or `Contacts.ReadWrite`, writes `Contacts.ReadWrite` (403 `ErrorAccessDenied`
  otherwise); delegated tokens reach other users' mailboxes only with the `.Shared` variants;
  an app-only token on `/me` is a 400.  `/me` (and `/users/{own object id}`) is rewritten to
  `/users/{preferred_username}`, so the handlers and the throttle see the signed-in user's
  mailbox.  Top-level requests and `$batch` members go through the same check.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, replace
from typing import Any

import jwt

from central365.mailstore.problem import GraphProblem
from central365.sandbox.dispatch import mailbox_of
from central365.sandbox.identity.service import IdentityService
from central365.sandbox.messages import GraphRequest

_WRITES = frozenset({"POST", "PATCH", "PUT", "DELETE"})
_READ = frozenset({"contacts.read", "contacts.readwrite"})
_WRITE = frozenset({"contacts.readwrite"})
_SHARED_READ = frozenset({"contacts.read.shared", "contacts.readwrite.shared"})
_SHARED_WRITE = frozenset({"contacts.readwrite.shared"})

ACCESS_DENIED = "Access is denied. Check credentials and try again."


@dataclass(frozen=True)
class GraphPrincipal:
    """The caller a sandbox-issued token names; `username` None means app-only."""

    username: str | None
    oid: str
    permissions: frozenset[str]  # `scp` or `roles`, case-folded

    @classmethod
    def from_claims(cls, claims: dict[str, Any]) -> GraphPrincipal:
        if claims.get("idtyp") == "app" or "scp" not in claims:
            roles = claims.get("roles") or []
            return cls(
                None, str(claims.get("oid", "")), frozenset(str(r).casefold() for r in roles)
            )
        scopes = str(claims.get("scp", "")).split()
        username = str(claims.get("preferred_username") or claims.get("upn") or "")
        return cls(username, str(claims.get("oid", "")), frozenset(s.casefold() for s in scopes))

    def owns(self, mailbox: str) -> bool:
        folded = mailbox.casefold()
        return folded == "me" or folded in {(self.username or "").casefold(), self.oid.casefold()}


def _looks_like_jwt(token: str) -> bool:
    parts = token.split(".")
    if len(parts) != 3:
        return False
    try:
        header = json.loads(base64.urlsafe_b64decode(parts[0] + "=" * (-len(parts[0]) % 4)))
    except (binascii.Error, ValueError):
        return False
    return isinstance(header, dict) and "alg" in header


def _unauthorized(message: str) -> GraphProblem:
    return GraphProblem(401, "InvalidAuthenticationToken", message)


def verify_bearer(service: IdentityService, token: str) -> GraphPrincipal | None:
    """The principal of a sandbox JWT; None for an opaque token; raises a 401 otherwise."""
    if not _looks_like_jwt(token):
        return None
    try:
        claims = service.verify_access_token(token)
    except jwt.ExpiredSignatureError:
        raise _unauthorized("Lifetime validation failed, the token is expired.") from None
    except jwt.InvalidAudienceError:
        raise _unauthorized("Access token validation failure. Invalid audience.") from None
    except jwt.InvalidTokenError:
        raise _unauthorized("Access token validation failure. Invalid signature.") from None
    if claims.get("tid") != service.config.tenant_id:
        raise _unauthorized("Access token validation failure. Invalid tenant.")
    return GraphPrincipal.from_claims(claims)


def authorize(principal: GraphPrincipal, req: GraphRequest) -> GraphRequest:
    """`req` as the handlers should see it, or a raised 400/403 `GraphProblem`."""
    mailbox = mailbox_of(req.segments)
    if mailbox is None:
        return req  # not a mailbox path: the handlers answer 400 as before
    write = req.method in _WRITES
    if principal.username is None:
        if mailbox == "me":
            raise GraphProblem(
                400, "BadRequest", "/me request is only valid with delegated authentication flow."
            )
        needed = _WRITE if write else _READ
    elif principal.owns(mailbox):
        needed = (_WRITE | _SHARED_WRITE) if write else (_READ | _SHARED_READ)
    else:
        needed = _SHARED_WRITE if write else _SHARED_READ
    if not principal.permissions & needed:
        raise GraphProblem(403, "ErrorAccessDenied", ACCESS_DENIED)
    if principal.username is not None and principal.owns(mailbox):
        rest = req.segments[1:] if mailbox == "me" else req.segments[2:]
        return replace(req, segments=("users", principal.username, *rest))
    return req
