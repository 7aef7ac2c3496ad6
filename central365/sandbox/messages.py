"""Requests and responses as the Graph handlers see them, independent of Starlette.

A top-level HTTP request and a `$batch` member become the same `GraphRequest`, so both reach
the same handlers (reference §3: inner requests are dispatched like top-level ones).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from central365.mailstore.problem import GraphProblem, error_body
from central365.mailstore.schema import parse_json_body

JSON_CONTENT_TYPE = (
    "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;"
    "charset=utf-8"
)

_NO_JSON = object()


@dataclass(frozen=True)
class GraphRequest:
    """One Graph call.

    `segments` are the percent-decoded path segments after `/v1.0`; `path` is the same path as
    the client wrote it (for nextLinks); `headers` have lower-case names; `base_url` is the
    scheme and authority the client used (links are absolute, reference §2.3).
    """

    method: str
    segments: tuple[str, ...]
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    base_url: str
    body_bytes: bytes | None = None
    body_json: Any = _NO_JSON
    request_id: str = ""

    def json(self) -> Any:
        """The JSON body; Graph's 400 when it is missing or malformed."""
        if self.body_json is not _NO_JSON:
            return self.body_json
        return parse_json_body(self.body_bytes or b"")

    @property
    def api_root(self) -> str:
        return f"{self.base_url}/v1.0"


@dataclass
class GraphResponse:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


def json_response(
    status: int, body: Any, headers: Mapping[str, str] | None = None
) -> GraphResponse:
    return GraphResponse(status, body, {"Content-Type": JSON_CONTENT_TYPE, **(headers or {})})


def problem_response(
    problem: GraphProblem, *, request_id: str, client_request_id: str | None = None
) -> GraphResponse:
    body = error_body(
        problem.code, problem.message, request_id=request_id, client_request_id=client_request_id
    )
    return json_response(problem.status, body, problem.headers)
