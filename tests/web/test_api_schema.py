"""The JSON API against its own OpenAPI schema, signed in per role and mode (schemathesis).

Hypothesis generates requests from `/api/openapi.json` — query values, path ids, bodies at and
past their limits — for every operation, as the admin, a person with the Sync role, a person
with no role and a person whose consent lacks `Contacts.ReadWrite`, in delegated and app-only
mode.  Every answer must be documented (status and content type) and match its schema, and
none may be a server error.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core import NOT_SET

from tests.web.conftest import Web, signed_in_as, use_app_only

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
ROLES = ("alice", "sam", "pat", "rita")


@pytest.mark.parametrize("mode", ["delegated", "app_only"])
@pytest.mark.parametrize("who", ROLES)
def test_every_answer_matches_the_schema(web: Web, who: str, mode: str) -> None:
    signed_in_as(web, who)
    if mode == "app_only":
        use_app_only(web)
    csrf = web.csrf("/history")
    schema = schemathesis.openapi.from_dict(web.client.get("/api/openapi.json").json())
    # A run or two exists, so `GET /api/runs/{id}` meets real ids as well as made-up ones.
    web.client.post("/api/runs", json={"states": ["new"]}, headers={"X-CSRF-Token": csrf})
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=25,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def check(case: schemathesis.Case) -> None:
            response = web.client.request(
                case.method,
                case.formatted_path,
                params=case.query,
                json=None if case.body is NOT_SET else case.body,
                headers={"X-CSRF-Token": csrf, **(case.headers or {})},
            )
            response.read()
            response.close()
            if not hasattr(response, "_elapsed"):  # in-process transport: no clock ran
                response.elapsed = timedelta(0)
            case.validate_response(response, checks=CHECKS)

        check()
