"""The identity platform's error vocabulary: OAuth errors shaped like Entra's answers.

The token and device-code endpoints answer errors as JSON (`OAuthError.body`):

    {"error": "invalid_grant", "error_description": "AADSTS54005: ... Trace ID: ...
     Correlation ID: ... Timestamp: ...", "error_codes": [54005], "timestamp": "...",
     "trace_id": "...", "correlation_id": "...", "error_uri": "..."}

The authorize endpoint sends the same `error` / `error_description` back to the app's redirect
URI (`RedirectableError`), or shows a 400 page when the redirect URI cannot be trusted
(`PageError`).  The AADSTS numbers follow Entra's where they are known; docs/sandbox.md lists
the ones the sandbox chose.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any


class OAuthError(Exception):
    """An OAuth error: `error` code, AADSTS number, description and HTTP status."""

    def __init__(self, error: str, aadsts: int, description: str, status: int = 400) -> None:
        super().__init__(f"AADSTS{aadsts}: {description}")
        self.error = error
        self.aadsts = aadsts
        self.description = description
        self.status = status

    def describe(self, trace_id: str, correlation_id: str, timestamp: str) -> str:
        return (
            f"AADSTS{self.aadsts}: {self.description} Trace ID: {trace_id} "
            f"Correlation ID: {correlation_id} Timestamp: {timestamp}"
        )

    def body(self, correlation_id: str | None = None, *, root: str = "") -> dict[str, Any]:
        trace_id = str(uuid.uuid4())
        correlation = correlation_id or str(uuid.uuid4())
        timestamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
        return {
            "error": self.error,
            "error_description": self.describe(trace_id, correlation, timestamp),
            "error_codes": [self.aadsts],
            "timestamp": timestamp,
            "trace_id": trace_id,
            "correlation_id": correlation,
            "error_uri": f"{root}/error?code={self.aadsts}",
        }


class RedirectableError(OAuthError):
    """An authorize-endpoint error the app hears about at its (validated) redirect URI."""


class PageError(OAuthError):
    """An authorize-endpoint error shown to the person: the redirect URI is not usable."""


def invalid_grant(aadsts: int, description: str) -> OAuthError:
    return OAuthError("invalid_grant", aadsts, description)


def invalid_request(aadsts: int, description: str) -> OAuthError:
    return OAuthError("invalid_request", aadsts, description)


def invalid_client(aadsts: int, description: str) -> OAuthError:
    return OAuthError("invalid_client", aadsts, description, status=401)


def tenant_not_found(segment: str) -> OAuthError:
    return OAuthError(
        "invalid_tenant",
        90002,
        f"Tenant '{segment}' not found. Check to make sure you have the correct tenant ID and "
        "are signing into the correct cloud.",
    )


def unknown_client(client_id: str, tenant: str) -> OAuthError:
    return OAuthError(
        "unauthorized_client",
        700016,
        f"Application with identifier '{client_id}' was not found in the directory "
        f"'{tenant}'. This can happen if the application has not been installed by the "
        "administrator of the tenant or consented to by any user in the tenant.",
    )


def scope_not_exposed(app_name: str, scope: str, api_client_id: str) -> OAuthError:
    """A scope the API does not expose (AADSTS650053, in Entra's words)."""
    return OAuthError(
        "invalid_client",
        650053,
        f"The application '{app_name}' asked for scope '{scope}' that doesn't exist on the "
        f"resource '{api_client_id}'. Contact the app vendor.",
    )
