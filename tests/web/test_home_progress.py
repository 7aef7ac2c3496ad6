"""A plan that takes long is made in the background: the homepage shows its progress meanwhile.

Each test holds the plan at a gate (the service it opens waits for it), so what the page shows
while the plan is being made does not depend on the machine's speed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import pytest

from central365.core.errors import SourceError
from central365.engine.service import SyncService
from tests.web.conftest import Web


class Gate:
    """Holds every plan the app makes until it is opened; may make the next one fail."""

    def __init__(self, web: Web) -> None:
        self.opened = threading.Event()
        self.failing = False
        connector = web.runtime.connector
        opening: Callable[..., AbstractContextManager[SyncService]] = connector.service

        @contextmanager
        def held(*args: Any) -> Iterator[SyncService]:
            assert self.opened.wait(10)
            if self.failing:
                self.failing = False
                raise SourceError("Central cannot be read.", problems=["Central cannot be read."])
            with opening(*args) as service:
                yield service

        connector.service = held  # type: ignore[method-assign]
        web.runtime.plan_wait = 0.05


@pytest.fixture
def gate(signed_in: Web) -> Gate:
    return Gate(signed_in)


def progress(web: Web) -> dict[str, Any]:
    answer = web.client.get("/api/plan/progress")
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def wait_until_made(web: Web) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while (found := progress(web))["status"] == "planning":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    return found


def test_the_first_visit_shows_the_progress_then_the_plan(signed_in: Web, gate: Gate) -> None:
    assert progress(signed_in)["status"] == "none"
    page = signed_in.soup("/")
    planning = page.select_one("#planning")
    assert planning is not None and planning["data-poll"] == "/api/plan/progress"
    assert page.title is not None and page.title.text.startswith("Planning")
    assert page.select_one("#plan-again") is None  # no plan to act on yet
    underway = progress(signed_in)
    assert underway["status"] == "planning" and underway["stage"] == "reading"
    assert signed_in.soup("/").select_one("#planning") is not None  # one plan, still going
    gate.opened.set()
    made = wait_until_made(signed_in)
    assert made["status"] == "ready" and made["stage"] == "done"
    plan = signed_in.client.get("/api/plan").json()
    assert made["planned"] == made["records"] == sum(plan["counts"].values())
    assert made["contacts_read"] == 3 and made["records_read"] >= made["records"]
    page = signed_in.soup("/")
    assert page.select_one("#planning") is None
    assert page.select_one('[data-count="new"]') is not None
    assert progress(signed_in) == {
        "status": "ready",
        "stage": None,
        "records_read": None,
        "contacts_read": None,
        "planned": None,
        "records": None,
    }


def test_plan_again_goes_on_in_the_background(signed_in: Web, gate: Gate) -> None:
    gate.opened.set()
    signed_in.soup("/")  # the first plan, made within the wait
    gate.opened.clear()
    csrf = signed_in.csrf()
    again = signed_in.client.post("/plan", data={"csrf_token": csrf, "state": "update"})
    assert again.status_code == 303
    assert signed_in.soup("/?state=update").select_one("#planning") is not None
    gate.opened.set()
    assert wait_until_made(signed_in)["status"] == "ready"
    assert signed_in.soup("/?state=update").select_one("#planning") is None


def test_a_plan_that_failed_in_the_background_is_told_once_then_made_again(
    signed_in: Web, gate: Gate
) -> None:
    gate.failing = True
    assert signed_in.soup("/").select_one("#planning") is not None
    gate.opened.set()
    assert wait_until_made(signed_in)["status"] == "failed"
    told = signed_in.client.get("/")
    assert told.status_code == 502 and "Central" in told.text
    assert signed_in.soup("/").select_one("#planning") is None  # made again, at once this time
