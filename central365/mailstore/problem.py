"""Graph's error vocabulary, as the sandbox speaks it.

Everything below the HTTP layer (store, schema, query parsing) reports a failure by raising
`GraphProblem`; the app turns it into Graph's error body (reference §6.3):
`{"error": {"code", "message", "innerError": {"date", "request-id", "client-request-id"}}}`.
No HTTP objects here, so the store stays usable without a server.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

#: Exchange's own "not found" wording (reference §6.3, msgraph-sdk-java-core PR #637).
NOT_FOUND_MESSAGE = "The specified object was not found in the store."


class GraphProblem(Exception):
    """A request Graph would refuse: HTTP `status`, OData `code` and a `message`.

    `headers` carries extra response headers (e.g. `Retry-After` on a 429).
    """

    def __init__(
        self, status: int, code: str, message: str, *, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers: dict[str, str] = dict(headers or {})


def not_found() -> GraphProblem:
    """404 `ErrorItemNotFound`, the answer for unknown contacts and folders."""
    return GraphProblem(404, "ErrorItemNotFound", NOT_FOUND_MESSAGE)


def bad_request(message: str, code: str = "BadRequest") -> GraphProblem:
    return GraphProblem(400, code, message)


def error_body(
    code: str, message: str, *, request_id: str, client_request_id: str | None = None
) -> dict[str, Any]:
    """Graph's error envelope with the `innerError` block real responses carry."""
    date = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return {
        "error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": date,
                "request-id": request_id,
                "client-request-id": client_request_id or request_id,
            },
        }
    }
